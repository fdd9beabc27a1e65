"""Error codes of the rights app (the ``code`` of its ``PacteError``s, stable for API clients)."""

WRONG_PASSWORD = "rights.wrong_password"  # noqa: S105 - an error code
WRONG_WORD = "rights.wrong_confirmation_word"
NOT_READY = "rights.export_not_ready"
EXPIRED = "rights.export_expired"
UNREADABLE = "rights.export_unreadable"
EXTENSION_TOO_LONG = "rights.extension_too_long"
EXTENSION_TOO_LATE = "rights.extension_too_late"
