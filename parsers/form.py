"""The typed result of reading a PDF: a BSF831 form, or why it is not one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.enums import ReadMethod
from parsers.profiles import FieldSpec, Profile


@dataclass(frozen=True)
class Conflict:
    """A field whose AcroForm value and XFA value differ; the AcroForm value is the one kept."""

    key: str
    acroform: str | None
    xfa: str | None


@dataclass(frozen=True)
class Bsf831Form:
    """A BSF831 read from a PDF: canonical values and where each came from.

    Values are normalised text: choices as their canonical value (``en``, ``g7edi``), yes/no and
    checkboxes as ``yes``/``no``; a choice the profile does not know is kept as read. ``None`` is
    an empty field. ``method`` is one of ``METHODS``; with ``none`` (a scanned page) every value is
    ``None`` and ``revision`` is unknown.
    """

    profile: Profile
    method: ReadMethod
    producer: str | None
    values: Mapping[str, str | None]
    provenance: Mapping[str, str] = field(default_factory=dict)
    conflicts: tuple[Conflict, ...] = ()
    pages: int = 0

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def spec(self, key: str) -> FieldSpec:
        return self.profile.field(key)

    def has(self, key: str) -> bool:
        return key in self.profile.keys

    @property
    def revision(self) -> str | None:
        return None if self.method == ReadMethod.none else self.profile.id

    @property
    def image_only(self) -> bool:
        return self.method == ReadMethod.none

    @property
    def lower_confidence(self) -> bool:
        return self.method == ReadMethod.text_layer

    @property
    def language(self) -> str | None:
        return self.get("language")

    @property
    def exporter_business_number(self) -> str | None:
        return self.get("exporter.business_number")

    @property
    def exporter_email(self) -> str | None:
        return self.get("exporter.email")

    @property
    def names_provider(self) -> bool:
        return self.get("provider.submits_for_exporter") == "yes"


# Why a readable PDF is not a BSF831 to process.
NO_FORM = "no_form"  # no fillable fields and no BSF831 on its pages: an invoice, a letter
OTHER_FORM = "other_form"  # another form (another CBSA form such as BSF947, or any other fillable PDF)
BLANK_FORM = "blank_form"  # a BSF831 with nothing filled in
NOT_A_FORM_KINDS = (NO_FORM, OTHER_FORM, BLANK_FORM)


@dataclass(frozen=True)
class NotAForm:
    """A readable PDF that is not a BSF831 to process (an invoice, another form, a blank BSF831)."""

    reason: str
    producer: str | None = None
    kind: str = NO_FORM
    form_number: str | None = None  # the other form's number when its pages name one (BSF947)
    revision: str | None = None  # for a blank BSF831, which revision it is


ParseResult = Bsf831Form | NotAForm
