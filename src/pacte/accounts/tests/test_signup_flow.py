"""The sign-up flow: the account, its acceptances and the ticked consents, or nothing at all."""

from __future__ import annotations

import datetime

import pytest

from pacte.accounts.flows.signup import signup
from pacte.accounts.models import User
from pacte.consent.models import ConsentState
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.subjects.models import Subject

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"  # noqa: S105 - a test value
ADULT = datetime.date(1990, 5, 17)


def test_signing_up_records_the_acceptances_and_only_the_ticked_consents() -> None:
    user = signup(
        email="camille@example.fr",
        password=PASSWORD,
        name="Camille",
        birth_date=ADULT,
        language="en",
        consents=["newsletter"],
    )
    assert user.check_password(PASSWORD) and user.language == "en"
    assert list(
        ConsentState.objects.filter(subject_id=user.subject_id).values_list("purpose", "granted")
    ) == [("newsletter", True)]
    types = list(
        Entry.objects.filter(subject_id=user.subject_id).order_by("seq").values_list("type", flat=True)
    )
    assert types == ["account.created", "terms.accepted", "policy.accepted", "consent.granted"]


def test_an_unknown_purpose_undoes_the_whole_sign_up() -> None:
    with pytest.raises(PacteError):
        signup(
            email="dominique@example.fr",
            password=PASSWORD,
            name="Dominique",
            birth_date=ADULT,
            consents=["newsletter", "sold_to_brokers"],
        )
    assert not User.objects.exists()
    assert not Subject.objects.exists()
    assert not ConsentState.objects.exists()
    assert not Entry.objects.filter(subject_id__isnull=False).exists()
