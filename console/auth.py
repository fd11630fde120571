"""Who is asking: the signed session cookie (or a trusted proxy's header), roles and CSRF tokens."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from console.officers import find_officer, has_role, session_stamp
from core.db import session_scope
from core.enums import OfficerRole
from core.models import Officer

CSRF_FIELD = "csrf_token"


class NotSignedIn(Exception):
    """No session, an expired one, or one whose officer was disabled or changed password."""


class Forbidden(Exception):
    """Signed in, but the role does not allow it; or a form without a valid CSRF token."""


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request whose form does not carry this session's token."""
    expected = request.session.get("csrf")
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not expected or not isinstance(given, str) or not hmac.compare_digest(given, expected):
        raise Forbidden("missing or wrong CSRF token")


def start_session(request: Request, officer: Officer) -> None:
    """A fresh session for this officer (a new CSRF token; the language is kept)."""
    language = request.session.get("lang")
    request.session.clear()
    request.session.update({"officer": officer.name, "stamp": session_stamp(officer), "csrf": secrets.token_urlsafe(32)})
    if language:
        request.session["lang"] = language


def end_session(request: Request) -> None:
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language


def signed_in(request: Request) -> Officer:
    """The signed-in, active officer, read afresh from the database on every request."""
    console = request.app.state.console
    header = console.settings.console.trusted_user_header
    with session_scope(console.engine) as db:
        if header and request.headers.get(header):
            officer = find_officer(db, request.headers[header])
            if officer is None or not officer.active:
                raise NotSignedIn()
            if request.session.get("officer") != officer.name:
                start_session(request, officer)
            return officer
        name = request.session.get("officer")
        officer = find_officer(db, name) if isinstance(name, str) else None
        if officer is None or not officer.active or request.session.get("stamp") != session_stamp(officer):
            raise NotSignedIn()
        return officer


def require(officer: Officer, role: OfficerRole) -> None:
    if not has_role(officer, role):
        raise Forbidden(f"{officer.name} is {officer.role.value}; this needs {role.value}")


def deciding_officer(request: Request) -> Officer:
    officer = signed_in(request)
    require(officer, OfficerRole.officer)
    return officer


def supervisor(request: Request) -> Officer:
    officer = signed_in(request)
    require(officer, OfficerRole.supervisor)
    return officer
