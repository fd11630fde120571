"""The validation rules, one per module, applied in this order."""

from types import ModuleType

from processors.rules import (
    business_number,
    choices,
    dates,
    email_address,
    inferred_parts,
    part_b,
    phone,
    required,
)

RULES: tuple[ModuleType, ...] = (
    required,
    choices,
    dates,
    business_number,
    email_address,
    part_b,
    inferred_parts,
    phone,
)
