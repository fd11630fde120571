"""The rules a notice's French half must meet, as the Translation Bureau's *Le guide du rédacteur* sets them.

Used by `cers-intake notices check` (for whoever edits a template) and by the tests.
"""

from __future__ import annotations

import re

from outbox.render import SEPARATOR

FORM_TITLE_FR = "Formulaire de demande de déclaration de l'exportateur"
FORM_TITLE_EN = "Exporter reporting application form"
# words that are English and not French: one of them in the French half is a sentence left untranslated
ENGLISH_WORDS = re.compile(
    r"\b(the|and|your|please|officer|reference|application|email|e-mail|sent|yes|hello|form|business|number|code is)\b", re.I
)
BREAKING_BEFORE = re.compile(r"\S( )([:;?!»])")
BREAKING_AFTER = re.compile(r"(«)( )\S")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
URL = re.compile(r"https?://\S+")


def french_half(body: str, lead: str) -> str:
    """The French half of a bilingual plain-text body rendered with `lead` first."""
    first, _, second = body.partition(SEPARATOR[lead])
    return first if lead == "fr" else second


def french_problems(text: str) -> list[str]:
    """What is wrong with a French text: spacing, ISO dates, English words, the form's title."""
    prose = URL.sub("", text)
    found = [f"breaking space before « {m.group(2)} » near {_near(prose, m)!r}" for m in BREAKING_BEFORE.finditer(prose)]
    found += [f"breaking space after « near {_near(prose, m)!r}" for m in BREAKING_AFTER.finditer(prose)]
    found += [f"ISO date in running text: {m.group(0)}" for m in ISO_DATE.finditer(prose)]
    words = sorted({w.lower() for w in ENGLISH_WORDS.findall(prose)})
    if words:
        found.append(f"English words: {', '.join(words)}")
    for title in re.findall(r"Formulaire de demande de déclaration d[^(]*?(?= \(BSF831\))", prose):
        if title != FORM_TITLE_FR:
            found.append(f"the form's title is « {FORM_TITLE_FR} », not « {title} »")
    return found


def english_problems(text: str) -> list[str]:
    prose = URL.sub("", text)
    found = [f"ISO date in running text: {m.group(0)}" for m in ISO_DATE.finditer(prose)]
    for title in re.findall(r"(\w[\w ]*?) \(BSF831\)", prose):
        if title.lower().endswith("form") and FORM_TITLE_EN.lower() not in title.lower():
            found.append(f"the form's title is {FORM_TITLE_EN!r}, not {title!r}")
    return found


def _near(text: str, match: re.Match[str]) -> str:
    return text[max(0, match.start() - 15) : match.end() + 5]
