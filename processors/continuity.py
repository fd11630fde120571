"""Which application a form continues, and what an officer must know about where its code would go.

A business number is printed on invoices: knowing it proves nothing. A form therefore continues an
open application only when it answers one of our notices for that application, or comes from the
same sender as a version already in it. Any other form with that business number opens its own
application, linked to the open one, and both carry a warning. Changes of the address a code would
go to, an existing account for the business number, the mailbox's own address and look-alike
addresses are findings the officer sees before deciding.
"""

from __future__ import annotations

from dataclasses import dataclass

from confusable_homoglyphs import confusables
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from core.db import lock_key
from core.enums import Severity
from core.models import Account, Application, InboundMessage, Notice, Submission
from core.settings import Settings
from parsers.form import Bsf831Form
from processors import states
from processors.findings import Finding, finding
from processors.rules.business_number import normalise_bn

EMAIL = "exporter.email"
NBSP = "\u00a0"
# application fields a version may leave blank: the earlier value is kept, and the officer told
KEPT_WHEN_BLANK = {
    "exporter.legal_name": "legal_name",
    "exporter.email": "exporter_email",
    "exporter.business_number": "exporter_business_number",
}


# asked for every form: built once (building them had cost more than running them)
OPEN_WITH_BN = (
    select(Application)
    .where(Application.exporter_business_number == bindparam("bn"), col(Application.state).in_(states.OPEN_STATES))
    .order_by(col(Application.id).desc())
)
ACCOUNT_WITH_BN = select(Account).where(Account.business_number == bindparam("bn"))


@dataclass(frozen=True)
class Placement:
    """Where a form goes: an open application it continues, or a new one (linked to `related`, if any)."""

    continues: Application | None
    related: Application | None = None


def place(session: Session, row: InboundMessage, form: Bsf831Form) -> Placement:
    threaded = _threaded_application(session, row)
    if threaded is not None:
        return Placement(threaded)
    if not form.exporter_business_number:
        return Placement(None)
    bn = normalise_bn(form.exporter_business_number)
    lock_key(session, f"exporter:{bn}")  # two workers with forms of one exporter: the second sees the first's
    candidate = session.exec(OPEN_WITH_BN, params={"bn": bn}).first()
    if candidate is None:
        return Placement(None)
    if row.sender and row.sender.lower() in senders_of(session, candidate):
        return Placement(candidate)
    return Placement(None, related=candidate)


def senders_of(session: Session, application: Application) -> set[str]:
    """The From addresses of every message that brought a version of the application."""
    rows = session.exec(
        select(InboundMessage.sender)
        .join(Submission, col(Submission.message_id) == InboundMessage.id)
        .where(Submission.application_id == application.id)
    ).all()
    return {sender.lower() for sender in rows if sender}


def _threaded_application(session: Session, row: InboundMessage) -> Application | None:
    """The open application one of our notices in the message's thread was about."""
    thread = " ".join(filter(None, [row.in_reply_to, row.references])).split()
    if not thread:
        return None
    notice = session.exec(select(Notice).where(col(Notice.message_id).in_(thread), col(Notice.application_id).is_not(None))).first()
    if notice is None:
        return None
    application = session.get(Application, notice.application_id)
    return application if application is not None and application.state in states.OPEN_STATES else None


def reference_of(application: Application) -> str:
    return f"CERS-{application.id:06d}"


def related_finding(form: Bsf831Form, other: Application) -> Finding:
    ref = reference_of(other)
    return finding(
        form,
        "exporter.business_number",
        "related_application",
        f"Another open application ({ref}) has this business number but came from a different sender. "
        "The two are linked: check which one the exporter sent before deciding either.",
        f"Une autre demande ouverte ({ref}) porte ce numéro d'entreprise, mais vient d'un autre expéditeur. "
        f"Les deux demandes sont liées{NBSP}: vérifiez laquelle vient de l'exportateur avant de trancher.",
        Severity.warning,
    )


def address_findings(session: Session, settings: Settings, form: Bsf831Form, previous: Application | None) -> list[Finding]:
    """What the officer must see about the address the code would go to."""
    found: list[Finding] = []
    email = (form.exporter_email or "").strip()
    if email and _is_own_mailbox(settings, email):
        found.append(
            finding(
                form,
                EMAIL,
                "own_mailbox",
                "The exporter email is this application mailbox's own address. Give the exporter's own email address.",
                "L'adresse électronique de l'exportateur est celle de cette boîte aux lettres de demandes. "
                "Indiquez l'adresse électronique de l'exportateur.",
            )
        )
    if email and confusables.is_dangerous(email):
        found.append(
            finding(
                form,
                EMAIL,
                "lookalike_email",
                "The exporter email mixes writing systems or uses characters that look like others: check it letter by letter.",
                "L'adresse électronique de l'exportateur mélange des alphabets ou contient des caractères qui en imitent "
                f"d'autres{NBSP}: vérifiez-la lettre par lettre.",
                Severity.warning,
            )
        )
    if previous is not None and previous.exporter_email and email and previous.exporter_email.lower() != email.lower():
        found.append(
            finding(
                form,
                EMAIL,
                "email_changed",
                f"The exporter email changed in this version, from {previous.exporter_email} to {email}: "
                f"the activation code would go to {email}.",
                f"L'adresse électronique de l'exportateur a changé dans cette version, de {previous.exporter_email} à "
                f"{email}{NBSP}: le code d'activation serait envoyé à {email}.",
                Severity.warning,
            )
        )
    account = _account(session, form)
    if account is not None:
        same = bool(email) and account.email.lower() == email.lower()
        goes_en = "to the same address" if same else f"to {email or 'the address on the form'} instead of {account.email}"
        on_form_fr = email or "l'adresse du formulaire"
        goes_fr = "à la même adresse" if same else f"à {on_form_fr} au lieu de {account.email}"
        found.append(
            finding(
                form,
                "exporter.business_number",
                "existing_account",
                f"This business number already has an approved account (authorization ID {account.authorization_id}). "
                f"Approving this application would replace its activation code and send the new one {goes_en}.",
                f"Ce numéro d'entreprise a déjà un compte approuvé (numéro d'autorisation{NBSP}{account.authorization_id}). "
                f"Approuver cette demande remplacerait son code d'activation et enverrait le nouveau {goes_fr}.",
                Severity.warning,
            )
        )
    return found


def blank_findings(form: Bsf831Form, application: Application) -> list[Finding]:
    """A version that leaves a known value blank keeps the earlier one, and says so."""
    found = []
    for key, attribute in KEPT_WHEN_BLANK.items():
        if getattr(application, attribute) and not form.get(key):
            found.append(
                finding(
                    form,
                    key,
                    "blank_in_version",
                    "This item is blank in this version; the application keeps the earlier value.",
                    "Ce champ est vide dans cette version. La demande garde la valeur précédente.",
                    Severity.warning,
                )
            )
    return found


def _is_own_mailbox(settings: Settings, email: str) -> bool:
    own = {settings.smtp.from_address.lower()}
    if "@" in settings.mailbox.username:
        own.add(settings.mailbox.username.lower())
    return email.lower() in own


def _account(session: Session, form: Bsf831Form) -> Account | None:
    if not form.exporter_business_number:
        return None
    return session.exec(ACCOUNT_WITH_BN, params={"bn": normalise_bn(form.exporter_business_number)}).first()
