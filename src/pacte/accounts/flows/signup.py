"""Sign-up: register a person (or an employer account) and record the consents they ticked.

allauth's sign-up form reaches it through ``AccountAdapter.save_user``; the back office and the API
call it with the same arguments. The verification mail is allauth's (sent after this returns).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import transaction

from pacte.accounts import services
from pacte.accounts.models import AccountKind, User
from pacte.consent.services import consent_set


@transaction.atomic
def signup(
    *,
    email: str,
    password: str | None,
    name: str,
    birth_date: datetime.date | None,
    kind: str = AccountKind.INDIVIDUAL,
    phone: str = "",
    postal_address: dict | None = None,
    organisation: dict | None = None,
    language: str = "",
    consents: Iterable[str] = (),
) -> User:
    """Register the person and grant each purpose in ``consents``, all in one transaction.

    ``consents`` holds only the ticked purposes: an unticked box is silence, and nothing is recorded
    for it. A refusal (minor, employer without the authority warranty, address in use, unknown
    purpose) raises PacteError and leaves no row and no ledger entry.
    """
    user = services.user_register(
        email=email,
        password=password,
        name=name,
        birth_date=birth_date,
        kind=kind,
        phone=phone,
        postal_address=postal_address,
        organisation=organisation,
        language=language,
    )
    for purpose in consents:
        consent_set(subject_id=user.subject_id, purpose=purpose, granted=True, source="signup")
    return user
