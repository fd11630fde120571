"""Officer decisions: approve, reject, request information. The bot never decides on its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from core.enums import AppState, DecisionAction, NoticeKind, OfficerRole, Severity
from core.errors import DecisionError, NotFound
from core.models import (
    Account,
    Application,
    Association,
    Decision,
    InboundMessage,
    Officer,
    Submission,
    utcnow,
)
from core.settings import Settings
from outbox.compose import queue_notice
from processors import states
from processors.codes import (
    hash_activation_code,
    new_activation_code,
    new_authorization_id,
)
from processors.pipeline import findings_of, reference

log = structlog.get_logger("decisions")
DECIDING_ROLES = (OfficerRole.officer, OfficerRole.supervisor)


@dataclass(frozen=True)
class Approval:
    application_id: int
    authorization_id: str
    code_expires_at: datetime
    association: str | None
    email: str  # where the activation code goes
    replaced_email: str | None  # the account's earlier address, when this approval replaced it


def code_address(session: Session, application: Application) -> str:
    """Where an activation code for this application goes: what approve and reissue send to, and what they confirm.

    Before approval, the exporter email of the form; once approved, the account's address.
    """
    if application.state == AppState.approved:
        account = account_of(session, application)
        if account is not None:
            return account.email
    return application.exporter_email or ""


def account_of(session: Session, application: Application) -> Account | None:
    if not application.exporter_business_number:
        return None
    return session.exec(select(Account).where(Account.business_number == application.exporter_business_number)).first()


def email_replacement(session: Session, application: Application) -> str | None:
    """The existing account's address that approving this application would replace, if any."""
    account = account_of(session, application)
    if account is None or not application.exporter_email:
        return None
    return account.email if account.email.lower() != application.exporter_email.lower() else None


def approve(session: Session, settings: Settings, application_id: int, *, officer: str, replace_email: bool = False) -> Approval:
    """Issue the authorization ID and activation code; send them to the form's exporter email only.

    Refused while the latest version has an error finding, and when the exporter's existing account
    has another address, unless replace_email says the officer confirmed the change.
    """
    application = _decidable(session, application_id, officer)
    if application.state != AppState.pending_review:
        raise DecisionError(f"application {application_id} is {application.state.value}: only pending_review can be approved")
    if not application.exporter_email or not application.exporter_business_number:
        raise DecisionError(f"application {application_id} has no exporter email or business number")
    errors = [f for f in findings_of(session, application) if f.severity == Severity.error]
    if errors:
        named = ", ".join(sorted({f"item {f.item} ({f.code})" for f in errors}))
        raise DecisionError(f"application {application_id} has error findings: {named}; ask the applicant for a corrected form")
    replaced = email_replacement(session, application)
    if replaced is not None and not replace_email:
        account = account_of(session, application)
        assert account is not None
        raise DecisionError(
            f"business number {application.exporter_business_number} already has an account (authorization ID "
            f"{account.authorization_id}) at {replaced}; approving sends its new code to {application.exporter_email} "
            "instead: confirm the replacement of the address (--replace-email)"
        )
    code = new_activation_code()
    expires = utcnow() + timedelta(days=settings.decisions.activation_code_days)
    account = _upsert_account(session, application, hash_activation_code(code), expires)
    states.move(session, application, AppState.approved, actor=officer, action="approve")
    session.add(Decision(application_id=application_id, officer=officer, action=DecisionAction.approve))
    application.claim_until = None
    origin = _origin_message(session, application)
    _queue_activation(session, settings, application, account, code, expires)
    if replaced is not None:
        _tell_replaced_address(session, settings, application, account, replaced, officer)
    association = _associate(session, settings, application, origin)
    log.info("application approved", application_id=application_id, officer=officer, email_replaced=replaced is not None)
    return Approval(application_id, account.authorization_id, expires, association, account.email, replaced)


def _tell_replaced_address(
    session: Session, settings: Settings, application: Application, account: Account, old: str, officer: str
) -> None:
    """The address an approval replaced hears of it (never the new address, never the code)."""
    states.record(session, application.id, actor=officer, action="account_email_replaced", detail=f"{old} -> {account.email}")
    queue_notice(
        session,
        settings.smtp,
        notices=settings.notices,
        kind=NoticeKind.email_replaced,
        to=old,
        language=application.language,
        context={"reference": reference(application), "authorization_id": account.authorization_id},
        application_id=application.id,
    )


def reject(session: Session, settings: Settings, application_id: int, *, officer: str, reason: str, reason_fr: str = "") -> None:
    """Refuse the application; the applicant reads the officer's reason in both languages."""
    application = _decidable(session, application_id, officer)
    en, fr = bilingual_text(reason, reason_fr, "a reason")
    states.move(session, application, AppState.rejected, actor=officer, action="reject", detail=stored_text(en, fr))
    session.add(Decision(application_id=application_id, officer=officer, action=DecisionAction.reject, reason=stored_text(en, fr)))
    application.claim_until = None
    _notify_sender(session, settings, application, NoticeKind.rejection, {"reason_en": en, "reason_fr": fr})
    log.info("application rejected", application_id=application_id, officer=officer)


def request_info(session: Session, settings: Settings, application_id: int, *, officer: str, message: str, message_fr: str = "") -> None:
    """Ask the applicant for more, in both languages; the application goes back to needs_info."""
    application = _decidable(session, application_id, officer)
    en, fr = bilingual_text(message, message_fr, "a message")
    text = stored_text(en, fr)
    states.move(session, application, AppState.needs_info, actor=officer, action="request_info", detail=text)
    session.add(Decision(application_id=application_id, officer=officer, action=DecisionAction.request_info, reason=text))
    application.claim_until = None
    _notify_sender(session, settings, application, NoticeKind.officer_request, {"message_en": en, "message_fr": fr})
    log.info("information requested", application_id=application_id, officer=officer)


def _decidable(session: Session, application_id: int, officer: str) -> Application:
    if not officer.strip():
        raise DecisionError("an officer name is required")
    # the row stays locked until the decision commits (PostgreSQL), so two decisions cannot interleave
    application = session.get(Application, application_id, with_for_update=True)
    if application is None:
        raise NotFound(f"no application {application_id}")
    holder = claim_holder(application)
    if holder is not None and holder != officer:
        raise DecisionError(f"application {application_id} is claimed by {holder}: only they can decide it until the claim ends")
    return application


def bilingual_text(en: str, fr: str, what: str) -> tuple[str, str]:
    """An officer's text for an applicant, in English and French: refused when either is missing."""
    en, fr = _required_text(en, what), fr.strip()
    if not fr:
        raise DecisionError(f"{what} in French is required too: applicants read every notice in both official languages")
    return en, fr


def stored_text(en: str, fr: str) -> str:
    return f"{en}\n---\n{fr}"


def _required_text(text: str, what: str) -> str:
    if not text.strip():
        raise DecisionError(f"{what} is required")
    return text.strip()


def _upsert_account(session: Session, application: Application, code_hash: str, expires: datetime) -> Account:
    bn = application.exporter_business_number
    account = session.exec(select(Account).where(Account.business_number == bn)).first()
    if account is None:
        account = Account(
            business_number=bn or "",
            email=application.exporter_email or "",
            authorization_id=_unused_authorization_id(session),
            activation_code_hash=code_hash,
            code_expires_at=expires,
            application_id=application.id or 0,
        )
    account.legal_name = application.legal_name
    account.email = application.exporter_email or account.email
    account.activation_code_hash, account.code_expires_at = code_hash, expires
    account.application_id = application.id or account.application_id
    session.add(account)
    session.flush()
    return account


def _unused_authorization_id(session: Session) -> str:
    for _ in range(100):
        candidate = new_authorization_id()
        if session.exec(select(Account.id).where(Account.authorization_id == candidate)).first() is None:
            return candidate
    raise DecisionError("no unused authorization ID found after 100 tries")


def _associate(session: Session, settings: Settings, application: Application, origin: InboundMessage | None) -> str | None:
    provider = application.provider_business_number
    exporter = application.exporter_business_number
    if not provider or not exporter:
        return None
    exists = session.exec(
        select(Association).where(Association.exporter_business_number == exporter, Association.provider_business_number == provider)
    ).first()
    if exists is None:
        session.add(Association(exporter_business_number=exporter, provider_business_number=provider, application_id=application.id or 0))
    states.record(session, application.id, actor="cers-intake", action="associate", detail=f"{exporter} with provider {provider}")
    if application.sender:
        context = {
            "reference": reference(application),
            "legal_name": application.legal_name,
            "exporter_business_number": exporter,
            "provider_business_number": provider,
        }
        queue_notice(
            session,
            settings.smtp,
            notices=settings.notices,
            kind=NoticeKind.association_confirmation,
            to=application.sender,
            language=application.language,
            context=context,
            application_id=application.id,
            in_reply_to=origin,
        )
    return f"{exporter} ↔ {provider}"


def _notify_sender(session: Session, settings: Settings, application: Application, kind: NoticeKind, extra: dict) -> None:
    if not application.sender:
        log.warning("no address to notify", application_id=application.id, kind=kind)
        return
    queue_notice(
        session,
        settings.smtp,
        notices=settings.notices,
        kind=kind,
        to=application.sender,
        language=application.language,
        context={"reference": reference(application), **extra},
        application_id=application.id,
        in_reply_to=_origin_message(session, application),
    )


def _origin_message(session: Session, application: Application) -> InboundMessage | None:
    if application.latest_submission_id is None:
        return None
    submission = session.get(Submission, application.latest_submission_id)
    return session.get(InboundMessage, submission.message_id) if submission else None


# Claims: while an officer holds one, no other officer can decide the application.


def claim_holder(application: Application, now: datetime | None = None) -> str | None:
    """The officer whose claim on the application has not ended, if any."""
    return application.holder(now)


def claim(session: Session, application_id: int, *, officer: str, minutes: float) -> datetime:
    """Hold the application for this officer for `minutes`; refused while another officer holds it."""
    return _hold(session, application_id, holder=officer, actor=officer, minutes=minutes, action="claim")


def take_next(session: Session, *, officer: str, minutes: float, skip: int | None = None) -> int | None:
    """Claim the next application for this officer, in one step, and return its ID (None: nothing to take).

    The one this officer already holds comes first; otherwise the oldest pending_review application
    that no live claim holds and that is assigned to nobody else. Two officers taking at once get two
    different applications: the claim is one conditional UPDATE, and a lost race tries the next one.
    `skip` leaves one application out (the one just decided, whose commit may still be pending).
    """
    now = utcnow()
    pending = col(Application.state) == AppState.pending_review
    order = (col(Application.received_at), col(Application.id))
    others = col(Application.id) != skip if skip is not None else True
    held = session.exec(
        select(col(Application.id))
        .where(pending, others, Application.assigned_officer == officer, col(Application.claim_until) > now)
        .order_by(*order)
    ).first()
    if held is not None:
        claim(session, held, officer=officer, minutes=minutes)
        return held
    free = or_(col(Application.claim_until).is_(None), col(Application.claim_until) <= now)
    mine_or_nobodys = or_(col(Application.assigned_officer).is_(None), col(Application.assigned_officer) == officer)
    for _ in range(5):  # a few rounds of candidates: others may be taking the same ones right now
        candidates = list(
            session.exec(select(col(Application.id)).where(pending, others, free, mine_or_nobodys).order_by(*order).limit(10))
        )
        if not candidates:
            return None
        for candidate in candidates:
            if candidate is None:
                continue
            try:
                claim(session, candidate, officer=officer, minutes=minutes)
            except DecisionError:
                continue
            return candidate
    return None


def assign(session: Session, application_id: int, *, officer: str, to: str, minutes: float) -> datetime:
    """Give the application to another officer, ending any claim on it."""
    to = _required_text(to, "an officer to assign to")
    assignee = session.exec(select(Officer).where(Officer.name == to)).first()
    if assignee is None or not assignee.active or assignee.role not in DECIDING_ROLES:
        raise DecisionError(f"{to} is not an active officer who can decide applications")
    return _hold(session, application_id, holder=to, actor=officer, minutes=minutes, action="assign", force=True)


def release(session: Session, application_id: int, *, officer: str) -> None:
    """End this officer's claim; the application stays assigned to them until someone else claims it."""
    application = _existing(session, application_id)
    if claim_holder(application) != officer:
        raise DecisionError(f"application {application_id} is not claimed by {officer}")
    application.claim_until = None
    session.add(application)
    states.record(session, application_id, actor=officer, action="release")


def _hold(session: Session, application_id: int, *, holder: str, actor: str, minutes: float, action: str, force: bool = False) -> datetime:
    application = _existing(session, application_id)
    if application.state not in states.OPEN_STATES:
        raise DecisionError(f"application {application_id} is {application.state.value}: there is nothing left to decide")
    now = utcnow()
    until = now + timedelta(minutes=minutes)
    current = claim_holder(application, now)
    # one UPDATE with the condition, so two officers claiming at once cannot both win
    condition = col(Application.id) == application_id
    if not force:
        free = or_(col(Application.claim_until).is_(None), col(Application.claim_until) <= now, col(Application.assigned_officer) == holder)
        condition = and_(condition, free)
    result = session.execute(update(Application).where(condition).values(assigned_officer=holder, claim_until=until))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise DecisionError(f"application {application_id} is claimed by {current}: only they can decide it until the claim ends")
    session.expire(application)
    detail = (
        f"to {holder} until {until.isoformat(timespec='minutes')}" if action == "assign" else f"until {until.isoformat(timespec='minutes')}"
    )
    states.record(session, application_id, actor=actor, action=action, detail=detail)
    return until


def _existing(session: Session, application_id: int) -> Application:
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound(f"no application {application_id}")
    return application


def reopen(session: Session, application_id: int, *, officer: str, reason: str) -> None:
    """Take a rejected application back to pending_review (a supervisor's call)."""
    application = _existing(session, application_id)
    if application.state != AppState.rejected:
        raise DecisionError(f"application {application_id} is {application.state.value}: only a rejection can be reopened")
    reason = _required_text(reason, "a reason")
    states.move(session, application, AppState.pending_review, actor=officer, action="reopen", detail=reason)
    session.add(Decision(application_id=application_id, officer=officer, action=DecisionAction.reopen, reason=reason))
    log.info("decision reopened", application_id=application_id, officer=officer)


@dataclass(frozen=True)
class Reissue:
    application_id: int
    authorization_id: str
    code_expires_at: datetime
    email: str  # where the new code goes


def reissue_code(session: Session, settings: Settings, application_id: int, *, officer: str) -> Reissue:
    """A new activation code for an approved exporter (the old one stops working), sent to the form's address."""
    application = _existing(session, application_id)
    if not officer.strip():
        raise DecisionError("an officer name is required")
    if application.state != AppState.approved:
        raise DecisionError(f"application {application_id} is {application.state.value}: only an approved application has a code")
    if application.purged_at is not None:
        raise DecisionError(f"application {application_id} was purged under the retention rules: the exporter applies again")
    account = account_of(session, application)
    if account is None:
        raise DecisionError(f"application {application_id} has no exporter account")
    code = new_activation_code()
    expires = utcnow() + timedelta(days=settings.decisions.activation_code_days)
    account.activation_code_hash, account.code_expires_at = hash_activation_code(code), expires
    session.add(account)
    session.add(Decision(application_id=application_id, officer=officer, action=DecisionAction.reissue_code))
    states.record(session, application_id, actor=officer, action="reissue_code", detail=f"valid until {expires.date().isoformat()}")
    _queue_activation(session, settings, application, account, code, expires)
    log.info("activation code reissued", application_id=application_id, officer=officer)
    application.reissue_needed = False
    session.add(application)
    return Reissue(application_id, account.authorization_id, expires, account.email)


def _queue_activation(
    session: Session, settings: Settings, application: Application, account: Account, code: str, expires: datetime
) -> None:
    """The authorization ID and activation code, to the exporter's email on the form and nowhere else."""
    context = {
        "reference": reference(application),
        "legal_name": application.legal_name,
        "authorization_id": account.authorization_id,
        "activation_code": code,
        "expires_on": expires.date().isoformat(),
    }
    queue_notice(
        session,
        settings.smtp,
        notices=settings.notices,
        kind=NoticeKind.activation,
        to=code_address(session, application),
        language=application.language,
        context=context,
        application_id=application.id,
        in_reply_to=_origin_message(session, application),
        secret_keys=("activation_code",),
    )
