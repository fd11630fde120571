"""Email addresses on the form are valid; the exporter's is where the activation code goes."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from parsers.form import Bsf831Form
from processors.findings import Finding, RuleContext, filled, finding

NAME = "email_address"
FIELDS = ("exporter.email", "contact.email")


def check(form: Bsf831Form, context: RuleContext) -> list[Finding]:
    found = []
    for key, value in filled(form, FIELDS):
        try:
            validate_email(value, check_deliverability=context.settings.check_deliverability)
        except EmailNotValidError as exc:
            found.append(
                finding(
                    form,
                    key,
                    "email_invalid",
                    f"This email address is not valid: {exc}",
                    "Cette adresse électronique n'est pas valide.",
                )
            )
    return found
