"""The fixed vocabularies: each a StrEnum stored as its string (so a new value needs no migration)."""

from __future__ import annotations

import enum


class MessageKind(enum.StrEnum):
    form = "form"  # carries at least one PDF
    correspondence = "correspondence"  # a person wrote, no PDF
    auto_reply = "auto_reply"
    bounce = "bounce"
    list = "list"


class MessageStatus(enum.StrEnum):
    received = "received"  # archived and committed, not processed yet
    processed = "processed"
    quarantined = "quarantined"  # failed max_attempts times; an officer looks at it


class AppState(enum.StrEnum):
    received = "received"
    needs_info = "needs_info"
    pending_review = "pending_review"
    approved = "approved"
    rejected = "rejected"


class NoticeStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    undeliverable = "undeliverable"  # accepted, then bounced back


class OfficerRole(enum.StrEnum):
    monitor = "monitor"  # reads only
    officer = "officer"  # also decides
    supervisor = "supervisor"  # also manages officer accounts and reopens decisions


class SubmissionStatus(enum.StrEnum):
    """What one PDF of a message turned out to be."""

    parsed = "parsed"  # a BSF831 whose fields were read
    scanned = "scanned"  # a BSF831 with no readable fields (an image of the form)
    not_a_form = "not_a_form"
    encrypted = "encrypted"
    unreadable = "unreadable"
    quarantined = "quarantined"  # over a size, page, object or time limit: kept for an officer


class ReadMethod(enum.StrEnum):
    """How a form's fields were read."""

    acroform = "acroform"
    xfa = "xfa"
    text_layer = "text_layer"
    none = "none"  # an image-only (scanned) PDF: nothing was read, nothing is guessed


class Severity(enum.StrEnum):
    error = "error"  # the applicant must fix it
    warning = "warning"  # for the officer's attention only


class DecisionAction(enum.StrEnum):
    approve = "approve"
    reject = "reject"
    request_info = "request_info"
    reopen = "reopen"
    reissue_code = "reissue_code"


class NoticeKind(enum.StrEnum):
    """What an outgoing email is. Every kind but the internal ones has an English and a French template."""

    acknowledgment = "acknowledgment"
    missing_information = "missing_information"
    scanned_form = "scanned_form"
    not_a_form = "not_a_form"
    encrypted_form = "encrypted_form"
    unreadable_form = "unreadable_form"
    pdfs_not_read = "pdfs_not_read"  # more PDFs in one message than processing.max_pdfs_per_message
    correspondence_acknowledgment = "correspondence_acknowledgment"
    correspondence_reply = "correspondence_reply"
    officer_request = "officer_request"
    rejection = "rejection"
    activation = "activation"
    association_confirmation = "association_confirmation"
    email_replaced = "email_replaced"  # to the address an approval replaced
    alert = "alert"  # to the monitor's address, in both languages, written by monitor/alerts.py

    @classmethod
    def templated(cls) -> tuple[NoticeKind, ...]:
        return tuple(kind for kind in cls if kind is not cls.alert)


class ProcessOutcome(enum.StrEnum):
    """What processing one recorded message came to (the ProcessReport field it counts in)."""

    processed = "processed"
    failed = "failed"  # tried again later
    quarantined = "quarantined"  # failed max_attempts times


class SendOutcome(enum.StrEnum):
    """What one attempt to send a notice came to (the SendReport field it counts in)."""

    sent = "sent"
    failed = "failed"  # refused for good
    deferred = "deferred"  # tried again later
    recovered = "recovered"  # found accepted in the journal after a sender died: recorded, not resent
