"""Officer accounts, for supervisors: add, change role, set password, disable, unlock, sign out everywhere."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from console import officers as accounts
from console.auth import csrf_protect, supervisor
from console.sessions import live_counts
from console.web import console_of, flash, redirect, render, words_of
from core.db import session_scope
from core.enums import OfficerRole
from core.errors import IntakeError
from core.models import Officer

router = APIRouter()


@router.get("/officers")
def officers(request: Request, officer: Officer = Depends(supervisor)) -> Response:
    console = console_of(request)
    with session_scope(console.engine) as db:
        rows = accounts.list_officers(db)
        locked = [o.name for o in rows if accounts.is_locked(o)]
        sessions = live_counts(db, console.settings.console)
    return render(request, "officers.html", officer, rows=rows, locked=locked, sessions=sessions, roles=list(OfficerRole))


@router.post("/officers", dependencies=[Depends(csrf_protect)])
def add(
    request: Request, name: str = Form(""), role: str = Form("officer"), password: str = Form(""), officer: Officer = Depends(supervisor)
) -> Response:
    return _change(request, name, lambda db: accounts.add_officer(db, name, _role(role), password, actor=officer.name))


@router.post("/officers/{name}/role", dependencies=[Depends(csrf_protect)])
def role(request: Request, name: str, role: str = Form(""), officer: Officer = Depends(supervisor)) -> Response:
    return _change(request, name, lambda db: accounts.set_role(db, name, _role(role), actor=officer.name))


@router.post("/officers/{name}/password", dependencies=[Depends(csrf_protect)])
def password(request: Request, name: str, password: str = Form(""), officer: Officer = Depends(supervisor)) -> Response:
    return _change(request, name, lambda db: accounts.set_password(db, name, password, actor=officer.name))


@router.post("/officers/{name}/active", dependencies=[Depends(csrf_protect)])
def active(request: Request, name: str, active: str = Form(""), officer: Officer = Depends(supervisor)) -> Response:
    return _change(request, name, lambda db: accounts.set_active(db, name, active == "yes", actor=officer.name))


@router.post("/officers/{name}/unlock", dependencies=[Depends(csrf_protect)])
def unlock(request: Request, name: str, officer: Officer = Depends(supervisor)) -> Response:
    return _change(request, name, lambda db: accounts.unlock(db, name, actor=officer.name))


@router.post("/officers/{name}/sign-out", dependencies=[Depends(csrf_protect)])
def sign_out_everywhere(request: Request, name: str, officer: Officer = Depends(supervisor)) -> Response:
    page_words = words_of(request)
    try:
        with session_scope(console_of(request).engine) as db:
            ended = accounts.sign_out_everywhere(db, name, actor=officer.name)
        flash(
            request,
            page_words.ngettext(
                "%(name)s is signed out everywhere (%(num)d session ended).",
                "%(name)s is signed out everywhere (%(num)d sessions ended).",
                ended,
                name=name,
            ),
        )
    except IntakeError as exc:
        flash(request, page_words.gettext("Not done: %(message)s", message=str(exc)), "error")
    return redirect("/officers")


def _role(value: str) -> OfficerRole:
    try:
        return OfficerRole(value)
    except ValueError:
        raise IntakeError(f"no role {value!r}") from None


def _change(request: Request, name: str, change: Callable[[Session], object]) -> Response:
    _ = words_of(request).gettext
    try:
        with session_scope(console_of(request).engine) as db:
            change(db)
        flash(request, _("Saved: %(name)s.", name=name))
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
    return redirect("/officers")
