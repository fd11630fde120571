"""What an application page says in words: plain values, the request, the audit trail, the notices as sent."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from console.humane import Clock
from console.i18n import Words
from console.vocabulary import LANGUAGE_NAMES, N_, STATES
from core.models import Notice
from processors.codes import mask_codes

SYSTEM_ACTORS = ("cers-intake", "system", "SYSTEM")
# an audit row as a sentence, by its action (processors/states.py and the stages that write rows of an application)
AUDIT_SENTENCES = {
    "application_created": N_("Application opened from an email by %(who)s"),
    "form_received": N_("Form read by %(who)s; now %(state)s"),
    "version_waiting": N_("A new version waits for the decision (%(who)s)"),
    "related_application": N_("A related application was received (%(who)s)"),
    "approve": N_("Approved by %(who)s"),
    "reject": N_("Rejected by %(who)s"),
    "request_info": N_("Information requested by %(who)s"),
    "reopen": N_("Reopened by %(who)s"),
    "claim": N_("Claimed by %(who)s"),
    "release": N_("Released by %(who)s"),
    "assign": N_("Assigned by %(who)s"),
    "reissue_code": N_("New activation code issued by %(who)s"),
    "activation_code_revoked": N_("Activation code revoked by %(who)s"),
    "account_email_replaced": N_("Account address replaced by %(who)s"),
    "associate": N_("Provider associated by %(who)s"),
    "notice_bounced": N_("A notice came back undelivered (%(who)s)"),
    "notice_failed": N_("A notice could not be sent (%(who)s)"),
    "reply_suppressed": N_("An automatic reply was withheld (%(who)s)"),
    "reply_limited": N_("An automatic reply was held back by the daily limit (%(who)s)"),
    "retention_hold": N_("Put on hold by %(who)s (no purge)"),
    "retention_release": N_("Hold released by %(who)s"),
    "access_request_export": N_("Included in an access request's archive by %(who)s"),
}


def plain_value(key: str, kind: str, value: Any, words: Words) -> str | None:
    """A field's value as an officer reads it: Yes/No, English/French, a written date; None when empty."""
    _ = words.gettext
    if value is None or value == "":
        return None
    if kind in ("yesno", "checkbox") or isinstance(value, bool):
        yes = value is True or str(value).lower() in ("yes", "true", "on", "1")
        if kind == "checkbox":
            return _("Checked") if yes else _("Not checked")
        return _("Yes") if yes else _("No")
    if key == "language" or (kind == "choice" and str(value) in ("en", "fr")):
        name = LANGUAGE_NAMES.get(str(value))
        return _(name) if name else str(value)
    if kind == "date":
        try:
            return Clock(words.language, "UTC").day(date.fromisoformat(str(value)[:10]))
        except ValueError:
            return str(value)
    return str(value)


def item_label(item: str, words: Words) -> str:
    """A form item as the officer's language names it: "Part C" is "Partie C" in French; a number stays."""
    part = re.fullmatch(r"Part (\w+)", item or "")
    return words.gettext("Part %(part)s", part=part.group(1)) if part else item


def request_in_words(detail: dict[str, Any], words: Words) -> str:
    """Exporter X (BN) asks for CERS access / provider P asks to report for exporter X."""
    name = detail.get("legal_name") or detail.get("exporter_business_number") or "–"
    if detail.get("provider_business_number"):
        provider = detail["provider_business_number"]
        return words.gettext("Customs service provider %(provider)s asks to report for %(exporter)s", exporter=name, provider=provider)
    return words.gettext("%(exporter)s asks for access to CERS as an exporter", exporter=name)


def audit_sentences(events: list[dict[str, Any]], words: Words, clock: Clock) -> list[dict[str, Any]]:
    """Each audit row as a sentence: "Approved by a.martin, 29 Nov 2026 14:02", with its detail."""
    _ = words.gettext
    sentences = []
    for event in events:
        who = _("the intake bot") if event["actor"] in SYSTEM_ACTORS else event["actor"]
        to_state = event.get("to_state") or ""
        state = _(STATES[to_state]) if to_state in STATES else to_state
        if event["action"] in AUDIT_SENTENCES:
            sentence = _(AUDIT_SENTENCES[event["action"]], who=who, state=state)
        else:  # an action without a sentence of its own
            sentence = _("%(action)s by %(who)s", who=who, action=event["action"].replace("_", " "))
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
