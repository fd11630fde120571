"""Unit tests for processors/decisions.py and the state machine, on in-memory SQLite (rows seeded directly)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select
from unit_support import memory_engine, parsed

from core.enums import AppState, DecisionAction, NoticeKind, NoticeStatus, OfficerRole
from core.errors import DecisionError, NotFound
from core.models import Account, Application, Association, AuditEvent, Decision, InboundMessage, Notice, Officer, Submission
from core.settings import Settings
from processors import decisions, states
from processors.codes import AUTHORIZATION_ID, activation_code_matches

pytestmark = pytest.mark.unit

SETTINGS = Settings()
EXPORTER_BN = "123456782RM0001"
PROVIDER_BN = "100000009RM0001"
EXPORTER_EMAIL = "exports@erable.example"
SENDER = "claire.roy@erable.example"
CODE = re.compile(r"Activation code: (\S+)")


@pytest.fixture
def db() -> Iterator[Session]:
    with Session(memory_engine()) as session:
        yield session


def seed(
    db: Session,
    *,
    state: AppState = AppState.pending_review,
    provider: str | None = None,
    exporter_email: str | None = EXPORTER_EMAIL,
    bn: str | None = EXPORTER_BN,
    language: str = "en",
) -> int:
    """An application with one version, from one inbound message, as the pipeline leaves it."""
    message = InboundMessage(
        mailbox="applications",
        folder="INBOX",
        uidvalidity=1,
        uid=len(db.exec(select(InboundMessage)).all()) + 1,
        size=100,
        sender=SENDER,
        message_id=f"<m{datetime.now(UTC).timestamp()}@erable.example>",
    )
    db.add(message)
    db.flush()
    application = Application(
        state=state,
        exporter_business_number=bn,
        exporter_email=exporter_email,
        legal_name="Érable Exports Ltée",
        provider_business_number=provider,
        language=language,
        sender=SENDER,
    )
    db.add(application)
    db.flush()
    submission = Submission(message_id=message.id, application_id=application.id, sha256="0" * 64, revision="bsf831-en")  # type: ignore[arg-type]
    db.add(submission)
    db.flush()
    application.latest_submission_id = submission.id
    db.add(application)
    db.commit()
    assert application.id is not None
    return application.id


def audit(db: Session, application_id: int) -> list[tuple[str, str | None, str | None, str]]:
    rows = db.exec(select(AuditEvent).where(AuditEvent.application_id == application_id).order_by(col(AuditEvent.id))).all()
    return [(row.action, row.from_state, row.to_state, row.actor) for row in rows]


def notices(db: Session) -> list[Notice]:
    return list(db.exec(select(Notice).order_by(col(Notice.id))).all())


def state_of(db: Session, application_id: int) -> AppState:
    application = db.get(Application, application_id)
    assert application is not None
    db.refresh(application)
    return application.state


# ---------------------------------------------------------------- approve


def test_approve_moves_to_approved_with_an_audit_row_and_a_decision(db: Session) -> None:
    app_id = seed(db)
    approval = decisions.approve(db, SETTINGS, app_id, officer="oliver")
    db.commit()
    assert state_of(db, app_id) == AppState.approved
    assert audit(db, app_id) == [("approve", "pending_review", "approved", "oliver")]
    [decision] = db.exec(select(Decision)).all()
    assert (decision.application_id, decision.officer, decision.action) == (app_id, "oliver", DecisionAction.approve)
    assert AUTHORIZATION_ID.fullmatch(approval.authorization_id)
    assert approval.association is None
    expected = datetime.now(UTC) + timedelta(days=SETTINGS.decisions.activation_code_days)
    assert abs((approval.code_expires_at - expected).total_seconds()) < 60


def test_approve_sends_the_code_to_the_forms_exporter_email_only(db: Session) -> None:
    app_id = seed(db)
    decisions.approve(db, SETTINGS, app_id, officer="oliver")
    db.commit()
    [notice] = notices(db)
    assert (notice.kind, notice.to_address, notice.status) == (NoticeKind.activation, EXPORTER_EMAIL, NoticeStatus.pending)
    assert notice.application_id == app_id
    message = parsed(notice.raw)
    assert message["To"] == EXPORTER_EMAIL and SENDER not in message["To"]
    # the exporter never saw the sender's message: the code's notice does not thread to it
    assert message["In-Reply-To"] is None and message["Auto-Submitted"] == "auto-generated"


def test_the_activation_code_is_stored_only_as_a_hash(db: Session) -> None:
    app_id = seed(db)
    approval = decisions.approve(db, SETTINGS, app_id, officer="oliver")
    db.commit()
    [notice] = notices(db)
    match = CODE.search(parsed(notice.raw).get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert match, "the activation notice names the code"
    code = match.group(1)
    account = db.exec(select(Account)).one()
    assert account.authorization_id == approval.authorization_id
    assert (account.business_number, account.email, account.application_id) == (EXPORTER_BN, EXPORTER_EMAIL, app_id)
    assert account.activation_code_hash.startswith("sha256:")
    assert activation_code_matches(code, account.activation_code_hash)
    stored = " ".join(str(value) for value in account.model_dump().values())
    assert code not in stored and code.replace("-", "") not in stored
    assert notice.raw_redacted is not None and code.encode() not in notice.raw_redacted


@pytest.mark.parametrize("state", [AppState.received, AppState.needs_info, AppState.approved, AppState.rejected])
def test_only_pending_review_can_be_approved(db: Session, state: AppState) -> None:
    app_id = seed(db, state=state)
    with pytest.raises(DecisionError, match="only pending_review can be approved"):
        decisions.approve(db, SETTINGS, app_id, officer="oliver")
    db.rollback()
    assert state_of(db, app_id) == state
    assert notices(db) == [] and db.exec(select(Account)).all() == []


def test_approving_twice_is_refused(db: Session) -> None:
    app_id = seed(db)
    decisions.approve(db, SETTINGS, app_id, officer="oliver")
    db.commit()
    with pytest.raises(DecisionError):
        decisions.approve(db, SETTINGS, app_id, officer="oliver")


@pytest.mark.parametrize(("email", "bn"), [(None, EXPORTER_BN), (EXPORTER_EMAIL, None)])
def test_approve_needs_the_exporter_email_and_business_number(db: Session, email: str | None, bn: str | None) -> None:
    app_id = seed(db, exporter_email=email, bn=bn)
    with pytest.raises(DecisionError, match="no exporter email or business number"):
        decisions.approve(db, SETTINGS, app_id, officer="oliver")


def test_a_decision_needs_an_officer_and_an_existing_application(db: Session) -> None:
    app_id = seed(db)
    with pytest.raises(DecisionError, match="officer name is required"):
        decisions.approve(db, SETTINGS, app_id, officer="  ")
    with pytest.raises(NotFound):
        decisions.approve(db, SETTINGS, 999, officer="oliver")


def test_a_second_approval_for_the_same_exporter_updates_its_account(db: Session) -> None:
    first = seed(db)
    approval = decisions.approve(db, SETTINGS, first, officer="oliver")
    db.commit()
    old_hash = db.exec(select(Account)).one().activation_code_hash
    second = seed(db)
    again = decisions.approve(db, SETTINGS, second, officer="oliver")
    db.commit()
    account = db.exec(select(Account)).one()
    assert again.authorization_id == approval.authorization_id
    assert account.application_id == second and account.activation_code_hash != old_hash


def test_approving_a_providers_form_records_the_association_and_tells_the_provider(db: Session) -> None:
    app_id = seed(db, provider=PROVIDER_BN)
    approval = decisions.approve(db, SETTINGS, app_id, officer="oliver")
    db.commit()
    assert approval.association == f"{EXPORTER_BN} ↔ {PROVIDER_BN}"
    association = db.exec(select(Association)).one()
    assert (association.exporter_business_number, association.provider_business_number) == (EXPORTER_BN, PROVIDER_BN)
    assert [(n.kind, n.to_address) for n in notices(db)] == [
        (NoticeKind.activation, EXPORTER_EMAIL),
        (NoticeKind.association_confirmation, SENDER),
    ]
    assert ("associate", None, None, "cers-intake") in audit(db, app_id)


# ---------------------------------------------------------------- reject / request_info


def test_reject_moves_to_rejected_and_tells_the_sender_why(db: Session) -> None:
    app_id = seed(db, language="fr")
    decisions.reject(
        db, SETTINGS, app_id, officer="oliver", reason="  Numéro d'entreprise inconnu.  ", reason_fr="  Numéro d'entreprise inconnu.   (fr)"
    )
    db.commit()
    assert state_of(db, app_id) == AppState.rejected
    assert audit(db, app_id) == [("reject", "pending_review", "rejected", "oliver")]
    decision = db.exec(select(Decision)).one()
    assert (decision.action, decision.reason) == (
        DecisionAction.reject,
        "Numéro d'entreprise inconnu.\n---\nNuméro d'entreprise inconnu.   (fr)",
    )
    [notice] = notices(db)
    assert (notice.kind, notice.to_address) == (NoticeKind.rejection, SENDER)
    body = parsed(notice.raw).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Numéro d'entreprise inconnu." in body and f"CERS-{app_id:06d}" in body
    assert db.exec(select(Account)).all() == []


def test_reject_and_request_info_need_their_text(db: Session) -> None:
    app_id = seed(db)
    with pytest.raises(DecisionError, match="a reason is required"):
        decisions.reject(db, SETTINGS, app_id, officer="oliver", reason="   ", reason_fr="    (fr)")
    with pytest.raises(DecisionError, match="a message is required"):
        decisions.request_info(db, SETTINGS, app_id, officer="oliver", message="", message_fr=" (fr)")
    db.rollback()
    assert state_of(db, app_id) == AppState.pending_review and notices(db) == []


def test_request_info_moves_to_needs_info_and_asks_the_sender(db: Session) -> None:
    app_id = seed(db)
    decisions.request_info(
        db, SETTINGS, app_id, officer="oliver", message="Please send the export permit.", message_fr="Please send the export permit. (fr)"
    )
    db.commit()
    assert state_of(db, app_id) == AppState.needs_info
    assert audit(db, app_id) == [("request_info", "pending_review", "needs_info", "oliver")]
    [notice] = notices(db)
    assert (notice.kind, notice.to_address) == (NoticeKind.officer_request, SENDER)
    assert "Please send the export permit." in parsed(notice.raw).get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("decide", ["reject", "request_info"])
def test_an_approved_application_cannot_be_decided_again(db: Session, decide: str) -> None:
    app_id = seed(db, state=AppState.approved)
    with pytest.raises(DecisionError, match="is approved: it cannot become"):
        if decide == "reject":
            decisions.reject(db, SETTINGS, app_id, officer="oliver", reason="late", reason_fr="late (fr)")
        else:
            decisions.request_info(db, SETTINGS, app_id, officer="oliver", message="more", message_fr="more (fr)")
    db.rollback()
    assert state_of(db, app_id) == AppState.approved and audit(db, app_id) == [] and notices(db) == []


def test_a_rejected_application_cannot_be_rejected_again(db: Session) -> None:
    app_id = seed(db, state=AppState.rejected)
    with pytest.raises(DecisionError):
        decisions.reject(db, SETTINGS, app_id, officer="oliver", reason="twice", reason_fr="twice (fr)")


def test_no_sender_means_no_notice_but_the_decision_stands(db: Session) -> None:
    app_id = seed(db)
    application = db.get(Application, app_id)
    assert application is not None
    application.sender = None
    db.add(application)
    db.commit()
    decisions.reject(db, SETTINGS, app_id, officer="oliver", reason="no", reason_fr="no (fr)")
    db.commit()
    assert state_of(db, app_id) == AppState.rejected and notices(db) == []


# ---------------------------------------------------------------- reopen


def test_reopen_takes_a_rejection_back_to_pending_review(db: Session) -> None:
    app_id = seed(db)
    decisions.reject(db, SETTINGS, app_id, officer="oliver", reason="wrong", reason_fr="wrong (fr)")
    decisions.reopen(db, app_id, officer="sam", reason="the number was right")
    db.commit()
    assert state_of(db, app_id) == AppState.pending_review
    assert audit(db, app_id) == [("reject", "pending_review", "rejected", "oliver"), ("reopen", "rejected", "pending_review", "sam")]
    assert [d.action for d in db.exec(select(Decision).order_by(col(Decision.id)))] == [DecisionAction.reject, DecisionAction.reopen]
    assert len(notices(db)) == 1  # reopening tells nobody


def test_an_approval_cannot_be_reopened(db: Session) -> None:
    app_id = seed(db, state=AppState.approved)
    with pytest.raises(DecisionError, match="is approved: only a rejection can be reopened"):
        decisions.reopen(db, app_id, officer="sam", reason="oops")


def test_reopen_needs_a_reason(db: Session) -> None:
    app_id = seed(db, state=AppState.rejected)
    with pytest.raises(DecisionError, match="a reason is required"):
        decisions.reopen(db, app_id, officer="sam", reason=" ")


@pytest.mark.parametrize("state", [AppState.needs_info, AppState.pending_review])
def test_only_a_rejection_can_be_reopened(db: Session, state: AppState) -> None:
    app_id = seed(db, state=state)
    with pytest.raises(DecisionError):
        decisions.reopen(db, app_id, officer="sam", reason="reopen")


# ---------------------------------------------------------------- claims


def test_claim_holds_the_application_for_the_officer(db: Session) -> None:
    app_id = seed(db)
    until = decisions.claim(db, app_id, officer="oliver", minutes=30)
    db.commit()
    application = db.get(Application, app_id)
    assert application is not None
    assert application.assigned_officer == "oliver"
    assert decisions.claim_holder(application) == "oliver"
    assert timedelta(minutes=29) < until - datetime.now(UTC) <= timedelta(minutes=30)
    assert [row[0] for row in audit(db, app_id)] == ["claim"]


def test_another_officer_can_neither_claim_nor_decide_a_claimed_application(db: Session) -> None:
    app_id = seed(db)
    decisions.claim(db, app_id, officer="oliver", minutes=30)
    db.commit()
    with pytest.raises(DecisionError, match="claimed by oliver"):
        decisions.claim(db, app_id, officer="rita", minutes=30)
    with pytest.raises(DecisionError, match="claimed by oliver"):
        decisions.approve(db, SETTINGS, app_id, officer="rita")
    db.rollback()
    decisions.claim(db, app_id, officer="oliver", minutes=60)  # the holder may renew
    decisions.approve(db, SETTINGS, app_id, officer="oliver")
    db.commit()
    application = db.get(Application, app_id)
    assert application is not None and application.state == AppState.approved and application.claim_until is None


def test_an_expired_claim_holds_nothing(db: Session) -> None:
    app_id = seed(db)
    decisions.claim(db, app_id, officer="oliver", minutes=30)
    db.commit()
    application = db.get(Application, app_id)
    assert application is not None
    assert decisions.claim_holder(application, now=datetime.now(UTC) + timedelta(minutes=31)) is None
    application.claim_until = datetime.now(UTC) - timedelta(minutes=1)
    db.add(application)
    db.commit()
    decisions.claim(db, app_id, officer="rita", minutes=30)
    db.commit()
    db.refresh(application)
    assert decisions.claim_holder(application) == "rita"


def test_release_ends_only_ones_own_claim(db: Session) -> None:
    app_id = seed(db)
    decisions.claim(db, app_id, officer="oliver", minutes=30)
    db.commit()
    with pytest.raises(DecisionError, match="not claimed by rita"):
        decisions.release(db, app_id, officer="rita")
    decisions.release(db, app_id, officer="oliver")
    db.commit()
    application = db.get(Application, app_id)
    assert application is not None and decisions.claim_holder(application) is None
    decisions.approve(db, SETTINGS, app_id, officer="rita")


@pytest.mark.parametrize("state", [AppState.approved, AppState.rejected])
def test_a_decided_application_cannot_be_claimed(db: Session, state: AppState) -> None:
    app_id = seed(db, state=state)
    with pytest.raises(DecisionError, match="nothing left to decide"):
        decisions.claim(db, app_id, officer="oliver", minutes=30)


def test_assign_overrides_a_claim(db: Session) -> None:
    app_id = seed(db)
    db.add(Officer(name="rita", role=OfficerRole.officer, password_hash="x"))
    decisions.claim(db, app_id, officer="oliver", minutes=30)
    decisions.assign(db, app_id, officer="sam", to="rita", minutes=30)
    db.commit()
    application = db.get(Application, app_id)
    assert application is not None and decisions.claim_holder(application) == "rita"
    assert audit(db, app_id)[-1][0] == "assign" and audit(db, app_id)[-1][3] == "sam"


# ---------------------------------------------------------------- reissue


def test_reissue_replaces_the_code_and_the_old_one_stops_matching(db: Session) -> None:
    app_id = seed(db)
    decisions.approve(db, SETTINGS, app_id, officer="oliver")
    db.commit()
    first_code = CODE.search(parsed(notices(db)[0].raw).get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert first_code
    reissue = decisions.reissue_code(db, SETTINGS, app_id, officer="oliver")
    db.commit()
    account = db.exec(select(Account)).one()
    assert reissue.authorization_id == account.authorization_id
    assert not activation_code_matches(first_code.group(1), account.activation_code_hash)
    second = notices(db)[-1]
    second_code = CODE.search(parsed(second.raw).get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert second_code and activation_code_matches(second_code.group(1), account.activation_code_hash)
    assert (second.kind, second.to_address) == (NoticeKind.activation, EXPORTER_EMAIL)
    assert state_of(db, app_id) == AppState.approved


def test_reissue_only_for_an_approved_application(db: Session) -> None:
    app_id = seed(db)
    with pytest.raises(DecisionError, match="only an approved application has a code"):
        decisions.reissue_code(db, SETTINGS, app_id, officer="oliver")


# ---------------------------------------------------------------- the state machine


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (AppState.received, AppState.approved),
        (AppState.received, AppState.rejected),
        (AppState.approved, AppState.pending_review),
        (AppState.rejected, AppState.approved),
        (AppState.rejected, AppState.needs_info),
    ],
)
def test_illegal_moves_are_refused_and_leave_no_audit(db: Session, start: AppState, to: AppState) -> None:
    app_id = seed(db, state=start)
    application = db.get(Application, app_id)
    assert application is not None
    with pytest.raises(DecisionError, match=f"cannot become {to.value}"):
        states.move(db, application, to, actor="test", action="move")
    assert application.state == start and audit(db, app_id) == []
