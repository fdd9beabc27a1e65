"""The vault: encrypted fields, erasure by key destruction, blind indexes, rotation, dumps and backups."""

from __future__ import annotations

import base64
import datetime
import re
from pathlib import Path

import pytest
from django.db import connections
from django.utils import translation
from faker import Faker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.testapp.models import Invoice, Person

from pacte.core.erased import ERASED
from pacte.core.errors import PacteError
from pacte.subjects.services import subject_create
from pacte.vault import selectors, services
from pacte.vault.checks import master_key_check
from pacte.vault.crypto import _cache, _process_cache, task_scope_begin, task_scope_end, vault_scope
from pacte.vault.errors import MasterKeyError, VaultIntegrityError
from pacte.vault.fields import normalise_phone
from pacte.vault.keyring import master_key_ring, new_master_key_line, reset_caches
from pacte.vault.models import BlindIndex, DataKey, KeyDestruction
from pacte.vault.tests.dumps import copy_rows, dump_database, restore_rows

ALL_DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=ALL_DBS)


def _person(**values) -> Person:
    subject = subject_create(kind="customer")
    person = Person(subject=subject, **values)
    person.full_clean()
    person.save()
    return person


def _reload(person: Person) -> Person:
    _process_cache.clear()
    return Person.objects.get(pk=person.pk)


def _raw(model: type, pk, column: str) -> str:
    table = model._meta.db_table
    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {table} WHERE id = %s",
            [pk.hex if connections["default"].vendor == "sqlite" else pk],
        )
        return cursor.fetchone()[0]


def _set_raw(model: type, pk, column: str, value: str) -> None:
    table = model._meta.db_table
    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = %s WHERE id = %s",
            [value, pk.hex if connections["default"].vendor == "sqlite" else pk],
        )


def test_every_field_kind_round_trips_and_is_stored_encrypted() -> None:
    address = {"lines": ["4, Quai Jean Moulin"], "postcode": "69001", "city": "Lyon", "country": "FR"}
    person = _person(
        name="Élodie Martin",
        email="elodie.martin@example.fr",
        phone="06 12 34 56 78",
        address=address,
        birth_date=datetime.date(1990, 5, 17),
        notes={"preferred": "post"},
    )
    again = _reload(person)
    assert again.name == "Élodie Martin"
    assert again.email == "elodie.martin@example.fr"
    assert again.phone == "06 12 34 56 78"
    assert again.address == address
    assert again.birth_date == datetime.date(1990, 5, 17)
    assert again.notes == {"preferred": "post"}
    raw = _raw(Person, person.pk, "name")
    assert raw.startswith("v1:") and "Martin" not in raw
    assert DataKey.objects.filter(subject_id=person.subject_id).count() == 1


def test_refused_input_saves_nothing() -> None:
    subject = subject_create(kind="customer")
    person = Person(subject=subject, name="X", email="not-an-email", phone="12")
    with pytest.raises(Exception) as raised:
        person.full_clean()
    assert set(raised.value.message_dict) == {"email", "phone"}
    assert Person.objects.count() == 0
    assert DataKey.objects.count() == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text())
def test_any_unicode_round_trips(text: str) -> None:
    person = _person(name=text)
    assert _reload(person).name == text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_flipped_bit_is_an_integrity_error_never_wrong_plaintext(data) -> None:
    person = _person(name="Jean Dupont")
    raw = _raw(Person, person.pk, "name")
    blob = bytearray(base64.b64decode(raw[3:]))
    index = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
    bit = data.draw(st.integers(min_value=0, max_value=7))
    blob[index] ^= 1 << bit
    _set_raw(Person, person.pk, "name", "v1:" + base64.b64encode(bytes(blob)).decode())
    with pytest.raises(VaultIntegrityError):
        _reload(person).name  # noqa: B018


def test_ciphertext_moved_to_another_row_field_or_subject_is_refused() -> None:
    alice = _person(name="Alice Durand", email="alice@example.fr")
    bob = _person(name="Bob Leroy", email="bob@example.fr")
    # another row (and subject)
    _set_raw(Person, bob.pk, "name", _raw(Person, alice.pk, "name"))
    with pytest.raises(VaultIntegrityError):
        _reload(bob).name  # noqa: B018
    # another field of the same row
    _set_raw(Person, alice.pk, "email", _raw(Person, alice.pk, "name"))
    with pytest.raises(VaultIntegrityError):
        _reload(alice).email  # noqa: B018
    # another row of the same subject
    twin = Person(subject=alice.subject, name="Alice bis")
    twin.save()
    _set_raw(Person, twin.pk, "name", _raw(Person, alice.pk, "name"))
    with pytest.raises(VaultIntegrityError):
        _reload(twin).name  # noqa: B018


def test_querying_by_plaintext_is_refused() -> None:
    with pytest.raises(PacteError):
        list(Person.objects.filter(email="alice@example.fr"))


def test_destroyed_key_reads_as_erased_and_other_subjects_stay_intact() -> None:
    alice = _person(name="Alice Durand", email="alice@example.fr")
    bob = _person(name="Bob Leroy", email="bob@example.fr")
    services.blind_index_set(subject=alice.subject, scope="login", value="alice@example.fr", kind="email")
    destroyed = services.keys_destroy(subject=alice.subject)
    assert destroyed == 1
    gone = _reload(alice)
    assert gone.name is ERASED and gone.email is ERASED

    assert not gone.name
    with translation.override("en"):
        assert str(gone.name) == "erased"
    with translation.override("fr"):
        assert str(ERASED) == "effacé"
    assert _reload(bob).name == "Bob Leroy"
    assert selectors.blind_index_lookup(scope="login", value="alice@example.fr", kind="email") is None
    assert KeyDestruction.objects.get(subject_id=alice.subject_id).keys == 1
    # Saving an erased row keeps the (unreadable) ciphertext; it never writes "erased" as a value.
    raw_before = _raw(Person, alice.pk, "name")
    gone.save()
    assert _raw(Person, alice.pk, "name") == raw_before
    # Idempotent.
    assert services.keys_destroy(subject=alice.subject) == 0


def test_one_retention_class_at_a_time_keeps_the_legal_hold_readable() -> None:
    alice = _person(name="Alice Durand")
    invoice = Invoice(subject=alice.subject, billed_name="Alice Durand", amount_cents=1200)
    invoice.save()
    assert services.keys_destroy(subject=alice.subject, retention_class="account") == 1
    assert _reload(alice).name is ERASED
    assert Invoice.objects.get(pk=invoice.pk).billed_name == "Alice Durand"
    assert services.keys_destroy(subject=alice.subject, retention_class="invoices") == 1

    _process_cache.clear()
    assert Invoice.objects.get(pk=invoice.pk).billed_name is ERASED
    assert Invoice.objects.get(pk=invoice.pk).amount_cents == 1200  # non-personal facts stay


def test_blind_index_finds_by_normalised_value_and_enforces_uniqueness() -> None:
    alice = subject_create(kind="customer")
    bob = subject_create(kind="customer")
    services.blind_index_set(subject=alice, scope="login", value="Alice@Example.FR ", kind="email")
    services.blind_index_set(subject=alice, scope="phone", value="06 12 34 56 78", kind="phone")
    assert selectors.blind_index_lookup(scope="login", value="alice@example.fr", kind="email") == alice.pk
    assert selectors.blind_index_lookup(scope="phone", value="+33612345678", kind="phone") == alice.pk
    assert selectors.blind_index_lookup(scope="phone", value="0033 6 12 34 56 78", kind="phone") == alice.pk
    with pytest.raises(PacteError) as raised:
        services.blind_index_set(subject=bob, scope="login", value="alice@example.fr", kind="email")
    assert raised.value.code == "vault.blind_index_taken"
    # Changing one's value replaces the old index.
    services.blind_index_set(subject=alice, scope="login", value="new@example.fr", kind="email")
    assert selectors.blind_index_lookup(scope="login", value="alice@example.fr", kind="email") is None
    assert BlindIndex.objects.filter(subject_id=alice.pk, scope="login").count() == 1
    assert all("example" not in row.digest for row in BlindIndex.objects.all())


def _phone_forms(phone: str) -> set[str]:
    digits = re.sub(r"\D", "", phone)
    forms = {phone, digits}

    try:
        e164 = normalise_phone(phone)
        forms |= {e164, e164[1:], "0" + e164[3:]}
    except ValueError:
        pass
    return {f for f in forms if len(re.sub(r"\D", "", f)) >= 8}


@pytest.mark.django_db(databases=ALL_DBS, transaction=True)
def test_a_dump_of_every_database_holds_none_of_1000_people() -> None:
    people = []
    for index in range(1000):
        fake = Faker("fr_FR" if index % 2 else "en_GB")
        fake.seed_instance(index)
        person = {
            "name": fake.name(),
            "email": fake.email().replace("@", f".{index}@"),  # unique: one login per person
            "phone": fake.phone_number(),
            "street": fake.street_address(),
        }
        people.append(person)
        subject = subject_create(kind="customer")
        Person(
            subject=subject,
            name=person["name"],
            email=person["email"],
            phone=person["phone"],
            address={
                "lines": [person["street"]],
                "postcode": fake.postcode(),
                "city": fake.city(),
                "country": "FR",
            },
        ).save()
        services.blind_index_set(subject=subject, scope="login", value=person["email"], kind="email")
    assert Person.objects.count() == 1000
    dumps = {alias: dump_database(alias) for alias in ALL_DBS}
    assert "testapp_person" in dumps["default"] and "vault_datakey" in dumps["keys"]
    leaks = []
    for person in people:
        needles = {person["name"], person["email"], person["street"], *_phone_forms(person["phone"])}
        for alias, dump in dumps.items():
            leaks += [(alias, needle) for needle in needles if needle in dump]
    assert leaks == []


def test_restoring_a_backup_after_erasure_brings_nothing_back() -> None:
    alice = _person(name="Alice Durand", email="alice@example.fr")
    bob = _person(name="Bob Leroy", email="bob@example.fr")
    backup = copy_rows(Person)
    services.keys_destroy(subject=alice.subject)
    Person.objects.filter(pk=alice.pk).delete()
    restore_rows(Person, backup)  # the old backup comes back, with the current key store
    restored = _reload(alice)
    assert restored.name is ERASED and restored.email is ERASED
    assert _reload(bob).name == "Bob Leroy"


def test_rotation_rewraps_everything_and_the_old_key_can_go(monkeypatch) -> None:
    old = new_master_key_line("k1")
    new = new_master_key_line("k2")
    monkeypatch.setenv("PACTE_MASTER_KEYS", old)
    reset_caches()
    people = [_person(name=f"Personne {i}") for i in range(7)]
    services.blind_index_set(subject=people[0].subject, scope="login", value="p0@example.fr", kind="email")
    assert selectors.keys_by_master_key() == {"k1": 7}

    monkeypatch.setenv("PACTE_MASTER_KEYS", f"{new},{old}")
    reset_caches()
    calls = []

    def crash_after_first_batch(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # the system secrets' batch, then one batch of data keys
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.keys_rewrap(batch_size=3, progress=crash_after_first_batch)
    assert selectors.keys_by_master_key() == {"k2": 3, "k1": 4}
    assert services.keys_rewrap(batch_size=3) == 4  # resumes: only what is left
    assert selectors.keys_by_master_key() == {"k2": 7}

    monkeypatch.setenv("PACTE_MASTER_KEYS", new)  # the old key is gone
    reset_caches()
    assert [_reload(p).name for p in people] == [f"Personne {i}" for i in range(7)]
    assert (
        selectors.blind_index_lookup(scope="login", value="p0@example.fr", kind="email")
        == people[0].subject_id
    )


def test_a_wrong_master_key_is_reported_and_changes_nothing(monkeypatch) -> None:
    monkeypatch.setenv("PACTE_MASTER_KEYS", new_master_key_line("k1"))
    reset_caches()
    person = _person(name="Alice Durand")
    monkeypatch.setenv("PACTE_MASTER_KEYS", new_master_key_line("k1"))  # same id, other key
    reset_caches()
    before = list(DataKey.objects.values_list("wrapped", flat=True))
    with pytest.raises(MasterKeyError) as raised:
        _reload(person).name  # noqa: B018
    assert "master key with id 'k1' cannot unwrap" in str(raised.value.message)
    assert [bytes(b) for b in DataKey.objects.values_list("wrapped", flat=True)] == [bytes(b) for b in before]


def test_production_without_master_key_refuses(settings, monkeypatch) -> None:
    monkeypatch.delenv("PACTE_MASTER_KEYS", raising=False)
    settings.PACTE_PRODUCTION = True
    reset_caches()
    with pytest.raises(MasterKeyError) as raised:
        master_key_ring()
    assert "PACTE_MASTER_KEYS is not set" in str(raised.value.message)


def test_embedded_master_key_file_is_private(settings) -> None:

    master_key_ring()
    mode = (Path(settings.PACTE_HOME) / "master.key").stat().st_mode & 0o777
    assert mode == 0o600


def test_start_up_refuses_a_malformed_or_missing_master_key(settings, monkeypatch) -> None:
    monkeypatch.setenv("PACTE_MASTER_KEYS", "k1:not-base64!")
    reset_caches()
    errors = master_key_check()
    assert [e.id for e in errors] == ["pacte.E022"]
    assert "not valid base64" in errors[0].msg
    monkeypatch.delenv("PACTE_MASTER_KEYS")
    settings.PACTE_PRODUCTION = True
    reset_caches()
    assert "PACTE_MASTER_KEYS is not set" in master_key_check()[0].msg


def test_each_request_and_task_starts_with_no_unwrapped_key() -> None:
    person = _person(name="Alice Durand")
    with vault_scope():
        assert _cache() == {}
        assert _reload(person).name == "Alice Durand"
        assert len(_cache()) == 1
    task_scope_begin()
    try:
        assert _cache() == {}
    finally:
        task_scope_end()


def test_key_destruction_scrubs_the_key_store_once_its_transaction_commits(
    django_capture_on_commit_callbacks,
) -> None:
    alice = _person(name="Alice Durand")
    with django_capture_on_commit_callbacks(using="keys", execute=True) as callbacks:
        assert services.keys_destroy(subject=alice.subject) == 1
    # Deferred to the commit (the test's transaction never commits); run inside it, it does nothing
    # (on PostgreSQL a VACUUM there would fail: it cannot run in a transaction block).
    assert [callback.func.__name__ for callback in callbacks] == ["_scrub_now"]
    assert [callback.args for callback in callbacks] == [("keys",)]
    assert not DataKey.objects.filter(subject_id=alice.subject_id).exists()


@pytest.mark.django_db(databases=ALL_DBS, transaction=True)
def test_scrub_runs_at_once_outside_a_transaction_on_either_database() -> None:
    alice = _person(name="Alice Durand")
    services.blind_index_set(subject=alice.subject, scope="login", value="alice@example.fr", kind="email")
    assert services.keys_destroy_all_but_legal_hold(subject=alice.subject) == 1
    for alias in ("keys", "default"):
        services.storage_scrub(alias)  # VACUUM on PostgreSQL, a WAL checkpoint on SQLite: no error
    if connections["keys"].vendor == "postgresql":
        with connections["keys"].cursor() as cursor:
            cursor.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE vacuum_count > 0 AND relname LIKE 'vault_%%'"
            )
            vacuumed = sorted(row[0] for row in cursor.fetchall())
        assert vacuumed == ["vault_blindindex", "vault_datakey", "vault_keydestruction", "vault_systemsecret"]
    assert not BlindIndex.objects.filter(subject_id=alice.subject_id).exists()
    assert _reload(alice).name is ERASED


def test_a_dated_secret_is_one_per_day_and_destroyed_days_are_gone_for_good() -> None:
    from pacte.vault.keyring import dated_secret, dated_secret_exists, dated_secrets_destroy
    from pacte.vault.models import SystemSecret

    day1, day2, day3 = datetime.date(2024, 5, 1), datetime.date(2024, 5, 2), datetime.date(2024, 5, 3)
    first = dated_secret("salt", day1)
    assert len(first) == 32 and dated_secret("salt", day1) == first
    second, third = dated_secret("salt", day2), dated_secret("salt", day3)
    assert len({first, second, third}) == 3
    other = dated_secret("pepper", day1)

    assert dated_secrets_destroy("salt", before=day3) == 2
    assert not dated_secret_exists("salt", day1) and not dated_secret_exists("salt", day2)
    assert dated_secret_exists("salt", day3) and dated_secret("salt", day3) == third
    assert dated_secret("pepper", day1) == other  # another prefix is untouched
    assert not SystemSecret.objects.filter(name__in=["salt@2024-05-01", "salt@2024-05-02"]).exists()
    # Asking again for a destroyed day makes a new, different secret: the old one cannot come back.
    assert dated_secret("salt", day1) != first
    assert dated_secrets_destroy("salt", before=day1) == 0
