"""What the console calls the project's fixed values (states, roles, notice kinds...): English msgids, translated
where they are shown (`{{ _(STATES[row.state]) }}` in a template, `words.gettext(STATES[state])` in Python)."""

from __future__ import annotations


def N_(message: str) -> str:  # gettext_noop by its conventional name, a keyword of the extraction
    """Marks a msgid for the catalogue without translating it here."""
    return message


STATES = {
    "received": N_("Received"),
    "needs_info": N_("Needs information"),
    "pending_review": N_("Pending review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
}
REQUEST_KINDS = {"exporter": N_("Exporter"), "association": N_("Provider for an exporter")}
REQUEST_KINDS_SHORT = {"exporter": N_("Exporter"), "association": N_("Provider")}
LANGUAGE_NAMES = {"en": N_("English"), "fr": N_("French")}
ROLES = {
    "monitor": N_("Monitor (reads only)"),
    "officer": N_("Officer (decides)"),
    "supervisor": N_("Supervisor (also manages accounts, reopens decisions)"),
}
ROLE_NAMES = {"monitor": N_("monitor"), "officer": N_("officer"), "supervisor": N_("supervisor")}
NOTICE_KINDS = {
    "acknowledgment": N_("Acknowledgment"),
    "missing_information": N_("Missing information"),
    "scanned_form": N_("Scanned form"),
    "not_a_form": N_("Not a form"),
    "encrypted_form": N_("Encrypted form"),
    "unreadable_form": N_("Unreadable form"),
    "pdfs_not_read": N_("PDFs not read"),
    "correspondence_acknowledgment": N_("Correspondence acknowledgment"),
    "correspondence_reply": N_("Reply to correspondence"),
    "officer_request": N_("Request for information"),
    "rejection": N_("Rejection"),
    "activation": N_("Activation code (masked here)"),
    "association_confirmation": N_("Association confirmation"),
    "email_replaced": N_("Address replaced"),
    "alert": N_("Alert"),
}
NOTICE_STATUSES = {
    "pending": N_("waiting to be sent"),
    "sent": N_("sent"),
    "failed": N_("failed"),
    "undeliverable": N_("returned undelivered"),
}
RELATED_REASONS = {
    "same_business_number": N_("same business number"),
    "same_sender": N_("same sender"),
    "same_legal_name": N_("same legal name"),
    "linked": N_("linked when received"),
}
SERVICE_LEVELS = {"overdue": N_("Overdue"), "due_today": N_("Due today")}
HEALTH = {
    "ok": N_("Healthy: the mailbox is polled and mail goes out"),
    "warning": N_("Needs attention"),
    "down": N_("Not healthy: the mailbox is not being polled"),
}
HEALTHZ = {"ok": N_("answers 200 ok"), "stale": N_("answers 503 stale")}
# a decision's name: its button, its confirmation page
ACTIONS = {
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "request_info": N_("Request information"),
    "reissue_code": N_("Reissue the activation code"),
    "reopen": N_("Reopen"),
}

# the templates' globals
NAMES = {
    "STATES": STATES,
    "REQUEST_KINDS": REQUEST_KINDS,
    "REQUEST_KINDS_SHORT": REQUEST_KINDS_SHORT,
    "LANGUAGE_NAMES": LANGUAGE_NAMES,
    "ROLES": ROLES,
    "ROLE_NAMES": ROLE_NAMES,
    "NOTICE_KINDS": NOTICE_KINDS,
    "NOTICE_STATUSES": NOTICE_STATUSES,
    "RELATED_REASONS": RELATED_REASONS,
    "SERVICE_LEVELS": SERVICE_LEVELS,
    "HEALTH": HEALTH,
    "HEALTHZ": HEALTHZ,
    "ACTIONS": ACTIONS,
}
