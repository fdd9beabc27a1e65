"""The public transparency report: counts per half-year and kind, never a small number, FR and EN."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from pacte.accounts.services import user_create
from pacte.sharing.authorities import (
    authority_request_approve,
    authority_request_record,
    authority_request_reject,
)
from pacte.sharing.authority_selectors import authority_transparency

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)


def _requests(
    kind: str, day: datetime.date, *, disclosed: int = 0, rejected: int = 0, pending: int = 0
) -> None:
    subject_id = user_create(
        email=f"{uuid.uuid4().hex[:10]}@example.fr", password=None, name="Léa", birth_date=None
    ).subject_id
    for index in range(disclosed + rejected + pending):
        request = authority_request_record(
            authority_name="Préfecture",
            authority_kind=kind,
            legal_basis="Code de la sécurité intérieure",
            reference=f"R-{index}",
            received_on=day,
            subject_ids=[subject_id],
            categories=["identity.name"],
            recorded_by="staff:a",
        )
        if index < disclosed:
            authority_request_approve(request=request, approver="staff:b")
        elif index < disclosed + rejected:
            authority_request_reject(request=request, rejecter="staff:b", reason="Not competent")


def _table(rows: Any) -> list[tuple[Any, ...]]:
    with translation.override("en"):
        return [(r.year, r.half, r.kind, str(r.received), str(r.disclosed), str(r.rejected)) for r in rows]


def test_counts_below_the_threshold_are_never_shown_as_numbers() -> None:
    _requests("police", datetime.date(2026, 2, 1), disclosed=5, rejected=1)
    _requests("police", datetime.date(2026, 6, 30), disclosed=1)  # same half-year
    _requests("police", datetime.date(2025, 7, 1), pending=2)
    _requests("tax", datetime.date(2026, 1, 5), rejected=5)
    assert _table(authority_transparency(threshold=5)) == [
        (2026, 1, "police", "7", "6", "fewer than 5"),
        (2026, 1, "tax", "5", "fewer than 5", "5"),
        (2025, 2, "police", "fewer than 5", "fewer than 5", "fewer than 5"),
    ]
    assert _table(authority_transparency(threshold=1)) == [
        (2026, 1, "police", "7", "6", "1"),
        (2026, 1, "tax", "5", "0", "5"),
        (2025, 2, "police", "2", "0", "0"),
    ]


def test_the_page_uses_the_setting_and_speaks_both_languages(settings: Any) -> None:
    _requests("judicial", datetime.date(2026, 3, 1), disclosed=2)
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/privacy/transparency/").content.decode()
    assert "2026, January to June" in page and "Court or prosecutor" in page
    assert "<td>fewer than 5</td><td>fewer than 5</td><td>fewer than 5</td>" in page
    assert "<td>2</td>" not in page
    settings.PACTE_TRANSPARENCY_THRESHOLD = 2
    page = Client(HTTP_ACCEPT_LANGUAGE="fr").get("/privacy/transparency/").content.decode()
    assert "2026, janvier à juin" in page and "Juridiction ou parquet" in page
    assert "<td>2</td><td>2</td><td>moins de 2</td>" in page
    assert "Rapport de transparence : demandes des autorités" in page


def test_an_empty_report_says_so_and_the_notice_and_footer_link_to_it() -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert (
        "We have received no request from an authority."
        in client.get("/privacy/transparency/").content.decode()
    )
    notice = client.get("/privacy/").content.decode()
    assert notice.count('href="/privacy/transparency/"') == 2  # in the notice and in the footer
    assert 'href="/privacy/transparency/">Transparency report</a>' in client.get("/terms/").content.decode()
