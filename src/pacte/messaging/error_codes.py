"""Error codes of messaging (the ``code`` of its ``PacteError``s, stable for API clients)."""

BAD_TOKEN = "messaging.bad_token"  # noqa: S105 - an error code
NO_PURPOSE = "messaging.no_purpose"
TOO_MANY = "messaging.too_many"
UNKNOWN_TEMPLATE = "messaging.unknown_template"
