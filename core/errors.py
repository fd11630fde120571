"""The project's exceptions, in one tree.

IntakeError
├── SettingsError        bad or missing setting; names the key
├── MailboxError         the IMAP server refused or dropped us
├── SendError            the SMTP server refused or dropped us
│   └── PermanentSendError   a 5xx answer: retrying will not help
├── FormError            a PDF that cannot be read as a BSF831 (the item is quarantined)
├── NotFound             no such application or item
└── DecisionError        an officer decision that the state machine refuses
"""


class IntakeError(Exception):
    """Base of every error cers-intake raises on purpose."""


class SettingsError(IntakeError):
    pass


class MailboxError(IntakeError):
    pass


class SendError(IntakeError):
    pass


class PermanentSendError(SendError):
    pass


class FormError(IntakeError):
    pass


class NotFound(IntakeError):
    pass


class DecisionError(IntakeError):
    pass
