"""The contact's telephone number, when given, is a North American number."""

from __future__ import annotations

import re

from core.enums import Severity
from parsers.form import Bsf831Form
from processors.findings import Finding, RuleContext, finding

NAME = "phone"
EXTENSION = re.compile(r"\s*(?:ext\.?|extension|poste|x)\s*\d{1,6}\s*$", re.IGNORECASE)
NANP = re.compile(r"[2-9]\d{2}[2-9]\d{6}")


def is_nanp(value: str) -> bool:
    digits = re.sub(r"[\s().\-+]", "", EXTENSION.sub("", value))
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return bool(NANP.fullmatch(digits))


def check(form: Bsf831Form, context: RuleContext) -> list[Finding]:
    value = form.get("contact.phone")
    if not value or not form.has("contact.phone") or is_nanp(value):
        return []
    return [
        finding(
            form,
            "contact.phone",
            "phone_invalid",
            "The telephone number is not a North American number (NPA-NXX-XXXX).",
            "Le numéro de téléphone n'est pas un numéro nord-américain (NPA-NXX-XXXX).",
            severity=Severity.warning,
        )
    ]
