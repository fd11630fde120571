"""What an application page says in words: plain values, the request, the audit trail, the notices as sent."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from console.humane import Clock
from core.models import Notice
from processors.codes import mask_codes

SYSTEM_ACTORS = ("cers-intake", "system", "SYSTEM")


def plain_value(key: str, kind: str, value: Any, language: str) -> str | None:
    """A field's value as an officer reads it: Yes/No, English/French, a written date; None when empty."""
    french = language == "fr"
    if value is None or value == "":
        return None
    if kind in ("yesno", "checkbox") or isinstance(value, bool):
        yes = value is True or str(value).lower() in ("yes", "true", "on", "1")
        if kind == "checkbox":
            return ("Coché" if yes else "Non coché") if french else ("Checked" if yes else "Not checked")
        return ("Oui" if yes else "Non") if french else ("Yes" if yes else "No")
    if key == "language" or (kind == "choice" and str(value) in ("en", "fr")):
        names = {"en": ("English", "Anglais"), "fr": ("French", "Français")}
        pair = names.get(str(value))
        return pair[1 if french else 0] if pair else str(value)
    if kind == "date":
        try:
            return Clock(language, "UTC").day(date.fromisoformat(str(value)[:10]))
        except ValueError:
            return str(value)
    return str(value)


def request_in_words(detail: dict[str, Any], t: Callable[..., str]) -> str:
    """Exporter X (BN) asks for CERS access / provider P asks to report for exporter X."""
    name = detail.get("legal_name") or detail.get("exporter_business_number") or "–"
    if detail.get("provider_business_number"):
        return t("request_association", exporter=name, provider=detail["provider_business_number"])
    return t("request_exporter", exporter=name)


def audit_sentences(events: list[dict[str, Any]], t: Callable[..., str], clock: Clock) -> list[dict[str, Any]]:
    """Each audit row as a sentence: "Approved by a.martin, 29 Nov 2026 14:02", with its detail."""
    sentences = []
    for event in events:
        who = t("the_bot") if event["actor"] in SYSTEM_ACTORS else event["actor"]
        key = f"audit_{event['action']}"
        state = t("state_" + event["to_state"]) if event.get("to_state") else ""
        sentence = t(key, who=who, state=state)
        if sentence == key:  # an action without a sentence of its own
            sentence = t("audit_other", who=who, action=event["action"].replace("_", " "))
        detail = event.get("detail") or ""
        # internal row numbers say nothing to an officer
        if event["action"] in ("application_created", "form_received") and detail.startswith(("message row", "submission")):
            detail = ""
        sentences.append(
            {
                "text": sentence,
                "when": clock.when(event["at"]),
                "iso": clock.iso(event["at"]),
                "detail": mask_codes(detail) if detail else "",
            }
        )
    return sentences


def notices_as_sent(session: Session, application_id: int) -> list[dict[str, Any]]:
    """Every notice of the application with its subject and text as stored, any activation code masked."""
    result = []
    for notice in session.exec(select(Notice).where(Notice.application_id == application_id).order_by(col(Notice.id))):
        body = ""
        try:
            message = email.message_from_bytes(notice.raw, policy=email.policy.default)
            part = message.get_body(("plain",))
            body = part.get_content() if part is not None else ""
        except (ValueError, LookupError, AttributeError):
            body = ""
        result.append(
            {
                "id": notice.id,
                "kind": notice.kind.value,
                "to": notice.to_address,
                "status": notice.status.value,
                "subject": mask_codes(notice.subject),
                "text": mask_codes(body),
                "sent_at": notice.sent_at,
                "created_at": notice.created_at,
            }
        )
    return result
