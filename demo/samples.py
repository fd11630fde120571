"""Sample application emails, shaped like the mail clients applicants use."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from demo.forms import fill_form, sample_values

MAILBOX_ADDRESS = "cers-applications@cbsa-asfc.example"


def application_email(
    pdf: bytes,
    *,
    sender: str,
    subject: str = "BSF831 application",
    body: str = "Please find our application form attached.",
    filename: str = "BSF831.pdf",
    content_type: str = "application/pdf",
    to: str = MAILBOX_ADDRESS,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """A multipart/mixed message with the PDF attached, as Thunderbird or Outlook would send it."""
    message = _base(sender, to, subject, extra_headers)
    message.set_content(body)
    maintype, _, subtype = content_type.partition("/")
    message.add_attachment(pdf, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def plain_email(*, sender: str, subject: str, body: str, to: str = MAILBOX_ADDRESS, extra_headers: dict[str, str] | None = None) -> bytes:
    message = _base(sender, to, subject, extra_headers)
    message.set_content(body)
    return message.as_bytes()


def demo_messages() -> list[bytes]:
    """The embedded default's mailbox: a valid form, an incomplete French one, a provider's, a question."""
    return [
        application_email(
            fill_form(sample_values("valid")),
            sender="Claire Roy <claire.roy@erable.example>",
            subject="Application for CERS access",
            filename="BSF831-Erable.pdf",
        ),
        application_email(
            fill_form({**sample_values("incomplete", "bsf831-fr"), "exporter.legal_name": "Bleuets du Lac Inc."}, "bsf831-fr"),
            sender="Luc Tremblay <luc@bleuets.example>",
            subject="Demande d'accès au SCDE",
            body="Bonjour, voici notre formulaire.",
            filename="Demande BSF831 été.pdf",
            content_type="application/octet-stream",
        ),
        application_email(
            fill_form(
                {
                    **sample_values("provider"),
                    "exporter.business_number": "987654324RM0001",
                    "exporter.legal_name": "Maple Syrup Co.",
                    "exporter.email": "accounts@maplesyrup.example",
                }
            ),
            sender="Border Brokers <filings@borderbrokers.example>",
            subject="BSF831 for our client Maple Syrup Co.",
        ),
        plain_email(
            sender="Ahmed Khan <ahmed@northfreight.example>",
            subject="Activation code expired",
            body="Hello, our activation code expired before we used it. Can you send a new one?",
        ),
    ]


def _base(sender: str, to: str, subject: str, extra_headers: dict[str, str] | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or "example")
    for name, value in (extra_headers or {}).items():
        message[name] = value
    return message
