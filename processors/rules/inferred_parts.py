"""Parts C-E beyond item 13 (inferred from the sister form BSF613): required only when set so."""

from parsers.form import Bsf831Form
from processors.findings import Finding, RuleContext, missing

NAME = "inferred_parts"


def check(form: Bsf831Form, context: RuleContext) -> list[Finding]:
    if not context.settings.require_inferred_fields:
        return []
    found = []
    if form.get("g7edi.used") == "yes":
        for key in ("g7edi.software_name", "g7edi.software_vendor"):
            if form.has(key) and not form.get(key):
                found.append(missing(form, key, " when G7-EDI is used", " lorsque l'EDI-G7 est utilisé"))
    if form.has("contact.name") and not form.get("contact.name"):
        found.append(missing(form, "contact.name"))
    if form.has("contact.phone") and not (form.get("contact.phone") or form.get("contact.email")):
        found.append(missing(form, "contact.phone", " (or a contact email address)", " (ou une adresse électronique)"))
    for key in ("certification.date", "certification.name"):
        if form.has(key) and not form.get(key):
            found.append(missing(form, key))
    if form.has("certification.signed") and form.get("certification.signed") != "yes":
        found.append(missing(form, "certification.signed", ": check the certification box", " : cochez la case d'attestation"))
    return found
