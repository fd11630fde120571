"""The catalogue of standard texts for officers' decisions, in both languages, managed by supervisors."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.errors import DecisionError, NotFound
from core.models import ReasonText, utcnow
from processors.decisions import bilingual_text


def list_reasons(session: Session, *, include_inactive: bool = False) -> list[ReasonText]:
    query = select(ReasonText).order_by(col(ReasonText.code))
    if not include_inactive:
        query = query.where(ReasonText.active == True)  # noqa: E712 - SQL, not Python truth
    return list(session.exec(query))


def reason(session: Session, code: str) -> ReasonText:
    """An active catalogue text by its code; NotFound names the known codes."""
    found = session.exec(select(ReasonText).where(ReasonText.code == code.strip(), ReasonText.active == True)).first()  # noqa: E712
    if found is None:
        known = ", ".join(r.code for r in list_reasons(session)) or "none yet: cers-intake reasons add"
        raise NotFound(f"no standard text {code!r}; known codes: {known}")
    return found


def add_reason(session: Session, code: str, text_en: str, text_fr: str, *, actor: str) -> ReasonText:
    code = code.strip()
    if not code or not code.replace("-", "").replace("_", "").isalnum():
        raise DecisionError("a code is letters, digits, - and _ (for example bn-mismatch)")
    if session.exec(select(ReasonText).where(ReasonText.code == code)).first() is not None:
        raise DecisionError(f"the code {code!r} is taken: edit it instead")
    en, fr = bilingual_text(text_en, text_fr, "the text")
    row = ReasonText(code=code, text_en=en, text_fr=fr, updated_by=actor)
    session.add(row)
    session.flush()
    return row


def edit_reason(
    session: Session, code: str, *, actor: str, text_en: str | None = None, text_fr: str | None = None, active: bool | None = None
) -> ReasonText:
    row = session.exec(select(ReasonText).where(ReasonText.code == code.strip())).first()
    if row is None:
        raise NotFound(f"no standard text {code!r}")
    row.text_en, row.text_fr = bilingual_text(text_en or row.text_en, text_fr or row.text_fr, "the text")
    if active is not None:
        row.active = active
    row.updated_by, row.updated_at = actor, utcnow()
    session.add(row)
    return row
