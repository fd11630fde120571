"""A finding: one problem with a form, named by item number and label, in English and French."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.enums import Severity
from core.models import Application, FindingRow, Submission
from core.settings import ValidationSettings
from parsers.form import Bsf831Form


@dataclass(frozen=True)
class Finding:
    code: str
    field: str
    item: str
    label_en: str
    label_fr: str
    severity: Severity
    message_en: str
    message_fr: str

    def row(self, submission: Submission, application: Application) -> FindingRow:
        """The finding as stored for a version of an application."""
        assert submission.id is not None
        return FindingRow(submission_id=submission.id, application_id=application.id, **self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "field": self.field,
            "item": self.item,
            "label_en": self.label_en,
            "label_fr": self.label_fr,
            "severity": self.severity,
            "message_en": self.message_en,
            "message_fr": self.message_fr,
        }


@dataclass(frozen=True)
class RuleContext:
    settings: ValidationSettings
    today: date


def finding(form: Bsf831Form, key: str, code: str, en: str, fr: str, severity: Severity = Severity.error) -> Finding:
    spec = form.spec(key)
    return Finding(
        code=code,
        field=key,
        item=spec.item,
        label_en=spec.label_en,
        label_fr=spec.label_fr,
        severity=severity,
        message_en=en,
        message_fr=fr,
    )


def missing(form: Bsf831Form, key: str, why_en: str = "", why_fr: str = "") -> Finding:
    return finding(
        form,
        key,
        "required",
        f"This item is required{why_en}.",
        f"Ce champ est obligatoire{why_fr}.",
    )


def filled(form: Bsf831Form, keys: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(key, value) for each of these fields that the form's revision has and the applicant filled."""
    for key in keys:
        value = form.get(key)
        if value and form.has(key):
            yield key, value
