"""Correspondence: mail without a form, with reply and close."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from console.auth import csrf_protect, deciding_officer, signed_in
from console.web import console_of, flash, redirect, render, words_of
from core.db import session_scope
from core.errors import IntakeError, NotFound
from core.models import Officer
from processors import correspondence
from processors.mail_view import trust_authentication_results

router = APIRouter()


@router.get("/correspondence")
def items(request: Request, closed: bool = False, officer: Officer = Depends(signed_in)) -> Response:
    with session_scope(console_of(request).engine) as db:
        rows = correspondence.list_correspondence(db, include_closed=closed)
    return render(request, "correspondence_list.html", officer, items=rows, closed=closed)


@router.get("/correspondence/{item_id}")
def item(request: Request, item_id: int, officer: Officer = Depends(signed_in)) -> Response:
    console = console_of(request)
    with session_scope(console.engine) as db:
        try:
            detail = correspondence.correspondence_detail(db, console.blobs, item_id)
            trust_authentication_results(detail["message"], console.settings.mailbox.authserv_id)
        except NotFound:
            return render(request, "error.html", officer, status_code=404, message=words_of(request).gettext("Not found."))
    return render(request, "correspondence_item.html", officer, item=detail)


@router.post("/correspondence/{item_id}/reply", dependencies=[Depends(csrf_protect)])
def reply(
    request: Request, item_id: int, message: str = Form(""), message_fr: str = Form(""), officer: Officer = Depends(deciding_officer)
) -> Response:
    console = console_of(request)
    _ = words_of(request).gettext
    try:
        with session_scope(console.engine) as db:
            notice = correspondence.reply(db, console.settings, item_id, officer=officer.name, message=message, message_fr=message_fr)
        flash(request, _("Reply queued for %(to)s.", to=notice.to_address))
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
    return redirect(f"/correspondence/{item_id}")


@router.post("/correspondence/{item_id}/close", dependencies=[Depends(csrf_protect)])
def close(request: Request, item_id: int, officer: Officer = Depends(deciding_officer)) -> Response:
    console = console_of(request)
    _ = words_of(request).gettext
    try:
        with session_scope(console.engine) as db:
            correspondence.close(db, item_id, officer=officer.name)
        flash(request, _("Item closed."))
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
        return redirect(f"/correspondence/{item_id}")
    return redirect("/correspondence")
