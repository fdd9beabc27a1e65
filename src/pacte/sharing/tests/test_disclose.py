"""The sharing gate: only what the policy declares reaches a third party, and every disclosure is proven."""

from __future__ import annotations

import uuid

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacte.accounts.services import user_create
from pacte.consent.services import consent_set
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.policy.selectors import policy_active
from pacte.sharing.selectors import disclosure_list
from pacte.sharing.services import Disclosure, disclose
from pacte.subjects.services import subject_restrict

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
ACTOR = "system"
PAYMENT = {
    "name": ("identity.name", "Ada Lovelace"),
    "email": ("contact.email", "ada@example.com"),
    "token": ("billing.payment_token", "tok_123"),
}


def _customer() -> uuid.UUID:
    user = user_create(
        email=f"{uuid.uuid4().hex[:12]}@example.com", password=None, name="Ada", birth_date=None
    )
    return user.subject_id


def _disclosures(subject_id: uuid.UUID) -> list[Entry]:
    return list(Entry.objects.filter(subject_id=subject_id, type="disclosure").order_by("seq"))


def test_a_declared_disclosure_is_returned_minimised_and_recorded_without_values() -> None:
    subject_id = _customer()
    sent = disclose(recipient="stripe", purpose="payment", subject_id=subject_id, data=PAYMENT, actor=ACTOR)
    assert sent == Disclosure(
        recipient="stripe",
        purpose="payment",
        payload={"name": "Ada Lovelace", "email": "ada@example.com", "token": "tok_123"},
        categories_sent=("billing.payment_token", "contact.email", "identity.name"),
        stripped=(),
    )
    [entry] = _disclosures(subject_id)
    assert entry.actor == ACTOR
    assert entry.payload == {
        "recipient": "stripe",
        "purpose": "payment",
        "categories": ["billing.payment_token", "contact.email", "identity.name"],
    }


def test_a_field_of_a_category_the_recipient_lacks_is_stripped_and_not_recorded() -> None:
    subject_id = _customer()
    data = {**PAYMENT, "phone": ("contact.phone", "+33 6 00 00 00 00"), "ip": ("network.ip", "192.0.2.1")}
    sent = disclose(recipient="paypal", purpose="payment", subject_id=subject_id, data=data, actor=ACTOR)
    assert sent.payload == {"name": "Ada Lovelace", "email": "ada@example.com", "token": "tok_123"}
    assert sent.stripped == ("phone", "ip")
    assert sent.categories_sent == ("billing.payment_token", "contact.email", "identity.name")
    [entry] = _disclosures(subject_id)
    assert entry.payload["categories"] == ["billing.payment_token", "contact.email", "identity.name"]


def test_nothing_left_to_send_records_nothing() -> None:
    subject_id = _customer()
    sent = disclose(
        recipient="stripe",
        purpose="payment",
        subject_id=subject_id,
        data={"ip": ("network.ip", "x")},
        actor=ACTOR,
    )
    assert sent.payload == {} and sent.categories_sent == () and sent.stripped == ("ip",)
    assert _disclosures(subject_id) == []


def _refused(code: str, **kwargs) -> None:
    subject_id = kwargs.pop("subject_id")
    before = Entry.objects.count()
    with pytest.raises(PacteError) as refused:
        disclose(subject_id=subject_id, actor=ACTOR, **kwargs)
    assert refused.value.code == code
    assert Entry.objects.count() == before  # nothing written, not even for another subject
    assert _disclosures(subject_id) == []


def test_an_undeclared_recipient_is_refused_and_nothing_is_recorded() -> None:
    _refused(
        "sharing.unknown_recipient",
        subject_id=_customer(),
        recipient="google",
        purpose="payment",
        data=PAYMENT,
    )


def test_a_purpose_that_is_not_the_recipients_is_refused_and_nothing_is_recorded() -> None:
    subject_id = _customer()
    _refused(
        "sharing.purpose_not_recipients",
        subject_id=subject_id,
        recipient="stripe",
        purpose="newsletter",
        data=PAYMENT,
    )
    _refused(
        "sharing.purpose_not_recipients",
        subject_id=subject_id,
        recipient="facebook",
        purpose="payment",
        data={"ip": ("network.ip", "192.0.2.1")},
    )


@pytest.mark.parametrize(("recipient", "purpose"), [("facebook", "social_widgets"), ("tidio", "live_chat")])
def test_missing_consent_is_refused_and_nothing_is_recorded(recipient, purpose) -> None:
    subject_id = _customer()
    data = {"ip": ("network.ip", "192.0.2.1")}
    _refused(
        "sharing.consent_missing", subject_id=subject_id, recipient=recipient, purpose=purpose, data=data
    )
    consent_set(subject_id=subject_id, purpose=purpose, granted=True, source="portal")
    consent_set(subject_id=subject_id, purpose=purpose, granted=False, source="portal")
    _refused(
        "sharing.consent_missing", subject_id=subject_id, recipient=recipient, purpose=purpose, data=data
    )

    consent_set(subject_id=subject_id, purpose=purpose, granted=True, source="portal")
    sent = disclose(recipient=recipient, purpose=purpose, subject_id=subject_id, data=data, actor=ACTOR)
    assert sent.payload == {"ip": "192.0.2.1"}
    assert [e.payload["categories"] for e in _disclosures(subject_id)] == [["network.ip"]]


@pytest.mark.parametrize(
    ("recipient", "purpose", "data"),
    [("stripe", "payment", PAYMENT), ("facebook", "social_widgets", {"ip": ("network.ip", "192.0.2.1")})],
)
def test_a_restricted_subject_is_refused_whatever_the_purpose_and_nothing_is_recorded(
    recipient, purpose, data
) -> None:
    subject_id = _customer()
    consent_set(subject_id=subject_id, purpose="social_widgets", granted=True, source="portal")
    subject_restrict(subject_id=subject_id, restricted=True)
    _refused("sharing.restricted", subject_id=subject_id, recipient=recipient, purpose=purpose, data=data)

    subject_restrict(subject_id=subject_id, restricted=False)
    disclose(recipient=recipient, purpose=purpose, subject_id=subject_id, data=data, actor=ACTOR)
    assert len(_disclosures(subject_id)) == 1


@pytest.mark.parametrize("value", ["Ada", ("identity.name",), ("", "Ada"), (None, "Ada")])
def test_a_field_without_a_category_is_refused_and_nothing_is_recorded(value) -> None:
    data = {**PAYMENT, "bare": value}
    _refused("sharing.no_category", subject_id=_customer(), recipient="stripe", purpose="payment", data=data)


def test_an_unknown_subject_is_refused_and_nothing_is_recorded() -> None:
    _refused(
        "sharing.unknown_subject",
        subject_id=uuid.uuid4(),
        recipient="stripe",
        purpose="payment",
        data=PAYMENT,
    )


def test_refusals_name_what_the_policy_lacks_in_french() -> None:
    with translation.override("fr"), pytest.raises(PacteError) as refused:
        disclose(recipient="google", purpose="payment", subject_id=_customer(), data=PAYMENT, actor=ACTOR)
    assert str(refused.value.message).startswith("La politique ne déclare aucun destinataire 'google'.")
    assert "stripe" in str(refused.value.message)


VALUES = st.one_of(st.text(max_size=20), st.integers(), st.none(), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_what_is_disclosed_never_holds_a_category_the_recipient_lacks_and_the_ledger_says_exactly_what(
    data,
) -> None:
    policy = policy_active()
    recipient = data.draw(st.sampled_from(sorted(policy.recipients)))
    purpose = data.draw(st.sampled_from(sorted(policy.recipients[recipient].purposes)))
    categories = data.draw(st.lists(st.sampled_from(sorted(policy.categories)), max_size=8))
    fields = {f"field{i}": (category, data.draw(VALUES)) for i, category in enumerate(categories)}
    subject_id = _customer()
    if policy.recipients[recipient].consent_required or policy.purposes[purpose].consent_required:
        consent_set(subject_id=subject_id, purpose=purpose, granted=True, source="portal")

    sent = disclose(recipient=recipient, purpose=purpose, subject_id=subject_id, data=fields, actor=ACTOR)

    assert set(sent.categories_sent) <= set(policy.recipients[recipient].categories)
    # Minimisation: what the recipient may receive *and* the purpose may use (the same sets in plusuite).
    allowed = set(policy.recipients[recipient].categories) & set(policy.purposes[purpose].categories)
    assert {fields[name][0] for name in sent.payload} == set(sent.categories_sent)
    assert sent.payload == {name: value for name, (category, value) in fields.items() if category in allowed}
    assert set(sent.stripped) == {
        name for name, (category, _value) in fields.items() if category not in allowed
    }
    entries = _disclosures(subject_id)
    if sent.payload:
        [entry] = entries
        assert entry.payload == {
            "recipient": recipient,
            "purpose": purpose,
            "categories": sorted(sent.categories_sent),
        }
    else:
        assert entries == []


def test_disclosure_list_shows_each_disclosure_with_the_recipients_name() -> None:
    subject_id = _customer()
    assert disclosure_list(subject_id=subject_id, lang="fr") == []
    disclose(recipient="stripe", purpose="payment", subject_id=subject_id, data=PAYMENT, actor=ACTOR)
    consent_set(subject_id=subject_id, purpose="live_chat", granted=True, source="portal")
    disclose(
        recipient="tidio",
        purpose="live_chat",
        subject_id=subject_id,
        data={"message": ("support.messages", "Hello")},
        actor=ACTOR,
    )

    first, second = disclosure_list(subject_id=subject_id, lang="fr")
    assert (first.recipient, first.recipient_name, first.purpose, first.purpose_label) == (
        "stripe",
        "Stripe Payments",
        "payment",
        "Paiement",
    )
    assert first.categories == ("billing.payment_token", "contact.email", "identity.name")
    assert first.category_labels == (
        "Moyen de paiement (jeton du prestataire ; jamais le numéro de carte)",
        "Adresse e-mail",
        "Nom",
    )
    assert (second.recipient_name, second.purpose_label, second.category_labels) == (
        "Tidio",
        "Chat d’assistance en direct",
        ("Messages envoyés au service client",),
    )
    assert first.time <= second.time and first.seq < second.seq
    [english] = disclosure_list(subject_id=subject_id, lang="en")[:1]
    assert english.purpose_label == "Payment" and english.category_labels[-1] == "Name"
