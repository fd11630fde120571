"""The queue, one application (fields beside the PDF, versions, mail, notices, audit) and its PDFs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from console.auth import signed_in
from console.i18n import translator
from console.officers import list_officers
from console.web import console_of, language_of, render
from core.db import session_scope
from core.enums import AppState
from core.errors import NotFound
from core.models import Application, Officer
from parsers.profiles import get_profile
from processors import reasons
from processors.decisions import claim_holder
from processors.mail_view import version_messages, version_pdf
from processors.queue import REQUEST_KINDS, QueueFilters, application_detail, queue_page

router = APIRouter()


@router.get("/queue")
def queue(
    request: Request,
    officer: Officer = Depends(signed_in),
    state: str = "",
    kind: str = "",
    language: str = "",
    assigned: str = "",
    q: str = Query("", max_length=200),
    after: str | None = None,
    before: str | None = None,
) -> Response:
    console = console_of(request)
    filters = QueueFilters(
        state=AppState(state) if state in AppState.__members__ else None,
        request_kind=kind if kind in REQUEST_KINDS else None,
        language=language if language in ("en", "fr") else None,
        assigned_officer=assigned or None,
        search=q or None,
    )
    with session_scope(console.engine) as db:
        try:
            page = queue_page(db, filters, after=after, before=before, page_size=console.settings.console.page_size)
        except NotFound:
            page = queue_page(db, filters, page_size=console.settings.console.page_size)
        names = [o.name for o in list_officers(db)]
    query = {"state": state, "kind": kind, "language": language, "assigned": assigned, "q": q}
    return render(request, "queue.html", officer, page=page, query=query, states=list(AppState), kinds=REQUEST_KINDS, officers=names)


@router.get("/applications/{application_id}")
def application(request: Request, application_id: int, version: int | None = None, officer: Officer = Depends(signed_in)) -> Response:
    console = console_of(request)
    t = translator(language_of(request))
    with session_scope(console.engine) as db:
        try:
            detail = application_detail(db, application_id)
        except NotFound:
            return render(request, "error.html", officer, status_code=404, message=t("not_found"))
        row = db.get(Application, application_id)
        holder = claim_holder(row) if row else None
        claim_until = row.claim_until if row else None
        versions = detail["versions"]
        index = (version - 1) if version and 1 <= version <= len(versions) else len(versions) - 1
        shown = versions[index] if versions else None
        # only the shown version's message is read (and parsed once), however many versions there are
        messages = version_messages(
            db, console.blobs, [shown["submission_id"]] if shown else [], authserv_id=console.settings.mailbox.authserv_id
        )
        names = [o.name for o in list_officers(db) if o.active]
        standard_texts = [(r.code, r.text_en) for r in reasons.list_reasons(db)]
    return render(
        request,
        "application.html",
        officer,
        app=detail,
        shown=shown,
        shown_number=index + 1,
        field_rows=_field_rows(shown, language_of(request)) if shown else [],
        message=messages.get(shown["submission_id"]) if shown else None,
        holder=holder,
        claim_until=claim_until.strftime("%Y-%m-%d %H:%M UTC") if claim_until and holder else None,
        prefill=_request_info_prefill(detail, t),
        officers=names,
        standard_texts=standard_texts,
    )


@router.get("/applications/{application_id}/versions/{submission_id}/pdf")
def pdf(request: Request, application_id: int, submission_id: int, officer: Officer = Depends(signed_in)) -> Response:
    console = console_of(request)
    with session_scope(console.engine) as db:
        try:
            filename, data = version_pdf(db, console.blobs, application_id, submission_id)
        except NotFound:
            return render(request, "error.html", officer, status_code=404, message=translator(language_of(request))("no_pdf"))
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'})


def _field_rows(version: dict[str, Any], language: str) -> list[dict[str, Any]]:
    """The version's fields in form order, each with its label, where it came from and its findings."""
    try:
        specs = list(get_profile(version["revision"]).fields) if version["revision"] else []
    except KeyError:
        specs = []
    findings: dict[str, list[dict[str, str]]] = {}
    for found in version["findings"]:
        findings.setdefault(found["field"], []).append(found)
    rows = []
    seen = set()
    for spec in specs:
        seen.add(spec.key)
        rows.append(_field_row(spec.key, spec.item, spec.label_fr if language == "fr" else spec.label_en, version, findings))
    for key in version["fields"]:
        if key not in seen:
            rows.append(_field_row(key, "", key, version, findings))
    for key in findings:
        if key not in seen and key not in version["fields"]:
            rows.append(_field_row(key, findings[key][0].get("item", ""), key, version, findings))
    return rows


def _field_row(key: str, item: str, label: str, version: dict[str, Any], findings: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    found = findings.get(key, [])
    severity = "error" if any(f["severity"] == "error" for f in found) else ("warning" if found else None)
    return {
        "key": key,
        "item": item,
        "label": label,
        "value": version["fields"].get(key),
        "provenance": version["provenance"].get(key),
        "findings": found,
        "severity": severity,
    }


def _request_info_prefill(detail: dict[str, Any], t: Any) -> dict[str, str]:
    """The request naming each finding, in English and in French, for the officer to edit before sending."""
    findings = [f for f in detail["findings"] if f["severity"] == "error"] or detail["findings"]
    if not findings:
        return {"en": "", "fr": ""}
    english = [translator("en")("prefill_intro")] + [f"- Item {f['item']}: {f['message_en']}" for f in findings]
    french = [translator("fr")("prefill_intro")] + [f"- Champ {f['item']}\u00a0: {f['message_fr']}" for f in findings]
    return {"en": "\n".join(english), "fr": "\n".join(french)}
