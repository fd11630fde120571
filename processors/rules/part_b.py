"""Part B: a customs service provider named for the exporter (items 8-12)."""

from parsers.form import Bsf831Form
from processors.findings import Finding, RuleContext, missing

NAME = "part_b"
WHEN_EN = " when item 8 is Yes"
WHEN_FR = " lorsque la réponse à la question 8 est Oui"


def check(form: Bsf831Form, context: RuleContext) -> list[Finding]:
    if not form.names_provider:
        return []
    found = [missing(form, key, WHEN_EN, WHEN_FR) for key in ("provider.legal_name", "provider.business_number") if not form.get(key)]
    if form.get("request_type") == "g7edi" and not form.get("provider.licence_number"):
        found.append(
            missing(
                form,
                "provider.licence_number",
                " for a G7-EDI association when item 8 is Yes",
                " pour une association EDI-G7 lorsque la réponse à la question 8 est Oui",
            )
        )
    return found
