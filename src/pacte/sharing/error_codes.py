"""Error codes of sharing (the ``code`` of its ``PacteError``s, stable for API clients)."""

CONSENT_MISSING = "sharing.consent_missing"
NO_CATEGORY = "sharing.no_category"
PURPOSE_NOT_RECIPIENTS = "sharing.purpose_not_recipients"
RESTRICTED = "sharing.restricted"
UNKNOWN_RECIPIENT = "sharing.unknown_recipient"
UNKNOWN_SUBJECT = "sharing.unknown_subject"

# The outbound HTTP client (sharing.http).
BAD_URL = "sharing.bad_url"
DISCLOSURE_MISMATCH = "sharing.disclosure_mismatch"
INSECURE_URL = "sharing.insecure_url"
PRIVATE_ADDRESS = "sharing.private_address"
SEND_FAILED = "sharing.send_failed"
UNDECLARED_HOST = "sharing.undeclared_host"

# Operator webhooks (sharing.webhooks).
NOTICE_EVENT = "sharing.notice_event"
UNKNOWN_EVENT = "sharing.unknown_event"
WEBHOOK_INVALID = "sharing.webhook_invalid"
