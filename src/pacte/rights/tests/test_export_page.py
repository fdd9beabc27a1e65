"""The export's index.html is a page a person reads; every CSV has its header, even when empty."""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile

import pytest
from django.db import transaction

from pacte.accounts.services import user_create
from pacte.consent.services import consent_set
from pacte.ledger.services import entry_append
from pacte.rights import exports
from pacte.subjects.registry import registrations

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)


def _export(lang: str) -> zipfile.ZipFile:
    user = user_create(
        email="ines.moreau@example.fr",
        password="correct horse battery 42",
        name="Inès Moreau",
        birth_date=datetime.date(1988, 3, 14),
        phone="06 12 34 56 78",
        postal_address={"lines": ["8 rue Gamma"], "postcode": "69003", "city": "Lyon", "country": "FR"},
    )
    consent_set(subject_id=user.subject_id, purpose="newsletter", granted=True, source="portal")
    with transaction.atomic():
        entry_append(
            type="disclosure",
            subject_id=user.subject_id,
            actor="system",
            payload={
                "recipient": "stripe",
                "purpose": "payment",
                "categories": ["identity.name", "contact.email"],
            },
        )
    out = io.BytesIO()
    exports.export_write(subject=user.subject, out=out, lang=lang)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def test_the_index_is_a_page_a_person_reads_in_french() -> None:
    page = _export("fr").read("index.html").decode()
    assert "Vos données chez PluSuite.com" in page
    for shown in ("Inès Moreau", "ines.moreau@example.fr", "06 12 34 56 78", "8 rue Gamma", "14 mars 1988"):
        assert shown in page, shown
    assert "Accepté" in page  # the newsletter consent, by its label
    assert "Stripe" in page and "Adresse e-mail" in page  # who received what, in words
    # Dates in words, never raw ISO timestamps; internal names only as file names.
    assert re.search(r"\d{4}-\d{2}-\d{2}T", page) is None and "+00:00" not in page
    assert "consents_current</td>" not in page and "Vos choix de consentement" in page


def test_the_index_in_english() -> None:
    page = _export("en").read("index.html").decode()
    assert "Your data at PluSuite.com" in page and "March 14, 1988" in page and "Agreed" in page
    assert "Who received your data" in page


def test_every_csv_has_its_header_even_when_empty() -> None:
    archive = _export("en")
    for registration in registrations():
        rows = list(csv.reader(io.StringIO(archive.read(f"{registration.kind}.csv").decode())))
        assert rows and rows[0] == list(registration.fields), registration.kind
    organisations = list(csv.reader(io.StringIO(archive.read("organisations.csv").decode())))
    assert len(organisations) == 1  # a header alone: Inès represents no employer
    disclosures = list(csv.reader(io.StringIO(archive.read("disclosures.csv").decode())))
    assert disclosures[0] == ["seq", "time", "type", "actor", "payload"] and len(disclosures) == 2
