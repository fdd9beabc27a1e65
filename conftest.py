"""Fixtures shared by every app's tests: database kind, real Chromium, artefacts folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "test-artifacts"
CHROMIUM = os.environ.get("PACTE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (make test starts one and sets DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords and not _on_postgres():
            item.add_marker(skip_pg)


@pytest.fixture(scope="session")
def on_postgres() -> bool:
    """Tell whether this run is on the PostgreSQL server that make test started."""
    return _on_postgres()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Return the folder where tests keep screenshots and other artefacts (kept after the run)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Launch Debian's Chromium once per session through Playwright."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; Django's ORM calls made by the test
    # itself (fixtures, assertions) are still synchronous, so tell Django they are safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: object) -> Iterator[object]:
    """A fresh browser context and page; every request to a host other than loopback is recorded."""
    context = chromium.new_context(locale="en-GB")  # type: ignore[attr-defined]
    page = context.new_page()
    page.foreign_requests = []  # type: ignore[attr-defined]

    def watch(request: object) -> None:
        url = request.url  # type: ignore[attr-defined]
        if not url.startswith(("http://127.0.0.1", "http://localhost", "data:", "about:")):
            page.foreign_requests.append(url)  # type: ignore[attr-defined]

    page.on("request", watch)
    yield page
    context.close()


class CapturedMail(list):
    """Messages received by the test SMTP server, as ``email.message.EmailMessage`` objects."""

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list:
        import time

        deadline = time.monotonic() + timeout
        while len(self) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self)


@pytest.fixture
def smtp_server(settings: object) -> Iterator[CapturedMail]:
    """A real SMTP server (aiosmtpd) on loopback; Django's SMTP backend is pointed at it."""
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    captured = CapturedMail()

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[attr-defined]
            message.envelope_to = list(envelope.rcpt_tos)  # type: ignore[attr-defined]
            message.peer = tuple(session.peer)  # type: ignore[attr-defined]  # the client's (host, port): its connection
            captured.append(message)
            return "250 Message accepted for delivery"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_HOST = "127.0.0.1"  # type: ignore[attr-defined]
    settings.EMAIL_PORT = port  # type: ignore[attr-defined]
    settings.EMAIL_USE_TLS = False  # type: ignore[attr-defined]
    try:
        yield captured
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _fresh_vault_caches() -> Iterator[None]:
    """Each test starts with no cached master ring, system secret or data key (its databases are new)."""
    from pacte.policy.services import reset_caches as reset_policy_caches
    from pacte.vault.crypto import _process_cache
    from pacte.vault.keyring import reset_caches

    reset_caches()
    reset_policy_caches()
    _process_cache.clear()
    yield
    reset_caches()
    _process_cache.clear()
