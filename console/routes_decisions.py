"""Claims and decisions. Each decision asks for confirmation first; the functions are the CLI's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from console.auth import csrf_protect, deciding_officer, supervisor
from console.humane import Clock
from console.i18n import Words
from console.vocabulary import N_
from console.web import Console, console_of, flash, redirect, render, words_of
from core.db import session_scope
from core.enums import OfficerRole
from core.errors import DecisionError, IntakeError
from core.models import Application, Officer
from processors import decisions, reasons, retention
from processors.queue import application_detail

router = APIRouter(dependencies=[Depends(csrf_protect)])


@dataclass(frozen=True)
class Action:
    name: str  # the key of its name (console.vocabulary.ACTIONS) and of its question, and the URL's last part
    text_field: str | None  # reason | message | None
    claims: bool  # the confirmation step claims the application for the officer


ACTIONS = {
    "approve": Action("approve", None, True),
    "reject": Action("reject", "reason", True),
    "request-info": Action("request_info", "message", True),
    "reissue-code": Action("reissue_code", None, False),
    "reopen": Action("reopen", "reason", False),
}


# the confirmation page's question
QUESTIONS = {
    "approve": N_("Approve %(reference)s? The authorization ID and a new activation code go to %(email)s, the exporter email on the form."),
    "reject": N_("Reject %(reference)s? This reason goes to %(email)s:"),
    "request_info": N_("Send this request to %(email)s and put %(reference)s back in Needs information?"),
    "reissue_code": N_("Issue a new activation code for %(reference)s? The old code stops working; the new one goes to %(email)s."),
    "reopen": N_("Reopen %(reference)s? It goes back to Pending review."),
}


# after these decisions the officer lands on the next application, already claimed
NEXT_AFTER = ("approve", "reject", "request_info")


@router.post("/queue/take-next")
def take_next(request: Request, officer: Officer = Depends(deciding_officer)) -> Response:
    """Claim the oldest free application this officer may decide, and open it: one step."""
    console = console_of(request)
    _ = words_of(request).gettext
    with session_scope(console.engine) as db:
        taken = decisions.take_next(db, officer=officer.name, minutes=console.settings.console.claim_minutes)
    if taken is None:
        flash(request, _("No application is waiting for a decision."))
        return redirect("/queue")
    return redirect(f"/applications/{taken}")


@router.post("/applications/{application_id}/claim")
def claim(request: Request, application_id: int, officer: Officer = Depends(deciding_officer)) -> Response:
    console = console_of(request)
    page_words = words_of(request)
    _ = page_words.gettext
    try:
        with session_scope(console.engine) as db:
            until = decisions.claim(db, application_id, officer=officer.name, minutes=console.settings.console.claim_minutes)
            reference = application_detail(db, application_id)["reference"]
        until_text = Clock(page_words.language, console.settings.console.time_zone).time(until)
        flash(request, _("You hold %(reference)s until %(until)s.", reference=reference, until=until_text))
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
    return redirect(f"/applications/{application_id}")


@router.post("/applications/{application_id}/release")
def release(request: Request, application_id: int, officer: Officer = Depends(deciding_officer)) -> Response:
    console = console_of(request)
    _ = words_of(request).gettext
    try:
        with session_scope(console.engine) as db:
            decisions.release(db, application_id, officer=officer.name)
        flash(request, _("%(reference)s released.", reference=_reference(application_id)))
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
    return redirect(f"/applications/{application_id}")


@router.post("/applications/{application_id}/hold")
def hold(request: Request, application_id: int, officer: Officer = Depends(supervisor)) -> Response:
    return _set_hold(request, application_id, officer, True)


@router.post("/applications/{application_id}/release-hold")
def release_hold(request: Request, application_id: int, officer: Officer = Depends(supervisor)) -> Response:
    return _set_hold(request, application_id, officer, False)


def _set_hold(request: Request, application_id: int, officer: Officer, hold: bool) -> Response:
    """A supervisor keeps an application out of the retention purge, or lets it go again."""
    _ = words_of(request).gettext
    try:
        with session_scope(console_of(request).engine) as db:
            retention.set_hold(db, application_id, supervisor=officer.name, hold=hold, reason="console")
        reference = _reference(application_id)
        flash(
            request,
            _("%(reference)s is on hold.", reference=reference) if hold else _("%(reference)s is no longer on hold.", reference=reference),
        )
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
    return redirect(f"/applications/{application_id}")


@router.post("/applications/{application_id}/assign")
def assign(request: Request, application_id: int, to: str = Form(""), officer: Officer = Depends(supervisor)) -> Response:
    console = console_of(request)
    _ = words_of(request).gettext
    try:
        with session_scope(console.engine) as db:
            decisions.assign(db, application_id, officer=officer.name, to=to, minutes=console.settings.console.claim_minutes)
        flash(request, _("%(reference)s assigned to %(who)s.", reference=_reference(application_id), who=to))
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
    return redirect(f"/applications/{application_id}")


@router.post("/applications/{application_id}/reopen")
def reopen(
    request: Request, application_id: int, confirmed: str = Form(""), reason: str = Form(""), officer: Officer = Depends(supervisor)
) -> Response:
    return _decide(request, application_id, ACTIONS["reopen"], officer, confirmed == "yes", reason)


@router.post("/applications/{application_id}/{action}")
def decide(
    request: Request,
    application_id: int,
    action: str,
    confirmed: str = Form(""),
    reason: str = Form(""),
    reason_fr: str = Form(""),
    message: str = Form(""),
    message_fr: str = Form(""),
    text_code: str = Form(""),
    replace_email: str = Form(""),
    officer: Officer = Depends(deciding_officer),
) -> Response:
    if action not in ACTIONS or action == "reopen":
        return render(request, "error.html", officer, status_code=404, message=words_of(request).gettext("Not found."))
    chosen = ACTIONS[action]
    text = message if chosen.text_field == "message" else reason
    text_fr = message_fr if chosen.text_field == "message" else reason_fr
    if text_code and confirmed != "yes":  # a standard text fills both languages, still editable on the confirmation
        with session_scope(console_of(request).engine) as db:
            try:
                standard = reasons.reason(db, text_code)
                text, text_fr = standard.text_en, standard.text_fr
            except IntakeError as exc:
                flash(request, words_of(request).gettext("Not done: %(message)s", message=str(exc)), "error")
                return redirect(f"/applications/{application_id}")
    return _decide(request, application_id, chosen, officer, confirmed == "yes", text, replace_email == "yes", text_fr)


def _decide(
    request: Request,
    application_id: int,
    action: Action,
    officer: Officer,
    confirmed: bool,
    text: str,
    replace_email: bool = False,
    text_fr: str = "",
) -> Response:
    console = console_of(request)
    _ = words_of(request).gettext
    back = f"/applications/{application_id}"
    try:
        with session_scope(console.engine) as db:
            detail = application_detail(db, application_id)
            application = db.get(Application, application_id)
            assert application is not None
            # the address named here is the one the code goes to: one function decides both
            email = decisions.code_address(db, application) if action.name in ("approve", "reissue_code") else detail["sender"]
            replaced = decisions.email_replacement(db, application) if action.name == "approve" else None
            if replaced is not None and officer.role != OfficerRole.supervisor:
                raise DecisionError(
                    _(
                        "%(reference)s would replace the address of an existing account (%(old)s by %(new)s): "
                        "only a supervisor can approve it.",
                        reference=detail["reference"],
                        old=replaced,
                        new=email,
                    )
                )
            if not confirmed:
                if action.claims:
                    decisions.claim(db, application_id, officer=officer.name, minutes=console.settings.console.claim_minutes)
            else:
                done = _carry_out(
                    db,
                    console,
                    application_id,
                    action,
                    officer,
                    (text, text_fr),
                    detail,
                    words_of(request),
                    replace_email and replaced is not None,
                )
    except IntakeError as exc:
        flash(request, _("Not done: %(message)s", message=str(exc)), "error")
        return redirect(back)
    if not confirmed:
        question = _(QUESTIONS[action.name], reference=detail["reference"], email=email or "-")
        if replaced is not None:
            question += " " + _(
                "This business number already has an account at %(old)s. Approving replaces that address with %(new)s: "
                "the new code goes to %(new)s, the old code stops working, and %(old)s is told of the change.",
                old=replaced,
                new=email,
            )
        return render(
            request,
            "confirm.html",
            officer,
            app=detail,
            action=action,
            url=f"/applications/{application_id}/{action.name.replace('_', '-')}",
            question=question,
            text=text,
            text_fr=text_fr,
            replace_email=replaced is not None,
        )
    flash(request, done)
    if action.name in NEXT_AFTER:
        with session_scope(console.engine) as db:
            taken = decisions.take_next(db, officer=officer.name, minutes=console.settings.console.claim_minutes, skip=application_id)
        if taken is None:
            flash(request, _("No application is waiting for a decision."))
            return redirect("/queue")
        flash(request, _("Next: %(reference)s, claimed for you.", reference=_reference(taken)))
        return redirect(f"/applications/{taken}")
    return redirect(back)


def _carry_out(
    db: Session,
    console: Console,
    application_id: int,
    action: Action,
    officer: Officer,
    texts: tuple[str, str],
    detail: dict[str, Any],
    page_words: Words,
    replace_email: bool = False,
) -> str:
    _ = page_words.gettext
    reference = detail["reference"]
    settings = console.settings
    if action.name == "approve":
        approval = decisions.approve(db, settings, application_id, officer=officer.name, replace_email=replace_email)
        return _(
            "%(reference)s approved. Authorization ID: %(authorization_id)s (shown once). "
            "The activation code goes to the exporter's email only.",
            reference=reference,
            authorization_id=approval.authorization_id,
        )
    if action.name == "reject":
        decisions.reject(db, settings, application_id, officer=officer.name, reason=texts[0], reason_fr=texts[1])
        return _("%(reference)s rejected; the reason is on its way to the applicant.", reference=reference)
    if action.name == "request_info":
        decisions.request_info(db, settings, application_id, officer=officer.name, message=texts[0], message_fr=texts[1])
        return _("%(reference)s needs information; the message is on its way.", reference=reference)
    if action.name == "reissue_code":
        reissue = decisions.reissue_code(db, settings, application_id, officer=officer.name)
        expires = Clock(page_words.language, settings.console.time_zone).day(reissue.code_expires_at.date())
        return _(
            "A new activation code for %(reference)s is on its way to the exporter's email, valid until %(expires)s.",
            reference=reference,
            expires=expires,
        )
    decisions.reopen(db, application_id, officer=officer.name, reason=texts[0])
    return _("%(reference)s reopened.", reference=reference)


def _reference(application_id: int) -> str:
    return f"CERS-{application_id:06d}"
