"""Dates: readable, not in the future; an old application date is a warning for the officer."""

from __future__ import annotations

from core.enums import Severity
from parsers.form import Bsf831Form
from processors.dates import DateProblem, parse_form_date
from processors.findings import Finding, RuleContext, filled, finding

NAME = "dates"
FIELDS = ("application_date", "certification.date")


def check(form: Bsf831Form, context: RuleContext) -> list[Finding]:
    found = []
    for key, value in filled(form, FIELDS):
        try:
            when = parse_form_date(value)
        except DateProblem as problem:
            found.append(finding(form, key, problem.code, problem.en, problem.fr))
            continue
        if when > context.today:
            found.append(finding(form, key, "date_in_future", "This date is in the future.", "Cette date est dans l'avenir."))
        elif key == "application_date" and (context.today - when).days > context.settings.application_date_warn_days:
            days = context.settings.application_date_warn_days
            found.append(
                finding(
                    form,
                    key,
                    "date_old",
                    f"The application date is more than {days} days ago.",
                    f"La date de la demande remonte à plus de {days} jours.",
                    severity=Severity.warning,
                )
            )
    return found
