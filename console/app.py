"""The console's web application: middleware, error pages and the routers."""

from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console import (
    routes_applications,
    routes_correspondence,
    routes_decisions,
    routes_officers,
    routes_reasons,
    routes_session,
)
from console.auth import Forbidden, NotSignedIn
from console.guard import SignInGuard
from console.sessions import ConsoleCookies, CookieKeys
from console.web import Console, redirect, render, words_of
from core.blobs import open_blob_store
from core.errors import SettingsError
from core.settings import Settings

STATIC = Path(__file__).parent / "static"
MIN_SECRET_LENGTH = 32
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; object-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def console_secret(settings: Settings, *, development: bool) -> str:
    """The cookie-signing key from the environment; a throwaway one only when asked for development."""
    key = settings.console.secret_key.get_secret_value()
    if len(key) >= MIN_SECRET_LENGTH:
        return key
    if development:
        return secrets.token_urlsafe(32)
    problem = "is too short" if key else "is not set"
    raise SettingsError(
        f"CERS_CONSOLE__SECRET_KEY {problem}: set it to {MIN_SECRET_LENGTH} or more random characters "
        "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'), or start with --development"
    )


def create_app(settings: Settings, engine: Engine, *, secret_key: str) -> FastAPI:
    """The console for these settings on a migrated database; secret_key comes from console_secret()."""
    monitor_router = _monitor_router()
    has_dashboard = _has_module("monitor.dashboard")
    app = FastAPI(title="cers-intake console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = Console(settings, engine, open_blob_store(settings, engine), has_dashboard=has_dashboard)
    app.state.cookie_keys = keys = CookieKeys(secret_key, settings.console)
    app.state.sign_in_guard = SignInGuard(settings.console)
    app.add_middleware(ConsoleCookies, keys=keys)
    app.add_middleware(SecurityHeaders)
    for router in (
        routes_session.router,
        routes_applications.router,
        routes_decisions.router,
        routes_correspondence.router,
        routes_officers.router,
        routes_reasons.router,
    ):
        app.include_router(router)
    if monitor_router is not None:
        app.include_router(monitor_router)
    if has_dashboard:
        from console import routes_dashboard

        app.include_router(routes_dashboard.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(Forbidden, _forbidden)
    return app


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _monitor_router() -> APIRouter | None:
    """The monitor's /metrics and /healthz."""
    if not _has_module("monitor.routes"):
        return None
    from monitor.routes import router

    return router


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    if request.method == "GET":
        return redirect("/sign-in")
    return Response("sign in first", status_code=401, media_type="text/plain")


async def _forbidden(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", None, status_code=403, message=words_of(request).gettext("Your role does not allow this."))


class SecurityHeaders:
    """Headers that keep pages out of other sites' frames and out of caches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in SECURITY_HEADERS if h[0] not in names]
            await send(message)

        await self.app(scope, receive, with_headers)
