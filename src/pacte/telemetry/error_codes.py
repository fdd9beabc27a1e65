"""Error codes of telemetry (the ``code`` of its ``PacteError``s, stable for scripts)."""

BAD_DAYS = "telemetry.bad_days"
