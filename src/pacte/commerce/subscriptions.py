"""Subscriptions: writes and reads (one topic per module, as ``sharing/authorities.py``).

A paid order line of a plan starts a ``Subscription`` (one period: a month or a year). At each period's
end ``subscriptions_renew_due`` places the next period's order, pending payment (billing charges it),
or ends a subscription the customer cancelled. Cancelling (My account, two clicks) takes effect at the
period's end and is confirmed by mail; after it no order, hence no order mail, is made for it. Each
change of state is one ``subscription.state`` ledger entry.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pacte.accounts.selectors import account_contact
from pacte.commerce import error_codes, hooks, selectors
from pacte.commerce import services as order_services
from pacte.commerce.models import (
    Order,
    PlanPeriod,
    ProductKind,
    Subscription,
    SubscriptionState,
)
from pacte.core.errors import PacteError
from pacte.ledger.services import entry_append
from pacte.messaging.services import message_queue
from pacte.subjects.registry import value_plain


def months_later(moment: datetime.datetime, months: int) -> datetime.datetime:
    """Return ``moment`` plus ``months`` calendar months (31 January + 1 month = 28 or 29 February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_end(start: datetime.datetime, period: str) -> datetime.datetime:
    """Return the end of the period of kind ``period`` (month or year) that starts at ``start``."""
    return months_later(start, 12 if period == PlanPeriod.YEAR else 1)


def _record(subscription: Subscription, *, before: str | None, after: str, actor: str) -> None:
    entry_append(
        type="subscription.state",
        subject_id=subscription.subject_id,
        actor=actor,
        payload={"subscription_id": str(subscription.pk), "from_state": before, "to_state": after},
    )


# --- Writes ---------------------------------------------------------------------------------------------


@transaction.atomic
def subscriptions_start(*, order: Order) -> list[Subscription]:
    """Start one subscription per plan line of a newly paid ``order`` (not for a renewal's order).

    Called by ``order_mark_paid`` in its transaction; the first period starts at the payment. A renewal
    order (``order.renews``) starts nothing: its subscription already moved to the new period.
    """
    if order.renews_id is not None or order.subscriptions.exists():
        return []
    started = []
    start = order.paid_at or timezone.now()
    for line in order.lines.filter(kind=ProductKind.PLAN).select_related("product"):
        if line.product is None:
            continue
        subscription = Subscription(
            subject_id=order.subject_id,
            plan=line.product,
            order=order,
            quantity=line.quantity,
            period_start=start,
            period_end=period_end(start, line.period or line.product.period),
        )
        subscription.full_clean(exclude=["plan", "order"])
        subscription.save(force_insert=True)
        _record(subscription, before=None, after=SubscriptionState.ACTIVE, actor="system")
        started.append(subscription)
    return started


@transaction.atomic
def subscription_cancel(*, subject_id: Any, subscription_id: Any, lang: str = "fr") -> Subscription:
    """Cancel the customer's subscription at the end of its current period; confirm it by mail.

    One ``subscription.state`` entry (active → cancel_at_period_end) and the confirmation queued through
    the outbox, in this transaction. Someone else's subscription is not found; one already cancelled or
    ended is refused (``commerce.subscription_not_active``), nothing changed and no mail.
    """
    locked = (
        Subscription.objects.select_for_update().filter(subject_id=subject_id, pk=subscription_id).first()
    )
    if locked is None:
        raise PacteError(
            _("There is no such subscription in your account."), error_codes.SUBSCRIPTION_UNKNOWN, status=404
        )
    if locked.state != SubscriptionState.ACTIVE:
        raise PacteError(
            _("This subscription is already cancelled."), error_codes.SUBSCRIPTION_NOT_ACTIVE, status=409
        )
    locked.state = SubscriptionState.CANCEL_AT_PERIOD_END
    locked.cancelled_at = timezone.now()
    locked.save(update_fields=["state", "cancelled_at"])
    _record(locked, before=SubscriptionState.ACTIVE, after=locked.state, actor=f"subject:{locked.subject_id}")
    _cancellation_queue(locked, lang)
    return locked


def _cancellation_queue(subscription: Subscription, lang: str) -> None:
    contact = account_contact(subject_id=subscription.subject_id)
    if contact is None or not contact.address:
        return
    lang = contact.language if contact.language in ("fr", "en") else lang
    with translation.override(lang):
        text = render_to_string(
            "commerce/email/subscription_cancelled.txt",
            {
                "plan": subscription.plan.name(lang),
                "until": subscription.period_end,
                "url": order_services._absolute(reverse("commerce:subscriptions")),
            },
        ).strip()
    subject_line, _sep, body = text.partition("\n")
    message_queue(
        subject_id=subscription.subject_id,
        to=contact.address,
        subject_line=subject_line.strip(),
        body=body.strip() + "\n",
        template="commerce/subscription_cancelled",
        purpose=selectors.order_purpose(),
    )


def subscriptions_renew_due(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Renew or end every subscription whose period has ended by ``now``; return the counts.

    An active one moves to its next period and gets that period's order, pending payment (billing
    charges it; the customer gets the order's mail). A cancelled one ends, with no order and no mail;
    so does one whose plan is no longer on sale. Each subscription is handled in its own transaction,
    locked and checked again: running it twice, or on two machines, renews once.
    """
    now = now or timezone.now()
    counts = {"renewed": 0, "ended": 0}
    due = Subscription.objects.filter(
        state__in=[SubscriptionState.ACTIVE, SubscriptionState.CANCEL_AT_PERIOD_END], period_end__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due):
        outcome = _renew_one(pk=pk, now=now)
        if outcome:
            counts[outcome] += 1
    return counts


@transaction.atomic
def _renew_one(*, pk: Any, now: datetime.datetime) -> str | None:
    sub = (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("plan", "order")
        .filter(pk=pk)
        .first()
    )
    if sub is None or sub.period_end > now or sub.state == SubscriptionState.ENDED:
        return None
    if sub.state == SubscriptionState.CANCEL_AT_PERIOD_END or not sub.plan.active:
        before = sub.state
        sub.state = SubscriptionState.ENDED
        sub.ended_at = sub.period_end
        sub.save(update_fields=["state", "ended_at"])
        _record(sub, before=before, after=SubscriptionState.ENDED, actor="system")
        return "ended"
    origin = sub.order
    lang = origin.lang if origin is not None else "fr"
    view = selectors.cart_view(lines={sub.plan.pk: sub.quantity}, lang=lang)
    buyer = (
        (str(origin.buyer_name or ""), str(origin.organisation_name or ""), origin.billing_address or None)
        if origin is not None
        else ("", "", None)
    )
    sub.period_start = sub.period_end
    sub.period_end = period_end(sub.period_start, sub.plan.period)
    sub.save(update_fields=["period_start", "period_end"])
    renewal = order_services.order_create(
        subject_id=sub.subject_id,
        view=view,
        purpose=selectors.order_purpose(),
        lang=lang,
        buyer=buyer,
        actor="system",
        renews=sub,
    )
    transaction.on_commit(lambda: hooks.renewal_order_created(renewal.pk))
    return "renewed"


@transaction.atomic
def subscription_suspend(*, order_id: Any, actor: str = "system") -> Subscription | None:
    """Suspend the subscription whose renewal order ``order_id`` could not be paid (billing's last try).

    A suspended subscription is not renewed again; paying its renewal order by hand resumes it
    (``subscription_resume``, from ``order_mark_paid``). Returns None when the order renews nothing or
    its subscription has ended or been cancelled meanwhile.
    """
    order = Order.objects.filter(pk=order_id).only("renews_id").first()
    if order is None or order.renews_id is None:
        return None
    sub = Subscription.objects.select_for_update(of=("self",)).filter(pk=order.renews_id).first()
    if sub is None or sub.state != SubscriptionState.ACTIVE:
        return None
    sub.state = SubscriptionState.SUSPENDED
    sub.save(update_fields=["state"])
    _record(sub, before=SubscriptionState.ACTIVE, after=SubscriptionState.SUSPENDED, actor=actor)
    return sub


def subscription_resume(*, order: Order, actor: str = "system") -> Subscription | None:
    """Resume the suspended subscription a just-paid renewal ``order`` renews (in the caller's transaction)."""
    if order.renews_id is None:
        return None
    sub = Subscription.objects.select_for_update(of=("self",)).filter(pk=order.renews_id).first()
    if sub is None or sub.state != SubscriptionState.SUSPENDED:
        return None
    sub.state = SubscriptionState.ACTIVE
    sub.save(update_fields=["state"])
    _record(sub, before=SubscriptionState.SUSPENDED, after=SubscriptionState.ACTIVE, actor=actor)
    return sub


# --- Reads ----------------------------------------------------------------------------------------------


def subscription_list(*, subject_id: Any) -> QuerySet[Subscription]:
    """Return the customer's subscriptions, current ones first, with their plans (one query)."""
    return (
        Subscription.objects.filter(subject_id=subject_id)
        .select_related("plan")
        .order_by("state", "-created_at")
    )


def access_subscription(*, subject_id: Any, subscription_id: Any) -> Subscription:
    """Return the customer's subscription, or refuse (someone else's looks unknown)."""
    found = (
        Subscription.objects.filter(subject_id=subject_id, pk=subscription_id).select_related("plan").first()
    )
    if found is None:
        raise PacteError(
            _("There is no such subscription in your account."), error_codes.SUBSCRIPTION_UNKNOWN, status=404
        )
    return found


# --- Rights ---------------------------------------------------------------------------------------------

SUBSCRIPTION_EXPORT_FIELDS = (
    "plan",
    "quantity",
    "state",
    "period_start",
    "period_end",
    "created_at",
    "cancelled_at",
    "ended_at",
)


def subscription_export(subject: Any) -> Any:
    """Yield the subject's subscriptions (plan address, state, current period, dates)."""
    for row in Subscription.objects.filter(subject=subject).select_related("plan").order_by("created_at"):
        yield {
            **{
                name: value_plain(getattr(row, name)) for name in SUBSCRIPTION_EXPORT_FIELDS if name != "plan"
            },
            "plan": row.plan.slug,
        }


def subscription_erase(subject: Any) -> int:
    """Delete the subject's subscriptions (their paid orders stay under the legal hold); return how many."""
    deleted, _rows = Subscription.objects.filter(subject=subject).delete()
    return deleted
