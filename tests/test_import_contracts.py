"""The layer contracts are enforced: lint-imports passes on the code, and fails on a wrong import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tmp_path: Path, wrong: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on a copy of the package with ``wrong`` modules (path → source) added."""
    src = tmp_path / "src"
    shutil.copytree(
        REPO / "src" / "pacte", src / "pacte", ignore=shutil.ignore_patterns("__pycache__", "*.mo")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    for relative, source in wrong.items():
        (src / "pacte" / relative).write_text(source)
    env = dict(os.environ, PYTHONPATH=str(src))
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_code_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        # core is the base: it imports no Pacte app.
        (
            "core/probe.py",
            "from pacte.policy import selectors\n",
            "pacte.core is not allowed to import pacte.policy",
        ),
        # the vault and the ledger do not import one another.
        (
            "vault/probe.py",
            "from pacte.ledger import services\n",
            "pacte.vault is not allowed to import pacte.ledger",
        ),
        # a domain app does not reach into another one's models.
        (
            "rights/probe.py",
            "from pacte.accounts.models import User\n",
            "pacte.rights is not allowed to import pacte.accounts.models",
        ),
        # domain code never imports views.
        (
            "consent/probe.py",
            "from pacte.accounts import views\n",
            "pacte.consent is not allowed to import pacte.accounts.views",
        ),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path: Path, module: str, source: str, broken: str) -> None:
    result = _lint(tmp_path, {module: source})
    assert result.returncode != 0
    assert (
        broken in result.stdout and "pacte." + module.replace("/", ".").removesuffix(".py") in result.stdout
    )


# --- One outbound HTTP client (issue 15): only pacte.sharing.http imports an HTTP library. ---


@pytest.mark.slow
@pytest.mark.parametrize("library", ["httpx", "requests", "urllib3", "aiohttp"])
def test_an_http_library_outside_sharing_http_breaks_the_one_client_contract(
    tmp_path: Path, library: str
) -> None:
    result = _lint(tmp_path, {"messaging/probe.py": f"import {library}\n"})
    assert result.returncode != 0
    assert f"pacte is not allowed to import {library}" in result.stdout
    assert f"pacte.messaging.probe -> {library}" in result.stdout


HTTP_STDLIB = ("urllib.request", "http.client")  # not expressible in import-linter (top-level names only)


def _http_stdlib_imports(root: Path) -> list[str]:
    """Return ``module: imported`` for each import of urllib.request / http.client under ``root``.

    Tests are clients of Pacte's own server (live tests), not outbound integrations: they are skipped.
    """
    import ast

    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if "tests" in relative.parts or relative.as_posix() == "pacte/sharing/http.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            found += [f"{relative}: {name}" for name in names if name in HTTP_STDLIB]
    return found


def test_no_module_but_sharing_http_imports_urllib_request_or_http_client(tmp_path: Path) -> None:
    assert _http_stdlib_imports(REPO / "src" / "pacte") == []
    probe = tmp_path / "pacte" / "messaging"
    probe.mkdir(parents=True)
    (probe / "probe.py").write_text("from urllib import request\nimport http.client as h\n")
    assert _http_stdlib_imports(tmp_path / "pacte") == [
        "pacte/messaging/probe.py: urllib.request",
        "pacte/messaging/probe.py: http.client",
    ]
