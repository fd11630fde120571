"""Serving the console with uvicorn."""

from __future__ import annotations

import structlog
import uvicorn
from sqlalchemy.engine import Engine

from console.app import console_secret, create_app
from core.settings import Settings

log = structlog.get_logger("console")


def serve(settings: Settings, engine: Engine, *, development: bool = False, host: str | None = None, port: int | None = None) -> None:
    """Serve until stopped. Only --development turns secure cookies (and HSTS) off, for plain http on loopback."""
    secret = console_secret(settings, development=development)
    if development:
        settings = development_settings(settings)
        log.warning("development mode: cookies without Secure, no HSTS; serve plain http on loopback only")
        if not settings.console.secret_key.get_secret_value():
            log.warning("development mode: a throwaway session key; sessions end when the console stops")
    if not settings.monitor.metrics_token.get_secret_value():
        log.warning("/metrics is open to anyone who reaches the console: set CERS_MONITOR__METRICS_TOKEN")
    app = create_app(settings, engine, secret_key=secret)
    host = host or settings.console.host
    port = port or settings.console.port
    proxies = settings.console.trusted_proxies.strip()
    log.info("console listening", url=f"http://{host}:{port}/", secure_cookies=settings.console.secure_cookies, trusted_proxies=proxies)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.logging.level,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,
    )


def development_settings(settings: Settings) -> Settings:
    console = settings.console.model_copy(update={"secure_cookies": False})
    return settings.model_copy(update={"console": console})
