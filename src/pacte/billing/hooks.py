"""Who is told when a payable is paid, has failed or is refunded: a small registry of callbacks.

Billing does not import the apps whose things it is paid for. Such an app (commerce, for its orders)
registers a callback in its ``AppConfig.ready()``::

    payment_outcome_register(lambda *, outcome, reference, amount, refunded, actor: …)

``outcome`` is ``"paid"``, ``"failed"``, ``"partially_refunded"``, ``"refunded"`` or ``"flagged"``;
``reference`` is the payable's uuid; ``amount`` and ``refunded`` are minor units. Callbacks run inside
the transaction that records the payment's new state (so the order and the payment change together or
not at all), once per state change: a replayed or out-of-order webhook calls nobody.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

OutcomeCallback = Callable[..., Any]
_callbacks: list[OutcomeCallback] = []


def payment_outcome_register(callback: OutcomeCallback) -> None:
    """Call ``callback`` (keyword arguments above) on every state change of a payment."""
    if callback not in _callbacks:
        _callbacks.append(callback)


def payment_outcome_unregister(callback: OutcomeCallback) -> None:
    if callback in _callbacks:
        _callbacks.remove(callback)


def payment_outcome_emit(
    *, outcome: str, reference: uuid.UUID, amount: int, refunded: int, actor: str
) -> None:
    """Tell every registered callback (inside the caller's transaction)."""
    for callback in list(_callbacks):
        callback(outcome=outcome, reference=reference, amount=amount, refunded=refunded, actor=actor)
