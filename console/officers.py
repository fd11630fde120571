"""Officer accounts for the console: Argon2 password hashes, roles, lock-out after repeated failures."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from functools import cache

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, col, select

from core.enums import OfficerRole
from core.errors import DecisionError, IntakeError, NotFound
from core.models import Officer, utcnow
from processors import states

log = structlog.get_logger("console.officers")
MIN_PASSWORD_LENGTH = 12
OFFICER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
ROLE_RANK = {OfficerRole.monitor: 0, OfficerRole.officer: 1, OfficerRole.supervisor: 2}
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher.hash("not a real password, only for equal timing")


class SignInRefused(IntakeError):
    """Wrong name or password, a disabled account, or one locked after too many failures."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # bad_credentials | locked


def has_role(officer: Officer, needed: OfficerRole) -> bool:
    return officer.active and ROLE_RANK[officer.role] >= ROLE_RANK[needed]


def add_officer(session: Session, name: str, role: OfficerRole, password: str, *, actor: str) -> Officer:
    name = _valid_name(name)
    if find_officer(session, name) is not None:
        raise DecisionError(f"an officer named {name!r} already exists")
    officer = Officer(name=name, role=role, password_hash=_hasher.hash(_valid_password(password)))
    session.add(officer)
    session.flush()
    states.record(session, None, actor=actor, action="officer_add", detail=f"{name} as {role.value}")
    log.info("officer added", officer=name, role=role.value, actor=actor)
    return officer


def set_role(session: Session, name: str, role: OfficerRole, *, actor: str) -> Officer:
    officer = get_officer(session, name)
    officer.role = role
    session.add(officer)
    states.record(session, None, actor=actor, action="officer_role", detail=f"{name} is now {role.value}")
    return officer


def set_password(session: Session, name: str, password: str, *, actor: str) -> Officer:
    """A new password; it also ends the officer's console sessions and lifts a lock-out."""
    officer = get_officer(session, name)
    officer.password_hash = _hasher.hash(_valid_password(password))
    officer.failed_sign_ins, officer.locked_until = 0, None
    session.add(officer)
    states.record(session, None, actor=actor, action="officer_password", detail=name)
    return officer


def set_active(session: Session, name: str, active: bool, *, actor: str) -> Officer:
    officer = get_officer(session, name)
    officer.active = active
    session.add(officer)
    states.record(session, None, actor=actor, action="officer_enable" if active else "officer_disable", detail=name)
    return officer


def unlock(session: Session, name: str, *, actor: str) -> Officer:
    officer = get_officer(session, name)
    officer.failed_sign_ins, officer.locked_until = 0, None
    session.add(officer)
    states.record(session, None, actor=actor, action="officer_unlock", detail=name)
    return officer


def list_officers(session: Session) -> list[Officer]:
    return list(session.exec(select(Officer).order_by(col(Officer.name))))


def find_officer(session: Session, name: str) -> Officer | None:
    return session.exec(select(Officer).where(Officer.name == name.strip())).first()


def get_officer(session: Session, name: str) -> Officer:
    officer = find_officer(session, name)
    if officer is None:
        raise NotFound(f"no officer named {name!r}")
    return officer


def is_locked(officer: Officer, now: datetime | None = None) -> bool:
    return officer.locked_until is not None and officer.locked_until > (now or utcnow())


def authenticate(session: Session, name: str, password: str, *, max_failures: int, lockout_minutes: float) -> Officer:
    """The officer if the password is right; otherwise count the failure (and lock) and raise SignInRefused."""
    officer = find_officer(session, name) if name.strip() else None
    if officer is None or not officer.active:
        _verify(_dummy_hash(), password)
        log.info("sign-in refused", reason="unknown or disabled")
        raise SignInRefused("bad_credentials")
    if is_locked(officer):
        log.info("sign-in refused", officer=officer.name, reason="locked")
        raise SignInRefused("locked")
    if not _verify(officer.password_hash, password):
        officer.failed_sign_ins += 1
        if officer.failed_sign_ins >= max_failures:
            officer.locked_until = utcnow() + timedelta(minutes=lockout_minutes)
            officer.failed_sign_ins = 0
            states.record(
                session, None, actor="cers-intake", action="officer_locked", detail=f"{officer.name} after {max_failures} failed sign-ins"
            )
            log.warning("officer locked out", officer=officer.name, minutes=lockout_minutes)
        session.add(officer)
        log.info("sign-in refused", officer=officer.name, reason="wrong password")
        raise SignInRefused("locked" if officer.locked_until else "bad_credentials")
    if _hasher.check_needs_rehash(officer.password_hash):
        officer.password_hash = _hasher.hash(password)
    officer.failed_sign_ins, officer.locked_until, officer.last_sign_in_at = 0, None, utcnow()
    session.add(officer)
    log.info("officer signed in", officer=officer.name)
    return officer


def session_stamp(officer: Officer) -> str:
    """Changes whenever the password does, so a new password ends the sessions signed in with the old one."""
    return hashlib.sha256(officer.password_hash.encode()).hexdigest()[:16]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _valid_name(name: str) -> str:
    name = name.strip()
    if not OFFICER_NAME.fullmatch(name):
        raise DecisionError("an officer name is 1 to 64 letters, digits, dots, dashes, underscores or @")
    return name


def _valid_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DecisionError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return password
