"""A built package (wheel) carries the compiled French catalogues: any install speaks French and English."""

from __future__ import annotations

import gettext
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_ships_every_apps_compiled_french_catalogue(tmp_path: Path) -> None:
    # A clean source tree: no compiled catalogue in it (as in a fresh clone or an sdist).
    source = tmp_path / "src-tree"
    shutil.copytree(
        REPO,
        source,
        ignore=shutil.ignore_patterns(
            "*.mo", ".venv", "var", "test-artifacts", ".git", "__pycache__", "*.egg-info", "build", "dist"
        ),
    )
    assert not list(source.rglob("*.mo"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("pacte-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        pos = sorted(
            p.relative_to(source / "src") for p in source.glob("src/pacte/*/locale/fr/LC_MESSAGES/django.po")
        )
        assert len(pos) >= 10
        for po in pos:
            assert str(po.with_suffix(".mo")) in names, po
        catalogue = gettext.GNUTranslations(
            io.BytesIO(archive.read("pacte/consent/locale/fr/LC_MESSAGES/django.mo"))
        )
        assert catalogue.gettext("How to check it") == "Comment le vérifier"
        catalogue = gettext.GNUTranslations(
            io.BytesIO(archive.read("pacte/core/locale/fr/LC_MESSAGES/django.mo"))
        )
        assert catalogue.gettext("My account") != "My account"
