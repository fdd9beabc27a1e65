"""The public notice: the visitor's language, every section, the version archive."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.test import Client

from pacte.policy.models import PolicyVersion

REPO = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.django_db


def test_notice_in_french_by_default_and_in_english_on_request() -> None:
    fr = Client().get("/privacy/", HTTP_ACCEPT_LANGUAGE="fr")
    assert fr.status_code == 200
    html = fr.content.decode()
    assert '<html lang="fr">' in html
    for heading in ("Qui nous sommes", "Ce que nous collectons", "Qui les reçoit", "Vos droits", "Mineurs"):
        assert heading in html
    en = Client().get("/privacy/", HTTP_ACCEPT_LANGUAGE="en")
    text = en.content.decode()
    assert '<html lang="en">' in text
    for heading in ("Who we are", "What we collect", "Why, and on what legal basis", "How long we keep it",
                    "Who receives it", "Cookies", "Your rights and how to use them", "Minors", "Security",
                    "Changes to this notice"):  # fmt: skip
        assert heading in text
    assert "We never sell or rent your personal data" in text
    assert "Tidio" in text and "newsletter" in text.lower()


def test_each_new_content_is_a_new_version_and_old_versions_stay_visible(settings, tmp_path) -> None:
    path = tmp_path / "policy.toml"
    shutil.copy(REPO / "policies" / "aplusc.toml", path)
    settings.PACTE_POLICY_FILE = str(path)
    Client().get("/privacy/")
    assert PolicyVersion.objects.count() == 1
    Client().get("/privacy/")
    assert PolicyVersion.objects.count() == 1
    path.write_text(path.read_text().replace("minimum_age = 18", "minimum_age = 16"))
    page = Client().get("/privacy/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not meant for people under 16" in page
    versions = list(PolicyVersion.objects.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    archive = Client().get("/privacy/versions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert versions[0].sha256 in archive and versions[1].sha256 in archive
    old = Client().get("/privacy/versions/1/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not meant for people under 18" in old
    assert Client().get("/privacy/versions/99/").status_code == 404
