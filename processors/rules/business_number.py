"""Business numbers: 9 digits with a valid check digit, the RM program account, a 4-digit reference."""

from __future__ import annotations

import re

from stdnum.ca import bn

from parsers.form import Bsf831Form
from processors.findings import Finding, RuleContext, filled, finding

NAME = "business_number"
FIELDS = ("exporter.business_number", "provider.business_number")
SEPARATORS = re.compile(r"[\s\-.]")


def normalise_bn(value: str) -> str:
    return SEPARATORS.sub("", value).upper()


def problem(value: str) -> tuple[str, str, str] | None:
    """(code, English, French) for what is wrong with a business number, or None when it is valid."""
    number = normalise_bn(value)
    if not re.fullmatch(r"\d{9}[A-Z]{2}\d{4}", number):
        return (
            "bn_format",
            "Give the 15-character business number: 9 digits, RM, then 4 digits (e.g. 123456782RM0001).",
            "Inscrivez le numéro d'entreprise de 15 caractères : 9 chiffres, RM, puis 4 chiffres (p. ex. 123456782RM0001).",
        )
    if number[:9] == "000000000":
        return ("bn_all_zero", "The business number cannot be all zeros.", "Le numéro d'entreprise ne peut pas être composé de zéros.")
    if not bn.is_valid(number):
        return (
            "bn_check_digit",
            "The business number's check digit is wrong: check the first 9 digits.",
            "Le chiffre de contrôle du numéro d'entreprise est erroné : vérifiez les 9 premiers chiffres.",
        )
    if number[9:11] != "RM":
        return (
            "bn_program",
            f"The program account must be RM (export), not {number[9:11]}.",
            f"Le compte de programme doit être RM (exportation), et non {number[9:11]}.",
        )
    return None


def check(form: Bsf831Form, context: RuleContext) -> list[Finding]:
    found = []
    for key, value in filled(form, FIELDS):
        issue = problem(value)
        if issue:
            found.append(finding(form, key, *issue))
    exporter, provider = form.get(FIELDS[0]), form.get(FIELDS[1])
    if form.names_provider and exporter and provider and normalise_bn(exporter) == normalise_bn(provider):
        found.append(
            finding(
                form,
                FIELDS[1],
                "bn_same_as_exporter",
                "The customs service provider's business number must differ from the exporter's (Part A).",
                "Le numéro d'entreprise du fournisseur de services douaniers doit différer de celui de l'exportateur (partie A).",
            )
        )
    return found
