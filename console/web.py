"""What every page shares: the console's state, rendering with the officer's language, flash messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from console import vocabulary
from console.auth import CSRF_FIELD, csrf_token
from console.humane import Clock
from console.i18n import LANGUAGES, Words, install, render_context, words
from console.officers import has_role
from console.sessions import cookies_of
from core.blobs import BlobStore
from core.enums import OfficerRole
from core.models import Officer
from core.settings import Settings
from processors.codes import mask_codes

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# for the sender's text a page shows straight from a row (subjects, senders): no activation code shown
TEMPLATES.env.filters["mask_codes"] = lambda value: mask_codes(value) if isinstance(value, str) else value
install(TEMPLATES.env)  # _() and ngettext() read each page's own catalogue from its context
TEMPLATES.env.globals.update(vocabulary.NAMES)  # msgids of the fixed vocabularies: {{ _(STATES[row.state]) }}


@dataclass(frozen=True)
class Console:
    settings: Settings
    engine: Engine
    blobs: BlobStore
    has_dashboard: bool


def console_of(request: Request) -> Console:
    return request.app.state.console


def language_of(request: Request) -> str:
    cookies = cookies_of(request)
    language = cookies.new_language or cookies.language
    return language if language in LANGUAGES else "en"


def words_of(request: Request) -> Words:
    """gettext and ngettext in the officer's language."""
    return words(language_of(request))


def set_language(request: Request, language: str) -> None:
    """The language cookie only: the session cookie is left as it is."""
    if language in LANGUAGES:
        cookies_of(request).new_language = language


def flash(request: Request, text: str, kind: str = "info") -> None:
    """A message for the next page shown (it travels in a signed cookie of its own)."""
    cookies_of(request).new_flashes.append({"kind": kind, "text": text})


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def render(
    request: Request, template: str, officer: Officer | None, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    language = language_of(request)
    cookies = cookies_of(request)
    messages = [*cookies.flashes, *cookies.new_flashes]
    cookies.flashes, cookies.new_flashes, cookies.flashes_shown = [], [], True
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            **render_context(language),
            "lang": language,
            "clock": Clock(language, console_of(request).settings.console.time_zone),
            "officer": officer,
            "can_decide": officer is not None and has_role(officer, OfficerRole.officer),
            "is_supervisor": officer is not None and has_role(officer, OfficerRole.supervisor),
            "has_dashboard": console_of(request).has_dashboard,
            "csrf_field": CSRF_FIELD,
            "csrf": csrf_token(request),
            "flashes": messages,
            **context,
        },
        status_code=status_code,
        headers=headers,
    )
