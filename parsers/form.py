"""The typed result of reading a PDF: a BSF831 form, or why it is not one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from parsers.profiles import FieldSpec, Profile


@dataclass(frozen=True)
class Bsf831Form:
    """A BSF831 read from a PDF: canonical values and where each came from.

    Values are normalised text: choices as their canonical value (``en``, ``g7edi``), yes/no and
    checkboxes as ``yes``/``no``; a choice the profile does not know is kept as read. ``None`` is
    an empty field.
    """

    profile: Profile
    method: str
    producer: str | None
    values: Mapping[str, str | None]
    provenance: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def spec(self, key: str) -> FieldSpec:
        return self.profile.field(key)

    def has(self, key: str) -> bool:
        return key in self.profile.keys

    @property
    def revision(self) -> str:
        return self.profile.id

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


@dataclass(frozen=True)
class NotAForm:
    """A readable PDF that is not a BSF831 (an invoice, another form)."""

    reason: str
    producer: str | None = None


ParseResult = Bsf831Form | NotAForm
