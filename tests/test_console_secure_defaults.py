"""Secure defaults: Secure cookies and HSTS unless started with --development, and /metrics behind an
optional bearer token from the environment."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from console_browser import served
from console_support import console_app, console_settings, csrf_of
from fastapi.testclient import TestClient

import console.serve
from core.errors import SettingsError
from core.settings import Settings

TOKEN = "scrape-token-0123456789abcdef"


def test_secure_cookies_are_on_by_default_with_hsts(tmp_path: Path) -> None:
    assert Settings().console.secure_cookies is True
    settings = console_settings(tmp_path / "var", CERS_CONSOLE__SECURE_COOKIES="true")
    assert settings.console.secure_cookies
    app, _ = console_app(settings)
    client = TestClient(app, base_url="https://testserver")
    page = client.get("/sign-in")
    assert "secure" in page.headers["set-cookie"].lower()
    assert page.headers["strict-transport-security"].startswith("max-age=")
    token = csrf_of(page.text)
    response = client.post("/sign-in", data={"name": "olga", "password": "correct horse battery staple", "csrf_token": token})
    assert response.status_code == 200 and "/sign-out" in response.text
    assert all("secure" in c.lower() for c in response.history[0].headers.get_list("set-cookie"))


def test_development_turns_secure_cookies_and_hsts_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr(console.serve.uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    settings = console_settings(tmp_path / "var", CERS_CONSOLE__SECURE_COOKIES="true")
    console.serve.serve(settings, console_app(settings)[1], development=True)
    client = TestClient(seen["app"])  # type: ignore[arg-type]
    page = client.get("/sign-in")
    assert "secure" not in page.headers["set-cookie"].lower() and "strict-transport-security" not in page.headers
    with pytest.raises(SettingsError):  # without --development, no key: refused, whatever the cookies
        console.serve.serve(settings, console_app(settings)[1], development=False)


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def test_metrics_need_the_bearer_token_when_one_is_set(tmp_path: Path) -> None:
    app, _ = console_app(console_settings(tmp_path / "var", CERS_MONITOR__METRICS_TOKEN=TOKEN))
    with served(app) as base:
        for token in (None, "wrong", TOKEN + "x"):
            status, headers, body = _get(f"{base}/metrics", token)
            assert status == 401 and headers["www-authenticate"].startswith("Bearer"), token
            assert "cers_applications" not in body
        status, _, body = _get(f"{base}/metrics", TOKEN)
        assert status == 200 and "cers_applications" in body
        assert _get(f"{base}/healthz")[0] in (200, 503)  # the health check stays open to load balancers


def test_metrics_are_open_without_a_token(tmp_path: Path) -> None:
    app, _ = console_app(console_settings(tmp_path / "var"))
    with served(app) as base:
        assert _get(f"{base}/metrics")[0] == 200


def test_the_metrics_token_is_refused_in_the_settings_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(f'[monitor]\nmetrics_token = "{TOKEN}"\n')
    with pytest.raises(SettingsError, match="CERS_MONITOR__METRICS_TOKEN"):
        console_settings(tmp_path, CERS_SETTINGS=str(path))
    assert console_settings(tmp_path, CERS_MONITOR__METRICS_TOKEN=TOKEN).monitor.metrics_token.get_secret_value() == TOKEN
