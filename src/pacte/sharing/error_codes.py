"""Error codes of sharing (the ``code`` of its ``PacteError``s, stable for API clients)."""

CONSENT_MISSING = "sharing.consent_missing"
NO_CATEGORY = "sharing.no_category"
PURPOSE_NOT_RECIPIENTS = "sharing.purpose_not_recipients"
RESTRICTED = "sharing.restricted"
UNKNOWN_RECIPIENT = "sharing.unknown_recipient"
UNKNOWN_SUBJECT = "sharing.unknown_subject"
