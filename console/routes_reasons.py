"""The catalogue of standard decision texts, in both languages: supervisors add, change and retire them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from console.auth import csrf_protect, supervisor
from console.web import console_of, flash, redirect, render, words_of
from core.db import session_scope
from core.errors import IntakeError
from core.models import Officer
from processors import reasons

router = APIRouter()


@router.get("/reasons")
def catalogue(request: Request, officer: Officer = Depends(supervisor)) -> Response:
    with session_scope(console_of(request).engine) as db:
        rows = reasons.list_reasons(db, include_inactive=True)
    return render(request, "reasons.html", officer, rows=rows)


@router.post("/reasons", dependencies=[Depends(csrf_protect)])
def add(
    request: Request, code: str = Form(""), text_en: str = Form(""), text_fr: str = Form(""), officer: Officer = Depends(supervisor)
) -> Response:
    _ = words_of(request).gettext
    try:
        with session_scope(console_of(request).engine) as db:
            reasons.add_reason(db, code, text_en, text_fr, actor=officer.name)
        flash(request, _("Standard text %(code)s saved.", code=code.strip()))
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
    return redirect("/reasons")


@router.post("/reasons/{code}", dependencies=[Depends(csrf_protect)])
def edit(
    request: Request,
    code: str,
    text_en: str = Form(""),
    text_fr: str = Form(""),
    active: str = Form("yes"),
    officer: Officer = Depends(supervisor),
) -> Response:
    _ = words_of(request).gettext
    try:
        with session_scope(console_of(request).engine) as db:
            reasons.edit_reason(db, code, actor=officer.name, text_en=text_en or None, text_fr=text_fr or None, active=active == "yes")
        flash(request, _("Standard text %(code)s saved.", code=code))
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
    return redirect("/reasons")
