"""Serving the console with uvicorn."""

from __future__ import annotations

import structlog
import uvicorn
from sqlalchemy.engine import Engine

from console.app import console_secret, create_app
from core.settings import Settings

log = structlog.get_logger("console")


def serve(settings: Settings, engine: Engine, *, development: bool = False, host: str | None = None, port: int | None = None) -> None:
    secret = console_secret(settings, development=development)
    if development and not settings.console.secret_key.get_secret_value():
        log.warning("development mode: a throwaway session key; sessions end when the console stops")
    app = create_app(settings, engine, secret_key=secret)
    host = host or settings.console.host
    port = port or settings.console.port
    log.info("console listening", url=f"http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level=settings.logging.level, proxy_headers=False, server_header=False)
