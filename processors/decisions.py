"""Officer decisions: approve, reject, request information. The bot never decides on its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlmodel import Session, select

from core.errors import DecisionError, NotFound
from core.models import Account, Application, AppState, Association, Decision, InboundMessage, Submission, utcnow
from core.settings import Settings
from outbox.compose import queue_notice
from processors import states
from processors.codes import hash_activation_code, new_activation_code, new_authorization_id
from processors.pipeline import reference

log = structlog.get_logger("decisions")


@dataclass(frozen=True)
class Approval:
    application_id: int
    authorization_id: str
    code_expires_at: datetime
    association: str | None


def approve(session: Session, settings: Settings, application_id: int, *, officer: str) -> Approval:
    """Issue the authorization ID and activation code; send them to the form's exporter email only."""
    application = _decidable(session, application_id, officer)
    if application.state != AppState.pending_review:
        raise DecisionError(f"application {application_id} is {application.state.value}: only pending_review can be approved")
    if not application.exporter_email or not application.exporter_business_number:
        raise DecisionError(f"application {application_id} has no exporter email or business number")
    code = new_activation_code()
    expires = utcnow() + timedelta(days=settings.decisions.activation_code_days)
    account = _upsert_account(session, application, hash_activation_code(code), expires)
    states.move(session, application, AppState.approved, actor=officer, action="approve")
    session.add(Decision(application_id=application_id, officer=officer, action="approve"))
    origin = _origin_message(session, application)
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
        kind="activation",
        to=application.exporter_email,
        language=application.language,
        context=context,
        application_id=application_id,
        in_reply_to=origin,
        secret_keys=("activation_code",),
    )
    association = _associate(session, settings, application, origin)
    log.info("application approved", application_id=application_id, officer=officer)
    return Approval(application_id, account.authorization_id, expires, association)


def reject(session: Session, settings: Settings, application_id: int, *, officer: str, reason: str) -> None:
    application = _decidable(session, application_id, officer)
    reason = _required_text(reason, "a reason")
    states.move(session, application, AppState.rejected, actor=officer, action="reject", detail=reason)
    session.add(Decision(application_id=application_id, officer=officer, action="reject", reason=reason))
    _notify_sender(session, settings, application, "rejection", {"reason": reason})
    log.info("application rejected", application_id=application_id, officer=officer)


def request_info(session: Session, settings: Settings, application_id: int, *, officer: str, message: str) -> None:
    application = _decidable(session, application_id, officer)
    message = _required_text(message, "a message")
    states.move(session, application, AppState.needs_info, actor=officer, action="request_info", detail=message)
    session.add(Decision(application_id=application_id, officer=officer, action="request_info", reason=message))
    _notify_sender(session, settings, application, "officer_request", {"message": message})
    log.info("information requested", application_id=application_id, officer=officer)


def _decidable(session: Session, application_id: int, officer: str) -> Application:
    if not officer.strip():
        raise DecisionError("an officer name is required")
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound(f"no application {application_id}")
    return application


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
        select(Association).where(
            Association.exporter_business_number == exporter, Association.provider_business_number == provider
        )
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
            kind="association_confirmation",
            to=application.sender,
            language=application.language,
            context=context,
            application_id=application.id,
            in_reply_to=origin,
        )
    return f"{exporter} ↔ {provider}"


def _notify_sender(session: Session, settings: Settings, application: Application, kind: str, extra: dict) -> None:
    if not application.sender:
        log.warning("no address to notify", application_id=application.id, kind=kind)
        return
    queue_notice(
        session,
        settings.smtp,
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
