"""The registry's default exporter: rows read as columns give exactly what rows read as instances give."""

from __future__ import annotations

import datetime

import pytest
from tests.testapp.models import Invoice, Person

from pacte.subjects import registry
from pacte.subjects.services import subject_create
from pacte.vault import services as vault_services
from pacte.vault.crypto import vault_scope
from pacte.vault.errors import VaultIntegrityError

pytestmark = pytest.mark.django_db(databases=["default", "keys", "telemetry"])


def _by_instances(model, subject) -> list[dict]:
    names = registry.rows_fields(model)
    return [
        {name: registry.value_plain(getattr(row, name)) for name in names}
        for row in model._default_manager.filter(subject=subject)
    ]


def test_rows_read_as_columns_equal_rows_read_as_instances_live_and_erased() -> None:
    subject = subject_create(kind="customer")
    other = subject_create(kind="customer")
    Person.objects.create(
        subject=subject,
        name="Zoë « Durand », ligne\nsuivante",
        email="zoe@example.fr",
        phone="06 11 22 33 44",
        address={"lines": ["1 rue Alpha"], "postcode": "69001", "city": "Lyon", "country": "FR"},
        birth_date=datetime.date(1980, 1, 2),
        notes={"likes": ["thé", 2]},
    )
    Person.objects.create(subject=subject, name="Sans rien")  # empty vault fields stay None
    Person.objects.create(subject=other, name="Autre")
    Invoice.objects.create(subject=subject, billed_name="Zoë Durand", amount_cents=1200)
    assert registry._columns_plan(Person, registry.rows_fields(Person)) is not None

    with vault_scope():
        people = list(registry.rows_export(Person, subject))
    assert sorted(people, key=str) == sorted(_by_instances(Person, subject), key=str)
    assert {row["name"] for row in people} == {"Zoë « Durand », ligne\nsuivante", "Sans rien"}
    assert {row["birth_date"] for row in people} == {"1980-01-02", None}

    vault_services.keys_destroy(subject=subject, retention_class="account")
    with vault_scope():
        people = list(registry.rows_export(Person, subject))
        invoices = list(registry.rows_export(Invoice, subject))
    assert sorted(people, key=str) == sorted(_by_instances(Person, subject), key=str)
    assert {row["name"] for row in people} == {"erased"}
    assert {row["email"] for row in people} == {"erased", None}
    assert [row["billed_name"] for row in invoices] == ["Zoë Durand"]  # the legal hold's key stays


def test_a_ciphertext_moved_to_another_row_fails_as_it_does_on_the_instance() -> None:
    subject = subject_create(kind="customer")
    first = Person.objects.create(subject=subject, name="Premier")
    second = Person.objects.create(subject=subject, name="Second")
    sealed = Person.objects.filter(pk=first.pk).values_list("name", flat=True).get()
    Person.objects.filter(pk=second.pk).update(name=sealed)  # raw SQL-level copy
    with vault_scope(), pytest.raises(VaultIntegrityError):
        list(registry.rows_export(Person, subject))
