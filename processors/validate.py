"""Applying every rule to a form."""

from __future__ import annotations

from datetime import date

from core.enums import Severity
from core.settings import ValidationSettings
from parsers.form import Bsf831Form
from processors.findings import Finding, RuleContext
from processors.rules import RULES


def validate(form: Bsf831Form, settings: ValidationSettings, today: date | None = None) -> list[Finding]:
    context = RuleContext(settings=settings, today=today or date.today())
    findings = [found for rule in RULES for found in rule.check(form, context)]
    order = {key: index for index, key in enumerate(form.profile.keys)}
    return sorted(findings, key=lambda f: order.get(f.field, len(order)))


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == Severity.error for f in findings)
