"""Officer accounts for the console: Argon2 password hashes, roles, an atomic lock-out after repeated failures."""

from __future__ import annotations

import re
import threading
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import NoReturn

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, case, literal, null, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from console.sessions import revoke_sessions
from core.db import session_scope
from core.enums import OfficerRole
from core.errors import DecisionError, IntakeError, NotFound
from core.models import Officer, utcnow
from processors import states

log = structlog.get_logger("console.officers")
MIN_PASSWORD_LENGTH = 12
OFFICER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
ROLE_RANK = {OfficerRole.monitor: 0, OfficerRole.officer: 1, OfficerRole.supervisor: 2}
_hasher = PasswordHasher()


_dummy_lock = threading.Lock()
_dummy: list[str] = []


def _dummy_hash() -> str:
    """Verified against where there is no hash to check, so every refusal costs one Argon2 check.

    Made once, by one thread: a flood's first requests must not each hash it at once (64 MiB apiece)."""
    with _dummy_lock:
        if not _dummy:
            _dummy.append(_hasher.hash("not a real password, only for equal timing"))
        return _dummy[0]


class SignInRefused(IntakeError):
    """Wrong name or password, a disabled account, or one locked after too many failures."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # unknown_name | wrong_password | locked | disabled: for the log and audit, never the page


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
    """A new role; it ends the officer's console sessions, so the next sign-in starts under the new role."""
    officer = get_officer(session, name)
    changed = officer.role != role
    officer.role = role
    session.add(officer)
    states.record(session, None, actor=actor, action="officer_role", detail=f"{name} is now {role.value}")
    if changed:
        _end_sessions(session, officer, "role_changed", actor=actor)
    return officer


def set_password(session: Session, name: str, password: str, *, actor: str) -> Officer:
    """A new password; it also ends the officer's console sessions and lifts a lock-out."""
    officer = get_officer(session, name)
    officer.password_hash = _hasher.hash(_valid_password(password))
    officer.clear_failures()
    session.add(officer)
    states.record(session, None, actor=actor, action="officer_password", detail=name)
    _end_sessions(session, officer, "password_changed", actor=actor)
    return officer


def set_active(session: Session, name: str, active: bool, *, actor: str) -> Officer:
    """Disable (ending every session) or enable an account; enabling revives no session."""
    officer = get_officer(session, name)
    officer.active = active
    session.add(officer)
    states.record(session, None, actor=actor, action="officer_enable" if active else "officer_disable", detail=name)
    if not active:
        _end_sessions(session, officer, "disabled", actor=actor)
    return officer


def sign_out_everywhere(session: Session, name: str, *, actor: str) -> int:
    """End every console session of this officer; returns how many ended."""
    return _end_sessions(session, get_officer(session, name), "signed_out_everywhere", actor=actor, always_record=True)


def _end_sessions(session: Session, officer: Officer, reason: str, *, actor: str, always_record: bool = False) -> int:
    ended = revoke_sessions(session, officer, reason)
    if ended or always_record:
        states.record(session, None, actor=actor, action="officer_sessions_ended", detail=f"{officer.name}: {ended} ({reason})")
        log.info("console sessions ended", officer=officer.name, count=ended, reason=reason, actor=actor)
    return ended


def unlock(session: Session, name: str, *, actor: str) -> Officer:
    officer = get_officer(session, name)
    officer.clear_failures()
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
    return officer.is_locked(now)


def authenticate(
    engine: Engine,
    name: str,
    password: str,
    *,
    max_failures: int,
    lockout_minutes: float,
    checks: threading.Semaphore | None = None,
    address: str | None = None,
) -> Officer:
    """The officer if the password is right; otherwise raise SignInRefused with the reason (for the log and audit only).

    A password is checked only once a slot was reserved: one conditional UPDATE adds one to the failure
    count only while it is under max_failures (and commits before the check), so however many guesses
    run at once, no more than max_failures wrong passwords are checked before the lock. Every refusal
    costs one Argon2 check (a dummy one where there is no hash to check), at most `checks` at once.
    """
    name = name.strip()[:64]
    slot = _reserve_slot(engine, name, max_failures, lockout_minutes) if OFFICER_NAME.fullmatch(name) else None
    if slot is None:
        with Session(engine) as db:
            officer = find_officer(db, name) if OFFICER_NAME.fullmatch(name) else None
        reason = "unknown_name" if officer is None else "disabled" if not officer.active else "locked"
        _check(checks, _dummy_hash(), password)
        _refuse(engine, name, reason, address)
    officer_id, failures, password_hash = slot
    if not _check(checks, password_hash, password):
        _refuse(engine, name, "wrong_password", address, locked=failures >= max_failures, lockout_minutes=lockout_minutes)
    with session_scope(engine) as db:
        officer = db.get(Officer, officer_id)
        assert officer is not None
        if _hasher.check_needs_rehash(officer.password_hash):
            with checks or nullcontext():
                officer.password_hash = _hasher.hash(password)
        officer.clear_failures()
        officer.last_sign_in_at = utcnow()
        db.add(officer)
    log.info("officer signed in", officer=name, address=address)
    return officer


def _reserve_slot(engine: Engine, name: str, max_failures: int, lockout_minutes: float) -> tuple[int, int, str] | None:
    """One conditional UPDATE: count this attempt as a failure unless the account is locked, disabled or
    out of attempts; lock it when this attempt is the last allowed. (id, failures counted, hash) or None."""
    now = utcnow()
    locked_until = Officer.__table__.c.locked_until  # type: ignore[attr-defined]
    failed = col(Officer.failed_sign_ins)
    lock_ran_out = and_(locked_until.is_not(None), locked_until <= now)
    counted = case((lock_ran_out, 0), else_=failed) + 1
    statement = (
        update(Officer)
        .where(
            col(Officer.name) == name,
            col(Officer.active).is_(True),
            or_(and_(locked_until.is_(None), failed < max_failures), lock_ran_out),
        )
        .values(
            failed_sign_ins=counted,
            locked_until=case(
                (counted >= max_failures, literal(now + timedelta(minutes=lockout_minutes), locked_until.type)), else_=null()
            ),
        )
        .returning(col(Officer.id), col(Officer.failed_sign_ins), col(Officer.password_hash))
    )
    with session_scope(engine) as db:
        row = db.connection().execute(statement).first()
    if row is None:
        return None
    officer_id, failures, password_hash = row
    assert officer_id is not None
    return int(officer_id), int(failures), str(password_hash)


def _refuse(engine: Engine, name: str, reason: str, address: str | None, *, locked: bool = False, lockout_minutes: float = 0) -> NoReturn:
    """Record why (log and audit trail), then raise: the page says the same for every reason."""
    with session_scope(engine) as db:
        states.record(db, None, actor="cers-intake", action="sign_in_refused", detail=f"{name or '(empty)'}: {reason}")
        if locked:
            states.record(db, None, actor="cers-intake", action="officer_locked", detail=f"{name} after too many failed sign-ins")
    log.info("sign-in refused", name=name, reason=reason, address=address)
    if locked:
        log.warning("officer locked out", officer=name, minutes=lockout_minutes)
    raise SignInRefused(reason)


def _check(checks: threading.Semaphore | None, password_hash: str, password: str) -> bool:
    if checks is None:
        return _verify(password_hash, password)
    with checks:
        return _verify(password_hash, password)


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
