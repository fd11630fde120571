"""Form profiles: one TOML file per known revision of the BSF831, mapping PDF field names to keys."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

PROFILE_DIR = Path(__file__).parent
FIELD_TYPES = ("text", "date", "choice", "yesno", "checkbox")


@dataclass(frozen=True)
class FieldSpec:
    """One form field: its canonical key, its PDF name and how to read and name it."""

    key: str
    pdf: str
    type: str
    item: str
    label_en: str
    label_fr: str
    choices: dict[str, str] = field(default_factory=dict)
    inferred: bool = False
    xfa: str | None = None


@dataclass(frozen=True)
class Profile:
    """One revision of the form."""

    id: str
    title: str
    detect_present: tuple[str, ...]
    detect_absent: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    detect_xfa_present: tuple[str, ...] = ()
    detect_xfa_absent: tuple[str, ...] = ()

    def field(self, key: str) -> FieldSpec:
        for spec in self.fields:
            if spec.key == key:
                return spec
        raise KeyError(key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(spec.key for spec in self.fields)


def load_profile(path: Path) -> Profile:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    specs = []
    for key, raw in data["fields"].items():
        if raw["type"] not in FIELD_TYPES:
            raise ValueError(f"{path.name}: field {key}: unknown type {raw['type']!r}")
        specs.append(
            FieldSpec(
                key=key,
                pdf=raw["pdf"],
                type=raw["type"],
                item=str(raw["item"]),
                label_en=raw["label_en"],
                label_fr=raw["label_fr"],
                choices=dict(raw.get("choices", {})),
                inferred=bool(raw.get("inferred", False)),
                xfa=raw.get("xfa"),
            )
        )
    return Profile(
        id=data["id"],
        title=data["title"],
        detect_present=tuple(data.get("detect_present", ())),
        detect_absent=tuple(data.get("detect_absent", ())),
        fields=tuple(specs),
        detect_xfa_present=tuple(data.get("detect_xfa_present", ())),
        detect_xfa_absent=tuple(data.get("detect_xfa_absent", ())),
    )


@cache
def all_profiles() -> tuple[Profile, ...]:
    """Every known revision, most specific first (more detection fields wins)."""
    profiles = [load_profile(p) for p in sorted(PROFILE_DIR.glob("*.toml"))]
    return tuple(sorted(profiles, key=lambda p: -len(p.detect_present)))


def get_profile(profile_id: str) -> Profile:
    for profile in all_profiles():
        if profile.id == profile_id:
            return profile
    raise KeyError(profile_id)
