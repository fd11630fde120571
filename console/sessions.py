"""Server-side console sessions and the console's cookies.

The session cookie (`cers_console`) carries only a random id, signed: who is signed in, since when,
from where and whether the session still holds is in the `console_session` row. The language
(`cers_lang`) and the one-time messages shown after a redirect (`cers_flash`, signed) have cookies
of their own, so switching the language never touches the session cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

from fastapi import Request
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import update
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.models import ConsoleSession, Officer, utcnow
from core.settings import ConsoleSettings

SESSION_COOKIE = "cers_console"
LANGUAGE_COOKIE = "cers_lang"
FLASH_COOKIE = "cers_flash"
FLASH_SECONDS = 300
LANGUAGE_SECONDS = 365 * 86400
# last_seen_at is written at most this often per session (a page view is not worth a write each time)
SEEN_EVERY = timedelta(seconds=30)
HSTS = b"max-age=31536000"


@dataclass
class Cookies:
    """What this request's cookies said, and what the response must set."""

    session_id: str | None = None  # from a cookie whose signature holds (the row may not)
    language: str | None = None
    flashes: list[dict[str, str]] = field(default_factory=list)
    new_session_id: str | None = None
    new_language: str | None = None
    new_flashes: list[dict[str, str]] = field(default_factory=list)
    flashes_shown: bool = False

    @property
    def current_id(self) -> str | None:
        return self.new_session_id or self.session_id


class CookieKeys:
    """The secret-derived signers: the session id's signature, the flash cookie's, the CSRF tokens."""

    def __init__(self, secret: str, settings: ConsoleSettings) -> None:
        self.settings = settings
        self.session_signer = TimestampSigner(secret, salt="cers-console-session")
        self.flash_serializer = URLSafeTimedSerializer(secret, salt="cers-console-flash")
        self.csrf_key = hashlib.sha256(b"cers-console-csrf\0" + secret.encode()).digest()
        self.max_age = int(settings.session_hours * 3600)

    def csrf_token(self, session_id: str) -> str:
        digest = hmac.new(self.csrf_key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def read(self, header: str) -> Cookies:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except Exception:  # noqa: BLE001 - a malformed Cookie header is no cookie at all
            return Cookies()
        cookies = Cookies()
        if SESSION_COOKIE in jar:
            try:
                cookies.session_id = self.session_signer.unsign(jar[SESSION_COOKIE].value, max_age=self.max_age).decode()
            except (BadSignature, UnicodeDecodeError):
                cookies.session_id = None
        if LANGUAGE_COOKIE in jar:
            cookies.language = jar[LANGUAGE_COOKIE].value
        if FLASH_COOKIE in jar:
            try:
                loaded = self.flash_serializer.loads(jar[FLASH_COOKIE].value, max_age=FLASH_SECONDS)
                cookies.flashes = [dict(f) for f in loaded if isinstance(f, dict)] if isinstance(loaded, list) else []
            except (BadSignature, ValueError, TypeError):
                cookies.flashes = []
        return cookies

    def set_cookie_headers(self, cookies: Cookies, had_flash_cookie: bool) -> list[bytes]:
        headers = []
        if cookies.new_session_id is not None:
            signed = self.session_signer.sign(cookies.new_session_id).decode()
            headers.append(self._cookie(SESSION_COOKIE, signed, self.max_age))
        if cookies.new_language is not None:
            headers.append(self._cookie(LANGUAGE_COOKIE, cookies.new_language, LANGUAGE_SECONDS))
        if cookies.new_flashes:
            headers.append(self._cookie(FLASH_COOKIE, self.flash_serializer.dumps(cookies.new_flashes), FLASH_SECONDS))
        elif cookies.flashes_shown and had_flash_cookie:
            headers.append(self._cookie(FLASH_COOKIE, "", 0))
        return headers

    def _cookie(self, name: str, value: str, max_age: int) -> bytes:
        parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Strict"]
        if self.settings.secure_cookies:
            parts.append("Secure")
        return "; ".join(parts).encode("latin-1")


class ConsoleCookies:
    """ASGI middleware: reads the console's cookies into request.state.cookies and sets what changed."""

    def __init__(self, app: ASGIApp, keys: CookieKeys) -> None:
        self.app, self.keys = app, keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = b"; ".join(value for name, value in scope.get("headers", []) if name == b"cookie").decode("latin-1")
        cookies = self.keys.read(header)
        had_flash_cookie = f"{FLASH_COOKIE}=" in header
        scope.setdefault("state", {})["cookies"] = cookies

        async def with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"set-cookie", value) for value in self.keys.set_cookie_headers(cookies, had_flash_cookie)]
                if self.keys.settings.secure_cookies:
                    extra.append((b"strict-transport-security", HSTS))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, with_cookies)


def cookies_of(request: Request) -> Cookies:
    cookies = getattr(request.state, "cookies", None)
    if cookies is None:  # outside the middleware (never in the console): nothing set
        cookies = Cookies()
        request.state.cookies = cookies
    return cookies


def keys_of(request: Request) -> CookieKeys:
    return request.app.state.cookie_keys


def session_key(request: Request) -> str:
    """The id CSRF tokens are bound to: the session's, or a fresh anonymous one set as the cookie."""
    cookies = cookies_of(request)
    if cookies.current_id is None:
        cookies.new_session_id = new_session_id()
    assert cookies.current_id is not None
    return cookies.current_id


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def open_session(db: Session, officer: Officer, request: Request, now: datetime | None = None) -> ConsoleSession:
    """A new session row for this officer and a new id in the cookie (never the id the browser came with)."""
    now = now or utcnow()
    assert officer.id is not None
    row = ConsoleSession(
        id=new_session_id(),
        officer_id=officer.id,
        created_at=now,
        last_seen_at=now,
        client_address=client_address(request),
        user_agent=(request.headers.get("user-agent") or "")[:500] or None,
    )
    db.add(row)
    cookies_of(request).new_session_id = row.id
    return row


def live_session(db: Session, session_id: str | None, settings: ConsoleSettings, now: datetime) -> tuple[ConsoleSession, Officer] | None:
    """The session and its officer if the session still holds; an expired one is revoked on the way."""
    if not session_id:
        return None
    row = db.get(ConsoleSession, session_id)
    if row is None:
        return None
    reason = row.expiry(now, idle=timedelta(minutes=settings.session_idle_minutes), absolute=timedelta(hours=settings.session_hours))
    officer = db.get(Officer, row.officer_id)
    if reason is None and (officer is None or not officer.active):
        reason = "disabled"
    if reason is not None:
        if reason != "revoked":
            row.revoke(now, reason)
            db.add(row)
        return None
    assert officer is not None
    if now - row.last_seen_at >= SEEN_EVERY:
        row.last_seen_at = now
        db.add(row)
    return row, officer


def end_session(db: Session, request: Request, reason: str = "signed_out") -> None:
    """Revoke this browser's session and give it a fresh anonymous id."""
    cookies = cookies_of(request)
    if cookies.session_id:
        row = db.get(ConsoleSession, cookies.session_id)
        if row is not None:
            row.revoke(utcnow(), reason)
            db.add(row)
    cookies.new_session_id = new_session_id()


def revoke_sessions(db: Session, officer: Officer, reason: str, now: datetime | None = None) -> int:
    """End every live session of this officer in one UPDATE; returns how many ended."""
    result = db.connection().execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.officer_id) == officer.id, col(ConsoleSession.revoked_at).is_(None))
        .values(revoked_at=now or utcnow(), revoked_reason=reason)
    )
    return int(result.rowcount or 0)


def sessions_of(db: Session, officer: Officer) -> list[ConsoleSession]:
    return list(
        db.exec(select(ConsoleSession).where(ConsoleSession.officer_id == officer.id).order_by(col(ConsoleSession.created_at).desc()))
    )


def live_counts(db: Session, settings: ConsoleSettings, now: datetime | None = None) -> dict[int, int]:
    """Sessions that still hold, per officer id (for the officers page)."""
    now = now or utcnow()
    counts: dict[int, int] = {}
    idle, absolute = timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_hours)
    for row in db.exec(select(ConsoleSession).where(col(ConsoleSession.revoked_at).is_(None))):
        if row.expiry(now, idle=idle, absolute=absolute) is None:
            counts[row.officer_id] = counts.get(row.officer_id, 0) + 1
    return counts


def describe(row: ConsoleSession, settings: ConsoleSettings, now: datetime | None = None) -> dict[str, Any]:
    """A session for the command line: its id shortened (the whole id is a credential), never the whole id."""
    now = now or utcnow()
    reason = row.expiry(now, idle=timedelta(minutes=settings.session_idle_minutes), absolute=timedelta(hours=settings.session_hours))
    return {
        "id": row.id[:8] + "…",
        "active": reason is None,
        "created_at": row.created_at,
        "last_seen_at": row.last_seen_at,
        "client_address": row.client_address,
        "user_agent": row.user_agent,
        "revoked_at": row.revoked_at,
        "revoked_reason": row.revoked_reason if reason == "revoked" else reason,
    }
