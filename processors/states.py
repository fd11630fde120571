"""The application state machine: the one place that moves an application, with an audit row each time."""

from __future__ import annotations

from sqlmodel import Session

from core.enums import AppState
from core.errors import DecisionError
from core.models import Application, AuditEvent, utcnow

S = AppState
TRANSITIONS: dict[AppState, frozenset[AppState]] = {
    S.received: frozenset({S.needs_info, S.pending_review}),
    # a resubmission lands in needs_info again (still wrong) or pending_review (now clean)
    S.needs_info: frozenset({S.needs_info, S.pending_review, S.rejected}),
    S.pending_review: frozenset({S.pending_review, S.needs_info, S.approved, S.rejected}),
    S.approved: frozenset(),
    # a supervisor may reopen a rejection; an approval has sent a code, so it stays
    S.rejected: frozenset({S.pending_review}),
}
OPEN_STATES = (S.received, S.needs_info, S.pending_review)


def move(session: Session, application: Application, to: AppState, *, actor: str, action: str, detail: str | None = None) -> None:
    """Move an application to a new state, or raise DecisionError if that move is not allowed."""
    current = application.state
    if to not in TRANSITIONS[current]:
        raise DecisionError(f"application {application.id} is {current.value}: it cannot become {to.value}")
    assert application.id is not None, "an application is stored before it moves"
    application.state = to
    application.updated_at = utcnow()
    session.add(application)
    AuditEvent.write(session, application.id, actor=actor, action=action, detail=detail, from_state=current.value, to_state=to.value)


def record(session: Session, application_id: int | None, *, actor: str, action: str, detail: str | None = None) -> None:
    """An audit row for something that does not change the state."""
    AuditEvent.write(session, application_id, actor=actor, action=action, detail=detail)
