"""Who is asking: the server-side session named by the signed cookie (or a trusted proxy's header),
roles and CSRF tokens."""

from __future__ import annotations

import hmac

from fastapi import Request

from console.officers import find_officer, has_role
from console.sessions import cookies_of, keys_of, live_session, open_session, session_key
from core.db import session_scope
from core.enums import OfficerRole
from core.models import Officer, utcnow

CSRF_FIELD = "csrf_token"


class NotSignedIn(Exception):
    """No session, or one that was revoked, ran out (idle or absolute), or whose officer was disabled."""


class Forbidden(Exception):
    """Signed in, but the role does not allow it; or a form without a valid CSRF token."""


def csrf_token(request: Request) -> str:
    """This browser's CSRF token: an HMAC of its session id (an anonymous id before sign-in)."""
    return keys_of(request).csrf_token(session_key(request))


async def csrf_protect(request: Request) -> None:
    """Refuse a state-changing request whose form does not carry this session's token."""
    session_id = cookies_of(request).session_id
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not session_id or not isinstance(given, str) or not hmac.compare_digest(given, keys_of(request).csrf_token(session_id)):
        raise Forbidden("missing or wrong CSRF token")


def signed_in(request: Request) -> Officer:
    """The signed-in, active officer, read afresh from the database on every request."""
    cached = getattr(request.state, "officer", None)
    if isinstance(cached, Officer):
        return cached
    console = request.app.state.console
    settings = console.settings.console
    cookies = cookies_of(request)
    now = utcnow()
    officer: Officer | None = None
    with session_scope(console.engine) as db:  # commits the revocation of a session found expired
        found = live_session(db, cookies.current_id, settings, now)
        header = settings.trusted_user_header
        if header and request.headers.get(header):
            officer = find_officer(db, request.headers[header])
            if officer is not None and not officer.active:
                officer = None
            if officer is not None and (found is None or found[1].id != officer.id):
                open_session(db, officer, request, now)
        elif found is not None:
            officer = found[1]
    if officer is None:
        raise NotSignedIn()
    request.state.officer = officer
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
