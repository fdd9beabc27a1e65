MINOR = "accounts.minor"
EMAIL_TAKEN = "accounts.email_taken"
WRONG_PASSWORD = "accounts.wrong_password"  # noqa: S105 - an error code
AUTHORITY = "accounts.authority_required"
NOT_ADMINISTRATOR = "accounts.not_administrator"
