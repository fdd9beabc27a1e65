#!/usr/bin/env python
"""Vault: per-field encrypt/decrypt time, a page of 10 encrypted fields vs plaintext, key rotation rate."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _django import setup  # noqa: E402
from _server import figure  # noqa: E402


def per_field(n: int = 20000) -> None:
    from pacte.vault.crypto import associated_data, decrypt, encrypt

    key = os.urandom(32)
    aad = associated_data(
        subject_id="s", model_label="app.model", field="name", row_id="r", retention_class="account"
    )
    value = "Élodie Martin-Durand, 4 quai Jean Moulin"
    started = time.perf_counter()
    tokens = [encrypt(value, key=key, aad=aad) for _ in range(n)]
    enc = (time.perf_counter() - started) / n
    started = time.perf_counter()
    for token in tokens:
        decrypt(token, key=key, aad=aad)
    dec = (time.perf_counter() - started) / n
    figure("field_encrypt", enc * 1e6, "µs")
    figure("field_decrypt", dec * 1e6, "µs")


def page_ratio(rows: int = 200, rounds: int = 5) -> None:
    """A full Django page (every middleware, base template) showing one row's 10 fields, per request."""
    from django.conf import settings
    from django.test import Client
    from tests.testapp.models import TenPlain, TenSecrets

    from pacte.subjects.services import subject_create

    settings.ROOT_URLCONF = "_bench_urls"
    settings.TEMPLATES[0]["DIRS"] = [str(Path(__file__).resolve().parent / "templates")]
    values = {f"f{i}": f"valeur personnelle numéro {i}" for i in range(10)}
    secret_ids, plain_ids = [], []
    for _ in range(rows):
        subject = subject_create(kind="customer")
        row = TenSecrets(subject=subject, **values)
        row.save()
        secret_ids.append(row.pk)
        plain_ids.append(TenPlain.objects.create(subject=subject, **values).pk)
    client = Client()
    assert values["f9"] in client.get(f"/_bench/secret/{secret_ids[0]}/").content.decode()
    samples: dict[str, list[float]] = {"secret": [], "plain": []}
    for _ in range(rounds):
        for name, ids in (("plain", plain_ids), ("secret", secret_ids)):
            started = time.perf_counter()
            for pk in ids:
                client.get(f"/_bench/{name}/{pk}/")
            samples[name].append((time.perf_counter() - started) / len(ids))
    plain, secret = statistics.median(samples["plain"]), statistics.median(samples["secret"])
    figure("page_10_plain_fields", plain * 1e3, "ms")
    figure("page_10_encrypted_fields", secret * 1e3, "ms")
    figure("page_encrypted_vs_plain_ratio", secret / plain, "x", goal="≤ 1.3")


def rotation(n: int) -> None:
    from django.db import transaction

    from pacte.vault import services
    from pacte.vault.crypto import _wrap_context
    from pacte.vault.keyring import master_key_ring, new_master_key_line, reset_caches
    from pacte.vault.models import DataKey

    DataKey.objects.all().delete()  # start from an empty key store under a known ring
    old = new_master_key_line("k1")
    os.environ["PACTE_MASTER_KEYS"] = old
    reset_caches()
    ring = master_key_ring()
    import uuid

    batch = []
    with transaction.atomic(using="keys"):
        for _ in range(n):
            sid = str(uuid.uuid4())
            key_id, blob = ring.wrap(os.urandom(32), context=_wrap_context(sid, "account"))
            batch.append(
                DataKey(subject_id=sid, retention_class="account", master_key_id=key_id, wrapped=blob)
            )
            if len(batch) == 5000:
                DataKey.objects.bulk_create(batch)
                batch = []
        DataKey.objects.bulk_create(batch)
    os.environ["PACTE_MASTER_KEYS"] = f"{new_master_key_line('k2')},{old}"
    reset_caches()
    started = time.perf_counter()
    done = services.keys_rewrap(batch_size=1000)
    elapsed = time.perf_counter() - started
    figure("rotation_keys", done, "keys")
    figure("rotation_rate", done / elapsed, "keys/s")


def main() -> None:
    setup()
    per_field()
    page_ratio()
    rotation(int(os.environ.get("PACTE_BENCH_ROTATION_KEYS", "100000")))


if __name__ == "__main__":
    main()
