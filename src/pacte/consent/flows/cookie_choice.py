"""The cookie banner's choice: what one answer of a browser changes, beyond HTTP.

The caller (the cookie view today) reads the browser's banner state and the form, calls
``cookie_choice_make``, then writes ``outcome.state`` to the banner cookie and deletes
``outcome.cookies_to_delete``. The flow records the anonymous proof of the choice (no person, no IP).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from pacte.consent import banner, selectors, services

ACTIONS = ("accept", "refuse", "grant", "save")


@dataclass(frozen=True)
class CookieChoiceOutcome:
    choices: dict[str, bool]  # one yes/no per purpose the banner asks about
    state: banner.BannerState  # to store in the banner cookie
    cookies_to_delete: list[str]  # declared cookies of refused purposes that this browser holds
    newly_granted: list[str]  # purposes granted now and not before: the page reloads to load them


def choices_for(
    *,
    action: str,
    purposes: list[str],
    previous: dict[str, bool],
    purpose: str = "",
    chosen: Iterable[str] = (),
) -> dict[str, bool]:
    """Return the yes/no per purpose that ``action`` means; anything unexpected is a refusal.

    ``accept`` grants all, ``refuse`` refuses all, ``grant`` adds ``purpose`` to the previous choices
    (the two-click placeholder of a widget), ``save`` keeps exactly the ``chosen`` purposes.
    """
    if action == "accept":
        return {pid: True for pid in purposes}
    if action == "grant":
        return {pid: pid == purpose or previous.get(pid, False) for pid in purposes}
    if action == "save":
        picked = set(chosen)
        return {pid: pid in picked for pid in purposes}
    return {pid: False for pid in purposes}  # "refuse", closing the banner, anything unexpected


def cookie_choice_make(
    *,
    state: banner.BannerState,
    action: str,
    purpose: str = "",
    chosen: Iterable[str] = (),
    cookies_held: Iterable[str] = (),
) -> CookieChoiceOutcome:
    """Record one banner answer of a browser and return what to store and what to delete.

    ``state`` is the browser's current banner state, ``cookies_held`` the names of the cookies it
    sent. The proof (random consent id, policy version, choices, time) is kept in one transaction;
    withdrawn means gone, so every declared cookie of a refused purpose that the browser holds is listed.
    """
    purposes = [row.id for row in selectors.banner_purposes()]
    previous = {pid: state.granted(pid) for pid in purposes}
    choices = choices_for(action=action, purposes=purposes, previous=previous, purpose=purpose, chosen=chosen)
    record = services.cookie_choice_record(consent_id=state.consent_id, choices=choices)
    new_state = banner.BannerState(
        consent_id=record.consent_id or uuid.uuid4(),
        version=record.policy_version,
        chosen_at=banner.now(),
        choices=choices,
        must_ask=False,
    )
    withdrawn = [pid for pid, granted in choices.items() if not granted]
    held = set(cookies_held)
    return CookieChoiceOutcome(
        choices=choices,
        state=new_state,
        cookies_to_delete=[name for name in selectors.cookie_names_of(purposes=withdrawn) if name in held],
        newly_granted=[pid for pid, granted in choices.items() if granted and not previous.get(pid)],
    )
