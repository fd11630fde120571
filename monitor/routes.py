"""`/metrics` (Prometheus text format) and `/healthz` (503 when the last successful poll is older
than monitor.max_poll_age_seconds), as a FastAPI router to include in any app.

The app gives the settings and engine as `app.state.console` (the officer console's object with
`.settings` and `.engine`) or as `app.state.settings` and `app.state.engine`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.settings import Settings
from monitor.health import poll_health
from monitor.metrics import render_metrics

router = APIRouter(tags=["monitor"])


def _context(request: Request) -> tuple[Settings, Engine]:
    state = request.app.state
    holder = getattr(state, "console", None) or state
    return holder.settings, holder.engine


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    settings, engine = _context(request)
    return Response(render_metrics(engine, settings), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request) -> JSONResponse:
    settings, engine = _context(request)
    with Session(engine) as session:
        health = poll_health(session, settings)
    return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)
