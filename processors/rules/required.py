"""Confirmed items 1-13 that every form must fill."""

from parsers.form import Bsf831Form
from processors.findings import Finding, RuleContext, missing

NAME = "required"
FIELDS = (
    "language",
    "application_date",
    "request_type",
    "exporter.provides_customs_services",
    "exporter.legal_name",
    "exporter.business_number",
    "exporter.email",
    "provider.submits_for_exporter",
    "g7edi.used",
)


def check(form: Bsf831Form, context: RuleContext) -> list[Finding]:
    return [missing(form, key) for key in FIELDS if form.has(key) and not form.get(key)]
