"""Findings about how a form was read (not about what it says): a scan, a flattened form, XFA disagreeing."""

from __future__ import annotations

from core.enums import Severity
from parsers.form import Bsf831Form
from processors.findings import Finding, finding

FORM = "form"  # the finding's field when it is about the whole file
FORM_LABEL = ("BSF831 form", "Formulaire BSF831")


def reading_findings(form: Bsf831Form) -> list[Finding]:
    """A scan asks for the fillable form (an error); a text-layer read and XFA disagreements warn the officer."""
    if form.image_only:
        return [
            _about_file(
                "scanned_form",
                Severity.error,
                "The form was sent as a scanned image, which cannot be read. Please send the fillable PDF form, "
                "filled in and saved (not printed and scanned).",
                "Le formulaire a été envoyé sous forme d'image numérisée, qui ne peut pas être lue. Veuillez "
                "envoyer le formulaire PDF à remplir, rempli et enregistré (non imprimé puis numérisé).",
            )
        ]
    found = []
    if form.lower_confidence:
        found.append(
            _about_file(
                "read_from_text_layer",
                Severity.warning,
                "The form was flattened (printed to PDF or saved without its fields); its values were read from "
                "the page text next to each label. Check them against the PDF.",
                "Le formulaire a été aplati (imprimé en PDF ou enregistré sans ses champs); ses valeurs ont été "
                "lues dans le texte de la page, à côté de chaque libellé. Vérifiez-les dans le PDF.",
            )
        )
    for conflict in form.conflicts:
        found.append(
            finding(
                form,
                conflict.key,
                "xfa_disagrees",
                f"The form's AcroForm value ({conflict.acroform or 'blank'}) differs from its XFA data "
                f"({conflict.xfa or 'blank'}); the AcroForm value was used. Check it against the PDF.",
                f"La valeur AcroForm du formulaire ({conflict.acroform or 'vide'}) diffère de ses données XFA "
                f"({conflict.xfa or 'vide'}); la valeur AcroForm a été retenue. Vérifiez-la dans le PDF.",
                Severity.warning,
            )
        )
    return found


def _about_file(code: str, severity: Severity, en: str, fr: str) -> Finding:
    return Finding(
        code=code, field=FORM, item="", label_en=FORM_LABEL[0], label_fr=FORM_LABEL[1], severity=severity, message_en=en, message_fr=fr
    )
