"""The cookie banner's choice as a flow: the proof it keeps and the cookies it says to delete."""

from __future__ import annotations

import uuid

import pytest

from pacte.consent import banner
from pacte.consent.flows.cookie_choice import choices_for, cookie_choice_make
from pacte.consent.models import CookieChoice
from pacte.ledger.models import Entry

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PURPOSES = ["social_widgets", "live_chat"]


def test_each_action_means_exactly_these_choices_and_anything_else_is_a_refusal() -> None:
    previous = {"social_widgets": True, "live_chat": False}
    assert choices_for(action="accept", purposes=PURPOSES, previous={}) == {
        "social_widgets": True,
        "live_chat": True,
    }
    assert choices_for(action="refuse", purposes=PURPOSES, previous=previous) == dict.fromkeys(
        PURPOSES, False
    )
    assert choices_for(action="grant", purposes=PURPOSES, previous=previous, purpose="live_chat") == {
        "social_widgets": True,
        "live_chat": True,
    }
    assert choices_for(action="grant", purposes=PURPOSES, previous={}, purpose="sold_to_brokers") == {
        "social_widgets": False,
        "live_chat": False,
    }
    assert choices_for(action="save", purposes=PURPOSES, previous=previous, chosen=["live_chat", "x"]) == {
        "social_widgets": False,
        "live_chat": True,
    }
    assert choices_for(action="delete-everything", purposes=PURPOSES, previous=previous) == dict.fromkeys(
        PURPOSES, False
    )


def test_a_refusal_keeps_an_anonymous_proof_and_lists_only_the_held_cookies_of_refused_purposes() -> None:
    earlier = banner.BannerState(
        consent_id=uuid.uuid4(), choices={"social_widgets": True, "live_chat": True}, must_ask=False
    )
    outcome = cookie_choice_make(
        state=earlier,
        action="save",
        chosen=["social_widgets"],
        cookies_held={"tidio_state": "1", "sessionid": "s"},
    )
    assert outcome.choices == {"social_widgets": True, "live_chat": False}
    assert outcome.cookies_to_delete == ["tidio_state"]  # declared for live_chat and held; "fr" is not held
    assert outcome.newly_granted == []
    assert outcome.state.consent_id == earlier.consent_id  # the same browser keeps its random id
    assert outcome.state.choices == outcome.choices and outcome.state.must_ask is False
    proof = CookieChoice.objects.get()
    assert (proof.consent_id, proof.choices) == (
        earlier.consent_id,
        {"live_chat": False, "social_widgets": True},
    )
    assert proof.policy_version == outcome.state.version
    # A browser's choice names nobody: no ledger entry about a person (only the policy's publication).
    assert not Entry.objects.filter(subject_id__isnull=False).exists()


def test_a_first_acceptance_gets_a_new_random_id_and_asks_for_a_reload() -> None:
    outcome = cookie_choice_make(state=banner.BannerState(), action="accept")
    assert outcome.choices == {"social_widgets": True, "live_chat": True}
    assert sorted(outcome.newly_granted) == ["live_chat", "social_widgets"]
    assert outcome.cookies_to_delete == []
    assert isinstance(outcome.state.consent_id, uuid.UUID)
    assert CookieChoice.objects.get().consent_id == outcome.state.consent_id
