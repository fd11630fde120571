"""Choice and yes/no items hold one of the values the form offers."""

from parsers.form import Bsf831Form
from processors.findings import Finding, RuleContext, finding

NAME = "choices"


def check(form: Bsf831Form, context: RuleContext) -> list[Finding]:
    found = []
    for spec in form.profile.fields:
        value = form.get(spec.key)
        if spec.type not in ("choice", "yesno") or not value:
            continue
        allowed = set(spec.choices.values())
        if value not in allowed:
            options = ", ".join(sorted(spec.choices))
            found.append(
                finding(
                    form,
                    spec.key,
                    "invalid_choice",
                    f"Choose one of: {options}.",
                    f"Choisissez l'une des réponses : {options}.",
                )
            )
    return found
