"""Text folded for search: lower case without accents.

A search text is folded here, and so is the column it is matched against (application.legal_name_folded,
written with legal_name), so that a LIKE over a plain column answers it: a trigram index on PostgreSQL.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """'Érable Ltée' -> 'erable ltee'."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
