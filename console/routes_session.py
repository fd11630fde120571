"""Signing in and out, and switching the language."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from console.auth import (
    NotSignedIn,
    csrf_protect,
    end_session,
    signed_in,
    start_session,
)
from console.i18n import LANGUAGES
from console.officers import SignInRefused, authenticate
from console.web import console_of, redirect, render
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
def sign_in(request: Request, name: str = Form(""), password: str = Form("")) -> Response:
    console = console_of(request)
    settings = console.settings.console
    with session_scope(console.engine) as db:
        try:
            officer = authenticate(db, name, password, max_failures=settings.max_failed_sign_ins, lockout_minutes=settings.lockout_minutes)
        except SignInRefused as refused:
            error = refused.reason  # the failure count is committed with the session
        else:
            start_session(request, officer)
            return redirect("/queue")
    return render(request, "sign_in.html", None, status_code=401, error=error, name=name)


@router.post("/sign-out", dependencies=[Depends(csrf_protect)])
def sign_out(request: Request) -> Response:
    end_session(request)
    return redirect("/sign-in")


@router.post("/language", dependencies=[Depends(csrf_protect)])
def switch_language(request: Request, lang: str = Form("en"), back: str = Form("/queue")) -> Response:
    if lang in LANGUAGES:
        request.session["lang"] = lang
    return redirect(_local(back))


def _local(url: str) -> str:
    """Only a path on this site: never send the browser elsewhere."""
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc or not url.startswith("/") or url.startswith("//"):
        return "/queue"
    return url
