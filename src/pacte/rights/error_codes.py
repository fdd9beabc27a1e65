WRONG_PASSWORD = "rights.wrong_password"  # noqa: S105 - an error code
WRONG_WORD = "rights.wrong_confirmation_word"
NOT_READY = "rights.export_not_ready"
EXPIRED = "rights.export_expired"
BAD_TRANSITION = "rights.bad_transition"
EXTENSION_TOO_LONG = "rights.extension_too_long"
EXTENSION_TOO_LATE = "rights.extension_too_late"
UNKNOWN_SUBJECT = "rights.unknown_subject"
