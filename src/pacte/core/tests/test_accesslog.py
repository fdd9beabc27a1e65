"""Logs carry no secret-bearing path: reset keys, confirmation and unsubscribe tokens, UUIDs, admin ids."""

from __future__ import annotations

import contextlib
import io
import logging
import quopri
import re
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client
from gunicorn.config import Config
from tests.live import Browser, pacte

from pacte.core.accesslog import RedactingLogger, RedactPathsFilter, redact_path, redact_text, redact_url
from pacte.core.tests.test_serve import _free_port, start_serve, stop_serve

UUID = "7d1f0d8e-3c1b-4a4e-9a49-2b7d3f1e5c6a"
RESET_KEY = "3f-c4x9ab-0f1e2d3c4b5a69788796"  # <uidb36>-<timestamp>-<hmac>, as allauth mails it
SIGNED = ".eJyrVipWslIqSk1RqgUAHs0EUg:1vQx9Z:Zq8Jx3k2LmN0pQrStUvWxYzAbCdEfGhIjKl"  # django.core.signing


@pytest.mark.parametrize(
    ("path", "redacted"),
    [
        (f"/accounts/password/reset/key/{RESET_KEY}/", "/accounts/password/reset/key/:token/"),
        ("/accounts/password/reset/key/3f-set-password/", "/accounts/password/reset/key/:token/"),
        # allauth's key pattern is ".+": a key with "/" in it is redacted to the end.
        ("/accounts/password/reset/key/3f-abc/def/ghi/", "/accounts/password/reset/key/:token/"),
        ("/accounts/password/reset/key/done/", "/accounts/password/reset/key/done/"),
        ("/accounts/confirm-email/MQ:1vQx9Z:abcdefghijklmnopqrstu/", "/accounts/confirm-email/:token/"),
        ("/accounts/confirm-email/short/", "/accounts/confirm-email/:token/"),
        (f"/newsletter/confirm/{SIGNED}/", "/newsletter/confirm/:token/"),
        (f"/u/{SIGNED}/", "/u/:token/"),
        ("/u/abc/", "/u/:token/"),
        (f"/api/v1/subjects/{UUID}/consents", "/api/v1/subjects/:id/consents"),
        (f"/api/v1/subjects/{UUID}/consents/newsletter", "/api/v1/subjects/:id/consents/newsletter"),
        ("/api/v1/subjects/jane@example.com/consents", "/api/v1/subjects/:id/consents"),
        (f"/account/data/{UUID}/download/", "/account/data/:id/download/"),
        (f"/account/organisation/{UUID}/", "/account/organisation/:id/"),
        (f"/account/organisation/{UUID.replace('-', '').upper()}/", "/account/organisation/:id/"),
        ("/admin/accounts/user/42/change/", "/admin/accounts/user/:id/change/"),
        (f"/admin/consent/consentstate/{UUID}/delete/", "/admin/consent/consentstate/:id/delete/"),
        ("/admin/auth/user/42/password/", "/admin/auth/user/:id/password/"),
        ("/admin/r/12/34/", "/admin/r/:id/:id/"),
        ("/admin/accounts/user/add/", "/admin/accounts/user/add/"),
        ("/admin/login/?next=/admin/accounts/user/42/", "/admin/login/?:query"),
        # Any other token-looking segment, wherever it is.
        ("/somewhere/0123456789abcdef0123456789abcdef01234567/", "/somewhere/:token/"),  # sha1 hex
        ("/somewhere/AbCdEfGh_IjKl-MnOp1234qRsT/x", "/somewhere/:token/x"),
        ("/somewhere/a:b/", "/somewhere/a:b/"),  # short: not a token
        ("/somewhere/jane.doe@example.com/", "/somewhere/:email/"),
        (f"/exports/export-{UUID}.zip", "/exports/export-:id.zip"),
        # Ordinary pages stay readable.
        ("/", "/"),
        ("/healthz", "/healthz"),
        ("/privacy/versions/3/", "/privacy/versions/3/"),
        ("/accounts/password/reset/", "/accounts/password/reset/"),
        ("/accounts/login/code/confirm/", "/accounts/login/code/confirm/"),
        ("/newsletter/confirm/", "/newsletter/confirm/"),
        ("/static/pacte/app.3f2a9c1b7e4d.css", "/static/pacte/app.3f2a9c1b7e4d.css"),
        ("/a-long-page-slug-without-any-digit/", "/a-long-page-slug-without-any-digit/"),
    ],
)
def test_redact_path(path: str, redacted: str) -> None:
    assert redact_path(path) == redacted
    assert redact_path(redacted) == redacted  # redacting twice changes nothing


def test_redact_url_keeps_scheme_and_host_and_drops_the_query() -> None:
    assert redact_url(f"https://pacte.example/u/{SIGNED}/?e=jane@example.com") == (
        "https://pacte.example/u/:token/?:query"
    )
    assert redact_url("-") == "-"


def test_redact_text_finds_paths_in_messages_and_tracebacks() -> None:
    text = (
        f"Not Found: /u/{SIGNED}/\n"
        f"django.urls.exceptions.Resolver404: {{'tried': [], 'path': 'api/v1/subjects/{UUID}/consents'}}\n"
        '  File "/srv/pacte/.venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55'
    )
    assert redact_text(text) == (
        "Not Found: /u/:token/\n"
        "django.urls.exceptions.Resolver404: {'tried': [], 'path': 'api/v1/subjects/:id/consents'}\n"
        '  File "/srv/pacte/.venv/lib/python3.11/site-packages/django/core/handlers/exception.py", line 55'
    )


def _capture(logger: logging.Logger) -> tuple[io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    return stream, handler


def test_the_filter_redacts_message_arguments_and_the_traceback() -> None:
    logger = logging.getLogger("pacte.tests.accesslog")
    logger.propagate = False
    stream, handler = _capture(logger)
    handler.addFilter(RedactPathsFilter())
    try:
        try:
            raise ValueError(f"no export /account/data/{UUID}/download/")
        except ValueError:
            logger.exception("Internal Server Error: %s", f"/newsletter/confirm/{SIGNED}/")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert output.startswith("ERROR Internal Server Error: /newsletter/confirm/:token/\nTraceback")
    assert "ValueError: no export /account/data/:id/download/" in output
    assert UUID not in output and SIGNED not in output


@pytest.mark.django_db
def test_django_request_warnings_carry_no_token_once_the_filter_is_attached() -> None:
    logger = logging.getLogger("django.request")
    stream, handler = _capture(logger)
    handler.addFilter(RedactPathsFilter())  # as LOGGING does it on the console handler
    try:
        Client().get(f"/nothing/here/{SIGNED}/{UUID}/")
        Client().get(f"/api/v1/subjects/{UUID}/consents")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == (
        "WARNING Not Found: /nothing/here/:token/:id/\nWARNING Unauthorized: /api/v1/subjects/:id/consents\n"
    )


def test_gunicorn_access_log_redacts_the_request_and_drops_headers_and_query() -> None:
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set(
        "access_log_format",
        '"%(m)s %(U)s" "%(r)s" q=%(q)s ref=%(f)s user=%(u)s cookie=%({cookie}i)s loc=%({location}o)s',
    )
    log = RedactingLogger(cfg)
    stream, handler = _capture(log.access_log)
    log.access_log.removeHandler(log.access_log.handlers[0])  # gunicorn's own stdout handler
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/u/{SIGNED}/",
        "RAW_URI": f"/u/{SIGNED}/?e=jane@example.com",
        "QUERY_STRING": "e=jane@example.com",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://mail.example/read/{UUID}?m=1",
        "HTTP_AUTHORIZATION": "Basic amFuZUBleGFtcGxlLmNvbTpzZWNyZXQ=",  # jane@example.com:secret
    }
    resp = SimpleNamespace(
        status="302 Found", sent=0, headers=[("Location", f"/accounts/password/reset/key/{RESET_KEY}/")]
    )
    req = SimpleNamespace(headers=[("COOKIE", "sessionid=abc"), ("REFERER", environ["HTTP_REFERER"])])
    log.access(resp, req, environ, timedelta(seconds=0, microseconds=1500))
    assert stream.getvalue() == (
        'INFO "GET /u/:token/" "GET /u/:token/?:query HTTP/1.1" q=:query '
        "ref=https://mail.example/read/:id?:query user=- cookie=- loc=-\n"
    )


@pytest.mark.slow
def test_a_real_serve_logs_no_token_and_no_uuid(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    proc = start_serve(tmp_path, port, log)
    long_token = "Zq8Jx3k2LmN0pQrStUvWxYzAbCdEfGhIjKl0123456789"
    paths = [
        f"/accounts/password/reset/key/{RESET_KEY}/?email=jane@example.com",
        f"/u/{long_token}/",
        f"/api/v1/subjects/{UUID}/consents",
    ]
    try:
        for path in paths:
            with contextlib.suppress(urllib.error.HTTPError):  # 404, 401: the log line is what matters
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).close()
    finally:
        stop_serve(proc)
    output = log.read_text()
    for secret in (RESET_KEY, "3f-c4x9ab", long_token, UUID, "jane@example.com"):
        assert secret not in output
    assert '"GET /accounts/password/reset/key/:token/" ' in output
    assert '"GET /u/:token/" ' in output
    assert '"GET /api/v1/subjects/:id/consents" 401' in output
    assert "Unauthorized: /api/v1/subjects/:id/consents" in output


CUSTOMER_SCRIPT = """
from pacte.accounts.services import user_create
from pacte.messaging.services import unsubscribe_token
user = user_create(email="jane.doe@example.org", password="correct horse battery 42", birth_date=None, name="Jane Doe")
print(user.subject_id)
print(unsubscribe_token(subject_id=user.subject_id, purpose="newsletter"))
"""


def _wait_for_mail(spool: Path, marker: str) -> str:
    """The text of the first spooled mail holding ``marker`` (the worker sends it from the outbox)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for file in sorted(spool.glob("*")) if spool.exists() else []:
            text = quopri.decodestring(file.read_bytes()).decode(errors="replace")
            if marker in text:
                return text
        time.sleep(0.3)
    raise AssertionError(f"no mail with {marker} in {spool}")


@pytest.mark.slow
def test_a_real_reset_unsubscribe_and_api_calls_leave_no_secret_in_the_log(tmp_path: Path) -> None:
    """The journey the probe replayed: a reset link taken from the log. Now the log holds none of it."""
    port = _free_port()
    log = tmp_path / "serve.log"
    home = tmp_path / "home"
    proc = start_serve(tmp_path, port, log)
    try:
        subject_id, token = pacte(home, "shell", "-c", CUSTOMER_SCRIPT).stdout.split()[-2:]
        secret = pacte(home, "apikey", "create", "log-test").stdout.strip()
        browser = Browser(port)
        status, location, _ = browser.submit("/accounts/password/reset/", {"email": "jane.doe@example.org"})
        assert (status, location) == (302, "/accounts/password/reset/done/")
        mail = _wait_for_mail(home / "sent-mail", "/accounts/password/reset/key/")
        link = re.search(r"(/accounts/password/reset/key/[^\s/]+/)", mail)
        assert link
        status, form_path, _ = browser.request("GET", link.group(1))
        assert status == 302
        status, _, _ = browser.submit(
            form_path, {"password1": "a brand new passphrase", "password2": "a brand new passphrase"}
        )
        assert status == 302
        assert browser.request("POST", f"/u/{token}/")[0] == 200
        for path in (
            f"/api/v1/subjects/{subject_id}/consents",
            f"/api/v1/subjects/{subject_id}/consents/newsletter",
        ):
            status, _, _ = browser.request("GET", path, headers={"Authorization": f"Bearer {secret}"})
            assert status == 200, path
    finally:
        stop_serve(proc)
    output = log.read_text()
    key = link.group(1).rstrip("/").rsplit("/", 1)[1]
    for value in (key, key.split("-", 1)[1], token, subject_id, secret, "jane.doe@example.org"):
        assert value not in output, value
    assert '"GET /accounts/password/reset/key/:token/" 302' in output
    assert '"POST /u/:token/" 200' in output
    assert '"GET /api/v1/subjects/:id/consents" 200' in output
