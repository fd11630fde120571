"""Why a PDF could not be read, as types the pipeline turns into outcomes.

FormError (core.errors)
├── DamagedPdf        not a PDF, or one too broken to read: the sender is told
├── EncryptedPdf      opens only with a password: the sender is asked for an unprotected copy
└── LimitExceeded     too big, too many pages, or a sandbox limit breached: the attachment is quarantined
"""

from __future__ import annotations

from core.errors import FormError


class DamagedPdf(FormError):
    pass


class EncryptedPdf(FormError):
    pass


class LimitExceeded(FormError):
    pass


class ParserFault(DamagedPdf):
    """The reader failed in a way it does not expect (a bug in it or in pypdf); the file costs one item."""
