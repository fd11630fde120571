"""Signing in and out, and switching the language."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlparse

import anyio
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from console.auth import NotSignedIn, csrf_protect, signed_in
from console.guard import SignInGuard
from console.i18n import words
from console.officers import SignInRefused, authenticate
from console.sessions import client_address, end_session, open_session
from console.web import console_of, language_of, redirect, render, set_language, words_of
from core.db import session_scope
from core.models import Officer

router = APIRouter()


@router.get("/")
def home(officer: Officer = Depends(signed_in)) -> Response:
    return redirect("/queue")


@router.get("/sign-in")
def sign_in_page(request: Request) -> Response:
    try:
        signed_in(request)
        return redirect("/queue")
    except NotSignedIn:
        pass
    return render(request, "sign_in.html", None, sso=bool(console_of(request).settings.console.trusted_user_header))


@router.post("/sign-in", dependencies=[Depends(csrf_protect)])
async def sign_in(request: Request, name: str = Form(""), password: str = Form("")) -> Response:
    """Rate limits first; then the check in a worker thread of the sign-ins' own (waiting costs no thread)."""
    guard: SignInGuard = request.app.state.sign_in_guard
    address = client_address(request)
    wait = guard.admit(address, name)
    if wait is not None:
        other = "en" if language_of(request) == "fr" else "fr"
        return render(
            request,
            "sign_in.html",
            None,
            status_code=429,
            headers={"Retry-After": str(wait)},
            too_many=_too_many(language_of(request), wait),
            other_lang=other,
            too_many_other=_too_many(other, wait),
            name=name,
        )
    refused = await anyio.to_thread.run_sync(partial(_sign_in, request, name, password, guard, address), limiter=guard.threads)
    if refused:
        error = words_of(request).gettext(
            "Sign-in refused: the name or password is wrong, or the account is locked or disabled. "
            "After repeated failures an account is locked for a while; a supervisor can unlock it."
        )
        return render(request, "sign_in.html", None, status_code=401, error=error, name=name)
    return redirect("/queue")


def _too_many(language: str, seconds: int) -> str:
    return words(language).ngettext(
        "Too many sign-in attempts from this address or for this name. Wait %(num)d second, then try again.",
        "Too many sign-in attempts from this address or for this name. Wait %(num)d seconds, then try again.",
        seconds,
    )


def _sign_in(request: Request, name: str, password: str, guard: SignInGuard, address: str | None) -> bool:
    """True when refused: whatever the reason (kept in the log and audit trail), the page is the same."""
    console = console_of(request)
    settings = console.settings.console
    try:
        officer = authenticate(
            console.engine,
            name,
            password,
            max_failures=settings.max_failed_sign_ins,
            lockout_minutes=settings.lockout_minutes,
            checks=guard.checks,
            address=address,
        )
    except SignInRefused:
        return True
    with session_scope(console.engine) as db:
        open_session(db, officer, request)
    return False


@router.post("/sign-out", dependencies=[Depends(csrf_protect)])
def sign_out(request: Request) -> Response:
    with session_scope(console_of(request).engine) as db:
        end_session(db, request)
    return redirect("/sign-in")


@router.post("/language", dependencies=[Depends(csrf_protect)])
def switch_language(request: Request, lang: str = Form("en"), back: str = Form("/queue")) -> Response:
    set_language(request, lang)  # the language cookie only: a session's life is its own
    return redirect(_local(back))


def _local(url: str) -> str:
    """Only a path on this site: never send the browser elsewhere."""
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc or not url.startswith("/") or url.startswith("//"):
        return "/queue"
    return url
