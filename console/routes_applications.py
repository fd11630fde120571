"""The queue, one application (fields beside the PDF, versions, mail, notices, audit) and its PDFs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from console.auth import signed_in
from console.humane import Clock
from console.i18n import Words, words
from console.officers import list_officers
from console.page_images import render_pdf, widgets_for
from console.readable import audit_sentences, item_label, notices_as_sent, plain_value, request_in_words
from console.web import console_of, language_of, render, words_of
from core.db import session_scope
from core.enums import AppState
from core.errors import NotFound
from core.models import Application, Officer
from parsers.profiles import get_profile
from processors import reasons
from processors.decisions import claim_holder
from processors.mail_view import version_messages, version_pdf
from processors.queue import REQUEST_KINDS, QueueFilters, application_detail, queue_page, related_applications

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
    related: int | None = None,
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
        related_to=related,
    )
    with session_scope(console.engine) as db:
        try:
            page = queue_page(db, filters, after=after, before=before, page_size=console.settings.console.page_size)
        except NotFound:
            page = queue_page(db, filters, page_size=console.settings.console.page_size)
        names = [o.name for o in list_officers(db)]
        related_to = db.get(Application, related) if related is not None else None
        related_reference = application_detail(db, related)["reference"] if related_to is not None and related is not None else None
    query = {"state": state, "kind": kind, "language": language, "assigned": assigned, "q": q, "related": related or ""}
    return render(
        request,
        "queue.html",
        officer,
        page=page,
        query=query,
        states=list(AppState),
        kinds=REQUEST_KINDS,
        officers=names,
        related_reference=related_reference,
    )


@router.get("/applications/{application_id}")
def application(request: Request, application_id: int, version: int | None = None, officer: Officer = Depends(signed_in)) -> Response:
    console = console_of(request)
    language = language_of(request)
    page_words = words(language)
    clock = Clock(language, console.settings.console.time_zone)
    with session_scope(console.engine) as db:
        try:
            detail = application_detail(db, application_id)
        except NotFound:
            return render(request, "error.html", officer, status_code=404, message=page_words.gettext("Not found."))
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
        standard_texts = [(r.code, r.text_fr if language == "fr" else r.text_en) for r in reasons.list_reasons(db)]
        related = related_applications(db, application_id)
        notices = notices_as_sent(db, application_id)
        try:
            pdf_bytes: bytes | None = version_pdf(db, console.blobs, application_id, shown["submission_id"])[1] if shown else None
        except NotFound:
            pdf_bytes = None
    field_rows = _field_rows(shown, page_words) if shown else []
    images = _page_images(pdf_bytes, field_rows) if pdf_bytes else None
    return render(
        request,
        "application.html",
        officer,
        app=detail,
        shown=shown,
        shown_number=index + 1,
        field_rows=field_rows,
        message=messages.get(shown["submission_id"]) if shown else None,
        holder=holder,
        claim_until=clock.when(claim_until) if claim_until and holder else None,
        related=related,
        notices=notices,
        audit=audit_sentences(detail["audit"], page_words, clock),
        request_words=request_in_words(detail, page_words),
        images=images,
        prefill=_request_info_prefill(detail),
        officers=names,
        standard_texts=standard_texts,
    )


@router.get("/applications/{application_id}/versions/{submission_id}/pages/{number}.png")
def page_image(request: Request, application_id: int, submission_id: int, number: int, officer: Officer = Depends(signed_in)) -> Response:
    """One page of the form as received, drawn on the server."""
    console = console_of(request)
    with session_scope(console.engine) as db:
        try:
            _, data = version_pdf(db, console.blobs, application_id, submission_id)
        except NotFound:
            return Response(status_code=404)
    rendered = render_pdf(data)
    if not 1 <= number <= len(rendered.pages):
        return Response(status_code=404)
    return Response(rendered.pages[number - 1], media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


def _page_images(data: bytes, field_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The pages to show, and on each the fields with findings outlined at their place."""
    rendered = render_pdf(data)
    names: dict[str, str] = {}
    labels: dict[str, dict[str, Any]] = {}
    for row in field_rows:
        if not row["severity"]:
            continue
        for name in (row["pdf_name"], _acroform_name(row["provenance"])):
            if name:
                names.setdefault(name, row["severity"])
                labels[name] = row
    marks: list[list[dict[str, Any]]] = [[] for _ in rendered.pages]
    seen = set()
    for mark in widgets_for(rendered, names):
        widget = mark["widget"]
        row = labels[mark["name"]]
        if widget.page < len(marks) and (widget.page, row["key"]) not in seen:
            seen.add((widget.page, row["key"]))
            marks[widget.page].append({"widget": widget, "severity": mark["severity"], "item": row["item"], "key": row["key"]})
    return {"count": len(rendered.pages), "marks": marks, "error": rendered.error}


def _acroform_name(provenance: Any) -> str | None:
    if isinstance(provenance, str) and provenance.startswith("acroform:"):
        return provenance.removeprefix("acroform:").split(";", 1)[0].strip()
    return None


@router.get("/applications/{application_id}/versions/{submission_id}/pdf")
def pdf(request: Request, application_id: int, submission_id: int, officer: Officer = Depends(signed_in)) -> Response:
    console = console_of(request)
    with session_scope(console.engine) as db:
        try:
            filename, data = version_pdf(db, console.blobs, application_id, submission_id)
        except NotFound:
            return render(request, "error.html", officer, status_code=404, message=words_of(request).gettext("The PDF is not available."))
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'})


def _field_rows(version: dict[str, Any], page_words: Words) -> list[dict[str, Any]]:
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
        label = spec.label_fr if page_words.language == "fr" else spec.label_en
        rows.append(_field_row(spec.key, spec.item, label, version, findings, page_words, spec.type, spec.pdf))
    for key in version["fields"]:
        if key not in seen:
            rows.append(_field_row(key, "", key, version, findings, page_words))
    for key in findings:
        if key not in seen and key not in version["fields"]:
            rows.append(_field_row(key, findings[key][0].get("item", ""), key, version, findings, page_words))
    return rows


def _field_row(
    key: str,
    item: str,
    label: str,
    version: dict[str, Any],
    findings: dict[str, list[dict[str, str]]],
    page_words: Words,
    kind: str = "text",
    pdf_name: str | None = None,
) -> dict[str, Any]:
    found = findings.get(key, [])
    severity = "error" if any(f["severity"] == "error" for f in found) else ("warning" if found else None)
    value = version["fields"].get(key)
    return {
        "key": key,
        "item": item_label(item, page_words),
        "label": label,
        "value": value,
        "plain": plain_value(key, kind, value, page_words),
        "pdf_name": pdf_name,
        "provenance": version["provenance"].get(key),
        "findings": found,
        "severity": severity,
    }


def _request_info_prefill(detail: dict[str, Any]) -> dict[str, str]:
    """The request naming each finding, in English and in French, for the officer to edit before sending."""
    findings = [f for f in detail["findings"] if f["severity"] == "error"] or detail["findings"]
    if not findings:
        return {"en": "", "fr": ""}
    return {language: _prefill_in(words(language), findings) for language in ("en", "fr")}


def _prefill_in(message_words: Words, findings: list[dict[str, Any]]) -> str:
    _ = message_words.gettext
    lines = [_("Please correct the following and send the form again:")]
    for found in findings:
        message = found["message_fr"] if message_words.language == "fr" else found["message_en"]
        lines.append(_("- Item %(item)s: %(message)s", item=item_label(found["item"], message_words), message=message))
    return "\n".join(lines)
