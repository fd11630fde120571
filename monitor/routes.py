"""`/metrics` (Prometheus text format; behind a bearer token when monitor.metrics_token is set) and
`/healthz` (503 when the last successful poll is older than monitor.max_poll_age_seconds), as a
FastAPI router to include in any app.

The app gives the settings and engine as `app.state.console` (the officer console's object with
`.settings` and `.engine`) or as `app.state.settings` and `app.state.engine`.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.settings import Settings
from monitor.health import poll_health
from monitor.metrics import render_metrics

router = APIRouter(tags=["monitor"])
CHALLENGE = 'Bearer realm="cers-intake metrics"'


def _context(request: Request) -> tuple[Settings, Engine]:
    state = request.app.state
    holder = getattr(state, "console", None) or state
    return holder.settings, holder.engine


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    settings, engine = _context(request)
    if not bearer_allowed(request.headers.get("authorization"), settings.monitor.metrics_token.get_secret_value()):
        return Response("a bearer token is needed\n", status_code=401, media_type="text/plain", headers={"WWW-Authenticate": CHALLENGE})
    return Response(render_metrics(engine, settings), media_type=CONTENT_TYPE_LATEST)


def bearer_allowed(authorization: str | None, token: str) -> bool:
    """No token set: open. Otherwise `Authorization: Bearer <token>`, as Prometheus sends with `authorization: {credentials: ...}`."""
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    settings, engine = _context(request)
    with Session(engine) as session:
        health = poll_health(session, settings)
    return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)
