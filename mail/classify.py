"""What kind of message this is, so robots are never answered (RFC 3834, RFC 6522, RFC 5965).

Robots are found by structure first (a report is a report whatever its sender), then by signals:
the auto-reply headers of RFC 3834 and of vendors, list headers, the local parts that mail systems
and notification services send from, the subjects auto-replies and scanners write, and finally
Mailman's bounce detectors (flufl.bounce) on the body. Every verdict names the signal that decided
it (`Verdict.signal`, stored as `inbound_message.classified_by`).

The rule of doubt: a message without a PDF that shows any sign of being automated is a robot,
recorded for an officer and answered by no one. A message with a PDF is read whatever its headers
say (the pipeline decides whether it holds a BSF831); its answers still obey the same signals
(`no_reply_reason`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value

import structlog
from flufl.bounce import all_failures

from core.enums import MessageKind
from mail.mime import ParsedMessage, decode_header_text

log = structlog.get_logger("intake")

# RFC 6522 reports and their parts; a report of any report-type (or none) is a robot's
REPORT_PARTS = ("message/delivery-status", "message/feedback-report", "message/disposition-notification", "message/global-delivery-status")

# local parts that mail systems, list servers and notification services send from
ROBOT_LOCAL_PART = re.compile(
    r"""^(
        mailer[-_.]?daemon | postmaster | post[-_.]master | mail[-_.]?delivery([-_.]?(system|subsystem|service))?
        | mdaemon | ndr | ndr[-_.].* | bounces? | bounces?[-+_.=].* | .*[-_.]bounces?([-+=].*)?
        | no[-_.]?reply | no[-_.]?reply[-+_.].* | .*[-_.]no[-_.]?reply | do[-_.]?not[-_.]?reply | .*[-_.]do[-_.]?not[-_.]?reply
        | donotreply | notifications? | notify | alerts? | .*[-_.]notifications?
        | auto[-_.]?(reply|responder|response) | vacation
        | listserv | majordomo | owner-.+ | .+-owner | .+-request | .+-help
        | quarantine | .*[-_]quarantine | virusalert | antivirus | amavisd? | mailscanner | clamav | puremessage
        | .*antivirus.* | e500_smtp_mail_service | imss | complaints | fbl | feedback | abuse-reports?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)

AUTO_REPLY_SUBJECT = re.compile(
    r"""^\s*(
        auto(matic|matische|matisk|matico|matique|mated)?[\s_-]*(reply|response|respuesta|antwort|svar|risposta|r[ée]ponse)
        | auto[\s_-]?(reply|response|antwort|svar)? \s*: | autosvar | autoreply | auto:
        | (out|away)\s+(of|from)\s+(the\s+)?office | absence\s+du\s+bureau
        | r[ée]ponse\s+automatique | abwesenheitsnotiz | fuera\s+de\s+la\s+oficina | vacation\s+(reply|notice|message)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
BOUNCE_SUBJECT = re.compile(
    r"""(
        undeliver(able|ed) | non[-\s]?remis | non[-\s]?delivery | delivery\s+(status\s+)?(notification|failure|has\s+failed)
        | delivery\s+failed
        | failure\s+(notice|delivery) | returned\s+mail | mail\s+delivery\s+(failed|failure|problem|subsystem|warning)
        | (could\s+not|couldn't)\s+be\s+delivered | delayed\s+mail | message\s+delayed | not\s+(yet\s+)?been\s+delivered
        | mail\s+not\s+delivered | mail\s+system\s+error | failed\s+mail | message\s+delivery\s+failure
        | undelivered\s+mail | delivery\s+report\s+\(failure\) | complaint\s+about\s+message | abuse\s+report | complaint\s+notification
    )""",
    re.IGNORECASE | re.VERBOSE,
)
SCANNER_SUBJECT = re.compile(
    r"(\bvirus(es)?\b.*\b(found|detected|alert|in\s+mail)|^\s*virus\b|banned\s+(contents?|attachment)|infected|"
    r"message\s+blocked|quarantine|spam\s+(notification|digest)|end\s+user\s+digest)",
    re.IGNORECASE,
)
LIST_HEADERS = ("List-Id", "List-Post", "List-Unsubscribe", "List-Subscribe", "List-Help", "List-Owner", "List-Archive", "Mailing-List")
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Reply", "X-Vacation")


@dataclass(frozen=True)
class Verdict:
    """A message's kind and the signal that decided it (`classified_by`)."""

    kind: MessageKind
    signal: str
    structural: bool = False  # a report: its parts are the robot's, never an applicant's


def report_type(message: Message) -> str | None:
    """The report-type of a multipart/report ('' when missing), None for any other message."""
    if message.get_content_type() != "multipart/report":
        return None
    value = message.get_param("report-type", "")
    if isinstance(value, tuple):  # an RFC 2231 encoded parameter: (charset, language, value)
        value = collapse_rfc2231_value(value)
    return str(value).strip().lower()


def structural_signal(message: Message) -> Verdict | None:
    """A report by its structure (RFC 6522 multipart/report of any type, an ARF or DSN part)."""
    rtype = report_type(message)
    if rtype is not None:
        return Verdict(MessageKind.bounce, f"multipart/report report-type={rtype or '(none)'}", structural=True)
    for part in message.walk():
        if part.get_content_type() in REPORT_PARTS:
            return Verdict(MessageKind.bounce, f"report part {part.get_content_type()}", structural=True)
    return None


def header_signal(parsed: ParsedMessage) -> Verdict | None:
    """RFC 3834 and vendor auto-reply headers, failed-recipient headers, list headers, Precedence, null sender."""
    message = parsed.message
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return Verdict(MessageKind.auto_reply, f"header Auto-Submitted: {auto_submitted[:60]}")
    if message.get("X-Failed-Recipients"):
        return Verdict(MessageKind.bounce, "header X-Failed-Recipients")
    for name in AUTO_REPLY_HEADERS:
        if message.get(name) is not None:
            return Verdict(MessageKind.auto_reply, f"header {name}")
    if str(message.get("X-Apple-Action", "")).strip().lower() == "vacation":
        return Verdict(MessageKind.auto_reply, "header X-Apple-Action: VACATION")
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in ("auto_reply", "auto-reply", "autoreply"):
        return Verdict(MessageKind.auto_reply, f"header Precedence: {precedence}")
    if precedence in ("bulk", "list", "junk"):
        return Verdict(MessageKind.list, f"header Precedence: {precedence}")
    for name in LIST_HEADERS:
        if message.get(name) is not None:
            return Verdict(MessageKind.list, f"header {name}")
    if str(message.get("Return-Path", "")).strip() == "<>":
        return Verdict(MessageKind.auto_reply, "header Return-Path: <> (null sender)")
    return None


def sender_signal(parsed: ParsedMessage) -> Verdict | None:
    """The From local part of a mail system, list server, scanner or notification service."""
    sender = parsed.sender or ""
    local = sender.rpartition("@")[0].strip('"')
    if not local or not ROBOT_LOCAL_PART.match(local):
        return None
    lowered = local.lower()
    if re.match(r"mailer[-_.]?daemon|postmaster|post[-_.]master|mail[-_.]?delivery|mdaemon|ndr|.*bounce", lowered):
        return Verdict(MessageKind.bounce, f"sender {local}@")
    if re.match(r"listserv|majordomo|owner-|.*-(owner|request|help)$", lowered):
        return Verdict(MessageKind.list, f"sender {local}@")
    return Verdict(MessageKind.auto_reply, f"sender {local}@")


def subject_signal(parsed: ParsedMessage) -> Verdict | None:
    """Subjects that auto-replies, bounces and scanners write (English, French and other languages)."""
    subject = decode_header_text(parsed.subject) or ""
    if AUTO_REPLY_SUBJECT.search(subject):
        return Verdict(MessageKind.auto_reply, f"subject {subject[:60]!r}")
    if BOUNCE_SUBJECT.search(subject):
        return Verdict(MessageKind.bounce, f"subject {subject[:60]!r}")
    if SCANNER_SUBJECT.search(subject):
        return Verdict(MessageKind.auto_reply, f"subject {subject[:60]!r} (scanner notice)")
    return None


def body_signal(parsed: ParsedMessage) -> Verdict | None:
    """Mailman's bounce detectors (flufl.bounce) found failed addresses in the body."""
    try:
        temporary, permanent = all_failures(parsed.message)
    except Exception as exc:  # noqa: BLE001 - a detector failing on odd mail is no verdict, never a failed message
        log.warning("bounce detectors failed on a message", error=type(exc).__name__)
        return None
    if temporary or permanent:
        return Verdict(MessageKind.bounce, f"flufl.bounce: {len(permanent)} permanent, {len(temporary)} temporary failure(s)")
    return None


def robot_signal(parsed: ParsedMessage) -> Verdict | None:
    """The first sign that a machine wrote the message (cheap checks only: no body scan)."""
    by_sender = sender_signal(parsed)
    bounce_sender = by_sender if by_sender is not None and by_sender.kind == MessageKind.bounce else None
    return structural_signal(parsed.message) or bounce_sender or header_signal(parsed) or by_sender or subject_signal(parsed)


def classify_message(parsed: ParsedMessage, has_pdf: bool) -> Verdict:
    """The kind and the deciding signal. With a PDF, a robot signal still names a robot kind: the
    pipeline reads the PDFs and keeps the message as a form only when one is a BSF831."""
    found = robot_signal(parsed)
    if found is None and not has_pdf:
        found = body_signal(parsed)
    if found is not None:
        return found
    if has_pdf:
        return Verdict(MessageKind.form, "a PDF attached, no robot sign")
    return Verdict(MessageKind.correspondence, "no PDF, no robot sign")


def classify(parsed: ParsedMessage, has_pdf: bool) -> MessageKind:
    return classify_message(parsed, has_pdf).kind


def no_reply_reason(parsed: ParsedMessage) -> str | None:
    """Why no automatic answer may go to this message, or None: the sender asked (Exchange's
    X-Auto-Response-Suppress) or the message shows a sign of being automated."""
    value = str(parsed.message.get("X-Auto-Response-Suppress", "")).lower()
    if any(token in value for token in ("all", "autoreply", "oof")):
        return "the sender asked for no automatic reply (X-Auto-Response-Suppress)"
    found = robot_signal(parsed)
    return f"the message shows a sign of being automated ({found.signal})" if found else None


def wants_no_auto_reply(parsed: ParsedMessage) -> bool:
    """No automatic answer: asked for by X-Auto-Response-Suppress, or the message looks automated."""
    return no_reply_reason(parsed) is not None
