"""Fixtures of the telemetry tests: counting turned on, an empty buffer, no salt in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pacte.telemetry import services
from pacte.telemetry.buffer import BUFFER, Buffer

POLICIES = Path(__file__).resolve().parents[4] / "policies"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def telemetry(settings) -> Iterator[Buffer]:
    """Count page views in this test; the buffer is written only when the test flushes it."""
    settings.PACTE_TELEMETRY = True
    settings.PACTE_TELEMETRY_BATCH = 100_000
    settings.PACTE_TELEMETRY_FLUSH_SECONDS = 3600
    settings.PACTE_TELEMETRY_FLUSH_THREAD = False
    BUFFER.reset()
    services.salt_cache_clear()
    yield BUFFER
    BUFFER.reset()
    services.salt_cache_clear()


def consent_mode_policy(tmp_path: Path) -> Path:
    """A copy of A PLUS C's policy where statistics need consent (and so appear in the banner)."""
    text = (POLICIES / "aplusc.toml").read_text()
    statistics = text.index("[purposes.statistics]")
    basis = text.index('legal_basis = "legitimate_interest"', statistics)
    text = (
        text[:basis]
        + 'legal_basis = "consent"\nconsent_required = true'
        + text[basis + len('legal_basis = "legitimate_interest"') :]
    )
    cookie = text.index("[cookies.pacte_stats_optout]")
    category = text.index('category = "strictly_necessary"', cookie)
    text = (
        text[:category] + 'category = "analytics"' + text[category + len('category = "strictly_necessary"') :]
    )
    path = tmp_path / "consent-mode.toml"
    path.write_text(text)
    return path
