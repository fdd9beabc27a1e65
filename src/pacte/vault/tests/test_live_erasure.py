"""Erasure holds on a running server: nothing under PACTE_HOME gives the person back, master.key included.

A real `pacte serve` (gunicorn with two web workers, the task worker, the scheduler) keeps running on a
SQLite PACTE_HOME while another process erases a customer (`pacte rights erase`) and, for a second
customer, destroys one retention class of keys as retention does. Then, without stopping the server,
every file under PACTE_HOME is read as bytes (databases, their -wal and -shm files, anything else): no
value of the person appears, no wrapped data key of theirs can be unwrapped with master.key, and no
ciphertext of theirs can be opened with any key that can still be found.
"""

from __future__ import annotations

import base64
import contextlib
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from pacte.vault.keyring import parse_master_keys

PASSWORD = "Quartz-Ibis-Lanterne-7"  # noqa: S105 - the test customers' password
WRAPPED_LEN = 12 + 32 + 16  # nonce, AES-256 key, GCM tag (keyring.MasterKeyRing.wrap)
TOKEN = re.compile(rb"v1:[A-Za-z0-9+/]{20,}={0,2}")

ERASED_PERSON = {
    "email": "zephyrine.quintavalle-orbiszewska@example.org",
    "name": "Zéphyrine Quintavalle-Orbiszewska",
    "phone": "+33 6 47 83 91 26",
    "postal_address": {
        "lines": ["17 rue des Xylophages Ébréchés"],
        "postcode": "29180",
        "city": "Quéméneven-sur-Yvrande",
        "country": "FR",
    },
    "birth_date": "1963-11-27",
}
RETAINED_PERSON = {
    "email": "barnabe.wolkenstein-ferrandiere@example.org",
    "name": "Barnabé Wolkenstein-Ferrandière",
    "phone": "+33 7 58 14 62 39",
    "postal_address": {
        "lines": ["4 impasse des Zinnias Obliques"],
        "postcode": "56470",
        "city": "Kerglouanec-les-Ormeaux",
        "country": "FR",
    },
    "birth_date": "1958-02-13",
}

# Run by `pacte shell -c` against the server's PACTE_HOME: create both customers (verified, with a
# password), then print, for each, what the test needs to look for: the subject id, the e-mail
# pseudonym, the blind-index digests, the stored phone, and the associated data of every encrypted value
# held for the subject (the AEAD binds each ciphertext to it).
CREATE = """
import datetime, json
from allauth.account.models import EmailAddress
from django.apps import apps
from pacte.accounts.services import user_register
from pacte.policy.selectors import policy_active
from pacte.vault.crypto import associated_data
from pacte.vault.fields import EncryptedField
from pacte.vault.models import BlindIndex

out = {"classes": sorted(policy_active().retention), "people": []}
for person in json.loads(PEOPLE):
    user = user_register(
        email=person["email"], password=PASSWORD, name=person["name"], phone=person["phone"],
        postal_address=person["postal_address"],
        birth_date=datetime.date.fromisoformat(person["birth_date"]), source="demo",
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    sid = user.subject_id
    sealed = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedField):
                rows = model._base_manager.filter(**{field.subject_field + "_id": sid})
                for pk in rows.values_list("pk", flat=True):
                    aad = associated_data(
                        subject_id=sid, model_label=model._meta.label, field=field.name, row_id=pk,
                        retention_class=field.retention_class,
                    )
                    sealed.append([aad.decode(), field.retention_class])
    user.refresh_from_db()
    out["people"].append({
        "subject_id": str(sid), "pseudonym": user.email, "phone_stored": str(user.phone),
        "digests": list(BlindIndex.objects.filter(subject_id=sid).values_list("digest", flat=True)),
        "sealed": sealed,
    })
print("RESULT" + json.dumps(out))
"""

DESTROY_CLASS = """
from pacte.subjects.models import Subject
from pacte.vault.services import keys_destroy
print("RESULT", keys_destroy(subject=Subject.objects.get(pk=SUBJECT_ID), retention_class="account"))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home: Path, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(
        PACTE_HOME=str(home),
        DJANGO_SETTINGS_MODULE="pacte.settings",
        # Mail leaves through SMTP as in production (the embedded default keeps copies in PACTE_HOME).
        PACTE_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        PACTE_EMAIL_HOST="127.0.0.1",
        PACTE_EMAIL_PORT=str(smtp_port),
    )
    env.pop("PACTE_MASTER_KEYS", None)  # the embedded default: master.key in PACTE_HOME
    return env


def _pacte(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pacte.cli", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _shell(env: dict[str, str], cwd: Path, code: str) -> str:
    out = _pacte(env, cwd, "shell", "-c", code)
    return out.split("RESULT", 1)[1].strip()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def _wait_for_server(proc: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    pytest.fail(f"pacte serve did not answer:\n{log.read_text()}")


def _stop_server(proc: subprocess.Popen) -> None:
    children = _children(proc.pid)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # serve stops its web server, worker and scheduler itself
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        for pid in (proc.pid, *children):  # each child leads its own session: kill them one by one
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def _sign_in_and_read_account(base: str, email: str) -> str:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = f"{base}/accounts/login/"
    page = opener.open(login, timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page
    form = {"csrfmiddlewaretoken": token.group(1), "login": email, "password": PASSWORD}
    request = urllib.request.Request(
        login, data=urllib.parse.urlencode(form).encode(), headers={"Referer": login}
    )
    opener.open(request, timeout=30).read()
    # Several reads, so that both web workers are likely to have opened the databases and decrypted.
    pages = [opener.open(f"{base}/account/", timeout=30).read().decode() for _ in range(4)]
    return pages[-1]


def _files(home: Path) -> dict[str, bytes]:
    return {str(path.relative_to(home)): path.read_bytes() for path in home.rglob("*") if path.is_file()}


def _needles(person: dict, found: dict) -> list[str]:
    address = person["postal_address"]
    digits = re.sub(r"\D", "", person["phone"])
    year, month, day = person["birth_date"].split("-")
    return [
        person["name"],
        person["email"],
        person["email"].split("@")[0],
        person["phone"],
        found["phone_stored"],
        "0" + digits[2:],
        address["lines"][0],
        address["city"],
        person["birth_date"],
        f"{day}/{month}/{year}",
        found["pseudonym"],
        found["pseudonym"].split("@")[0],
        *found["digests"],
    ]


def _plaintext_found(files: dict[str, bytes], needles: list[str]) -> list[tuple[str, str, str]]:
    hits = []
    for name, data in files.items():
        for needle in needles:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                if needle.encode(encoding) in data:
                    hits.append((name, needle, encoding))
    return hits


def _recoverable_keys(
    files: dict[str, bytes], master_key: str, subject_id: str, classes: list[str]
) -> dict[str, tuple[str, bytes]]:
    """Unwrap, with master.key, every wrapped data key of the subject that any key-store file still holds.

    A data-key record holds the subject id (32 hex digits on SQLite) a few bytes before its wrapped key,
    so every 60-byte window near each occurrence of the id, in the database and in its WAL, is tried
    under every master key and every retention class of the policy. Returns {class: (file, key)}.
    """
    ring = parse_master_keys(master_key)
    ciphers = [AESGCM(key) for key in ring.keys.values()]
    contexts = {cls: f"datakey|{subject_id}|{cls}".encode() for cls in classes}
    needle = uuid.UUID(subject_id).hex.encode()
    recovered: dict[str, tuple[str, bytes]] = {}
    for name, data in files.items():
        if not name.startswith("keys."):
            continue
        start = data.find(needle)
        while start != -1:
            for offset in range(max(0, start - 128), min(len(data) - WRAPPED_LEN, start + 320) + 1):
                blob = data[offset : offset + WRAPPED_LEN]
                for cls, context in contexts.items():
                    if cls in recovered:
                        continue
                    for cipher in ciphers:
                        try:
                            recovered[cls] = (name, cipher.decrypt(blob[:12], blob[12:], context))
                        except InvalidTag:
                            continue
            start = data.find(needle, start + 1)
    return recovered


def _openable(
    files: dict[str, bytes], keys: dict[str, tuple[str, bytes]], sealed: list[list[str]]
) -> set[str]:
    """Decrypt every ciphertext found in the data files with every recovered key of the subject."""
    opened: set[str] = set()
    if not keys:
        return opened
    tokens = {
        match.group(0)
        for name, data in files.items()
        if not name.startswith("keys.")
        for match in TOKEN.finditer(data)
    }
    for token in tokens:
        try:
            raw = base64.b64decode(token[3:], validate=True)
        except ValueError:
            continue
        for aad, cls in sealed:
            if cls not in keys:
                continue
            try:
                opened.add(AESGCM(keys[cls][1]).decrypt(raw[:12], raw[12:], aad.encode()).decode())
            except (InvalidTag, ValueError):
                continue
    return opened


@pytest.mark.slow
def test_erasure_and_key_destruction_leave_nothing_in_the_files_of_a_running_server(
    tmp_path: Path, smtp_server: list
) -> None:
    home = tmp_path / "home"
    env = _env(home, settings.EMAIL_PORT)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pacte.cli", "serve", "--port", str(port), "--web-workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_server(proc, base, log)
        people = [ERASED_PERSON, RETAINED_PERSON]
        code = f"PEOPLE = {json.dumps(json.dumps(people))}\nPASSWORD = {PASSWORD!r}\n{CREATE}"
        created = json.loads(_shell(env, tmp_path, code))
        classes = created["classes"]
        erased, retained = created["people"]
        master_key = (home / "master.key").read_text()

        # The server reads both customers: its processes have the databases open and have seen the data.
        for person in people:
            page = _sign_in_and_read_account(base, person["email"])
            assert person["name"] in page

        # Before: the scan finds each person's key in the key store and opens their values with it, so an
        # empty result afterwards means the data is gone, not that the scan is blind.
        files = _files(home)
        for person, found in ((ERASED_PERSON, erased), (RETAINED_PERSON, retained)):
            keys = _recoverable_keys(files, master_key, found["subject_id"], classes)
            assert "account" in keys
            opened = _openable(files, keys, found["sealed"])
            assert person["name"] in opened
            assert person["birth_date"] in opened

        # "Delete my account", by another process, while the server keeps running.
        out = _pacte(env, tmp_path, "rights", "erase", erased["subject_id"], "--yes")
        assert "keys_destroyed" in out and "subject_erased" in out
        assert ERASED_PERSON["email"] in smtp_server.wait_for(1)[0]["To"]  # the last mail left by SMTP
        assert proc.poll() is None

        files = _files(home)
        keys = _recoverable_keys(files, master_key, erased["subject_id"], classes)
        # Class -> file where master.key still unwraps a destroyed key (never the key itself in a report).
        assert {cls: where for cls, (where, _key) in keys.items()} == {}
        assert _openable(files, keys, erased["sealed"]) == set()
        assert _plaintext_found(files, _needles(ERASED_PERSON, erased)) == []

        # Retention destroys one class of keys for the other customer (their rows stay, unreadable).
        destroyed = _shell(env, tmp_path, f"SUBJECT_ID = {retained['subject_id']!r}\n{DESTROY_CLASS}")
        assert destroyed == "1"
        assert proc.poll() is None

        files = _files(home)
        keys = _recoverable_keys(files, master_key, retained["subject_id"], classes)
        assert "account" not in keys
        assert _openable(files, keys, retained["sealed"]) == set()
        assert _plaintext_found(files, _needles(RETAINED_PERSON, retained)[:10]) == []
        # The key store's WAL was emptied while the server ran, and the server still serves.
        for found in (erased, retained):
            assert uuid.UUID(found["subject_id"]).hex.encode() not in files.get("keys.sqlite3-wal", b"")
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert response.read() == b"ok"
    finally:
        _stop_server(proc)


# A reader that keeps an old snapshot of keys.sqlite3 open (a raw connection in a transaction) stops the
# checkpoint: the scrub says so instead of reporting success, and succeeds once the reader lets go.
HELD_SNAPSHOT = """
import os, sqlite3
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from pacte.core.errors import PacteError
from pacte.vault import services
from pacte.vault.models import KeyDestruction

call_command("migrate", database="keys", verbosity=0)
services.SCRUB_PAUSE = 0.01
path = settings.DATABASES["keys"]["NAME"]
with connections["keys"].cursor() as cursor:
    cursor.execute("PRAGMA busy_timeout=50")
KeyDestruction.objects.create(subject_id="8b3b5c8e-7d4f-4a57-9f61-0a1b2c3d4e5f", keys=1)
reader = sqlite3.connect(path, isolation_level=None)
reader.execute("BEGIN")
reader.execute("SELECT count(*) FROM vault_keydestruction").fetchall()
KeyDestruction.objects.create(subject_id="8b3b5c8e-7d4f-4a57-9f61-0a1b2c3d4e5f", keys=2)
try:
    services.storage_scrub("keys")
    held = "scrubbed"
except PacteError as error:
    held = error.code
reader.execute("COMMIT")
services.storage_scrub("keys")
print("RESULT", held, os.path.getsize(path + "-wal"))
"""


@pytest.mark.slow
def test_a_reader_holding_an_old_snapshot_makes_the_scrub_fail_loudly_until_it_lets_go(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path / "home", _free_port())
    (tmp_path / "home").mkdir()
    assert _shell(env, tmp_path, HELD_SNAPSHOT) == "vault.scrub_incomplete 0"
