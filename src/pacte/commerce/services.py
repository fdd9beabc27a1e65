"""Writes of commerce: the catalogue, carts, orders and their states."""

from __future__ import annotations

import datetime
import hashlib
import json
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pacte.accounts.selectors import account_contact, organisation_list
from pacte.commerce import app_settings, error_codes, selectors, subscriptions
from pacte.commerce.cart import MAX_QUANTITY, Lines
from pacte.commerce.models import (
    INVOICED,
    STATE_TIME_FIELD,
    TRANSITIONS,
    Cart,
    CartLine,
    ContactChannel,
    Order,
    OrderContact,
    OrderLine,
    OrderStatus,
    PlanPeriod,
    Product,
    ProductKind,
)
from pacte.commerce.pricing import euros
from pacte.commerce.selectors import CartView
from pacte.core.errors import PacteError
from pacte.ledger.services import entry_append
from pacte.messaging.services import message_queue
from pacte.subjects.registry import value_plain

MERGED_KEPT = 20  # how many merged cookie ids a saved cart remembers


@transaction.atomic
def product_save(*, product: Product) -> Product:
    """Validate and save a catalogue entry (staff, through the admin, or the demo seed)."""
    product.full_clean()
    product.save()
    return product


# The demo catalogue: a few services and two plans (slug, kind, period, cents excl. VAT, VAT, FR, EN).
DEMO_CATALOGUE = (
    (
        "site-audit",
        "product",
        "",
        49000,
        "20.0",
        ("Audit de site", "Un audit complet de votre site : performances, accessibilité, vie privée."),
        ("Site audit", "A full audit of your site: performance, accessibility, privacy."),
    ),
    (
        "setup",
        "product",
        "",
        15000,
        "20.0",
        ("Mise en service", "Nous installons et configurons votre espace hébergé."),
        ("Setup", "We install and configure your hosted space."),
    ),
    (
        "training-hour",
        "product",
        "",
        8000,
        "20.0",
        ("Heure de formation", "Une heure de formation en visioconférence avec un expert."),
        ("Training hour", "One hour of video training with an expert."),
    ),
    (
        "ebook-guide",
        "product",
        "",
        1200,
        "5.5",
        ("Guide numérique", "Le guide de la conformité pour les petites boutiques (livre numérique)."),
        ("Digital guide", "The compliance guide for small shops (e-book)."),
    ),
    (
        "plan-essential",
        "plan",
        "month",
        1900,
        "20.0",
        ("Formule Essentielle", "Hébergement, sauvegardes quotidiennes et assistance par e-mail."),
        ("Essential plan", "Hosting, daily backups and e-mail support."),
    ),
    (
        "plan-pro-yearly",
        "plan",
        "year",
        39000,
        "20.0",
        ("Formule Pro (annuelle)", "Tout l’Essentiel, plus l’assistance par téléphone et un audit par an."),
        ("Pro plan (yearly)", "All of Essential, plus phone support and one audit a year."),
    ),
)


def catalogue_demo_seed() -> int:
    """Add the demo catalogue (products already there are left as they are); return how many were added."""
    added = 0
    for position, (slug, kind, period, cents, rate, fr, en) in enumerate(DEMO_CATALOGUE):
        if Product.objects.filter(slug=slug).exists():
            continue
        product_save(
            product=Product(
                slug=slug,
                kind=ProductKind(kind),
                period=PlanPeriod(period) if period else "",
                price_cents=cents,
                vat_rate=Decimal(rate),
                name_fr=fr[0],
                description_fr=fr[1],
                name_en=en[0],
                description_en=en[1],
                position=position,
            )
        )
        added += 1
    return added


# --- Saved carts (signed-in customers) ----------------------------------------------------------------


@transaction.atomic
def cart_save(*, subject_id: Any, lines: Lines) -> Cart:
    """Replace a customer's saved cart with ``lines`` (product id -> quantity, already checked)."""
    cart, _created = Cart.objects.select_for_update().get_or_create(subject_id=subject_id)
    CartLine.objects.filter(cart=cart).delete()
    CartLine.objects.bulk_create(
        CartLine(cart=cart, product_id=pid, quantity=qty, position=index)
        for index, (pid, qty) in enumerate(lines.items())
    )
    cart.save(update_fields=["updated_at"])
    return cart


@transaction.atomic
def cart_merge(*, subject_id: Any, lines: Lines, nonce: str) -> bool:
    """Merge a visitor's cookie cart into the customer's saved cart at sign-in; return whether it changed.

    Quantities of the same product add up (at most 99 each); products beyond the cart's size are left
    out. Merging the same cookie (``nonce``) again changes nothing, so a double sign-in or a retried
    request never doubles the cart.
    """
    if not lines:
        return False
    cart, _created = Cart.objects.select_for_update().get_or_create(subject_id=subject_id)
    if nonce and nonce in cart.merged:
        return False
    saved = dict(CartLine.objects.filter(cart=cart).values_list("product_id", "quantity"))
    merged = dict(saved)
    for pid, qty in lines.items():
        if pid in merged:
            merged[pid] = min(MAX_QUANTITY, merged[pid] + qty)
        elif len(merged) < app_settings.cart_max_lines():
            merged[pid] = qty
    existing = set(Product.objects.filter(pk__in=list(merged)).values_list("pk", flat=True))
    merged = {pid: qty for pid, qty in merged.items() if pid in existing}
    if nonce:
        cart.merged = [*cart.merged, nonce][-MERGED_KEPT:]
        cart.save(update_fields=["merged", "updated_at"])
    if merged == saved:
        return False
    cart_save(subject_id=subject_id, lines=merged)
    return True


def cart_export(subject: Any) -> Any:
    """Yield the lines of a subject's saved cart (for the export)."""
    for line in CartLine.objects.filter(cart__subject=subject).select_related("product"):
        yield {"product": line.product.slug, "quantity": line.quantity}


CART_EXPORT_FIELDS = ("product", "quantity")


def cart_erase(subject: Any) -> int:
    """Delete a subject's saved cart; return how many rows went."""
    deleted, _by_model = Cart.objects.filter(subject=subject).delete()
    return deleted


# --- Checkout and orders -------------------------------------------------------------------------------

CHECKOUT_SALT = "pacte.commerce.checkout"


def checkout_token_issue(*, subject_id: Any) -> str:
    """Return a one-time token for a checkout form: signed, naming the customer, with a random id.

    The random id becomes the order's ``checkout_token``; a second submission of the same form finds
    that order instead of placing another.
    """
    return signing.dumps({"s": str(subject_id), "n": secrets.token_urlsafe(18)}, salt=CHECKOUT_SALT)


def _checkout_token_read(*, token: str, subject_id: Any) -> str:
    try:
        data = signing.loads(token, salt=CHECKOUT_SALT, max_age=app_settings.checkout_max_age())
        if data["s"] != str(subject_id) or not isinstance(data["n"], str):
            raise ValueError("someone else's form")
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise PacteError(
            _("This checkout page is too old or was not yours. Check your order below and confirm again."),
            error_codes.CHECKOUT_EXPIRED,
        ) from None
    return str(data["n"])[:64]


def quote_digest(view: CartView) -> str:
    """Return a short fingerprint of what the customer was shown (products, quantities, prices, VAT)."""
    return hashlib.sha256(json.dumps(view.quote(), separators=(",", ":")).encode()).hexdigest()[:32]


def _reference() -> str:
    return "C" + secrets.token_hex(5).upper()


def _record(order: Order, *, before: str | None, after: str, actor: str) -> None:
    entry_append(
        type="order.state",
        subject_id=order.subject_id,
        actor=actor,
        payload={"order_id": str(order.pk), "from_state": before, "to_state": after},
    )


def _buyer(customer: Any) -> tuple[str, str, Any]:
    """Return the name, organisation and billing address an invoice shows for ``customer``.

    An employer's account holder orders for the organisation they administer: its legal name and
    address go on the order, with the person's name.
    """
    organisation = None
    if getattr(customer, "kind", "") == "employer":
        organisation = next(iter(organisation_list(administrator=customer)), None)
    name = str(customer.name or "")
    if organisation is not None:
        return (
            name,
            str(organisation.legal_name or ""),
            organisation.postal_address or customer.postal_address,
        )
    return name, "", customer.postal_address or None


def _confirmation_queue(order: Order, lines: list[OrderLine]) -> None:
    """Queue the order's confirmation mail in the customer's language (through the outbox, same transaction)."""
    contact = account_contact(subject_id=order.subject_id)
    if contact is None or not contact.address:
        return
    lang = contact.language if contact.language in ("fr", "en") else "fr"
    with translation.override(lang):
        text = render_to_string(
            "commerce/email/order_confirmation.txt",
            {
                "order": order,
                "lines": [
                    {
                        "name": line.name(lang),
                        "quantity": line.quantity,
                        "net": euros(line.net_cents, lang),
                        "vat_rate": line.vat_rate,
                    }
                    for line in lines
                ],
                "net": euros(order.net_cents, lang),
                "vat": euros(order.vat_cents, lang),
                "gross": euros(order.gross_cents, lang),
                "url": _absolute(reverse("commerce:order", args=[order.pk])),
            },
        ).strip()
    subject_line, _sep, body = text.partition("\n")
    message_queue(
        subject_id=order.subject_id,
        to=contact.address,
        subject_line=subject_line.strip(),
        body=body.strip() + "\n",
        template="commerce/order_confirmation",
        purpose=order.purpose,
    )


def _absolute(path: str) -> str:
    return settings.PACTE_BASE_URL.rstrip("/") + path


@transaction.atomic
def order_place(*, customer: Any, token: str, quote: str, lang: str) -> tuple[Order, bool]:
    """Turn the customer's saved cart into an order pending payment; return (order, created).

    The totals are computed here, from today's catalogue, never taken from the form. ``quote`` is the
    fingerprint of what the checkout page showed: if a price, a VAT rate or the cart changed since, the
    order is refused (``commerce.price_changed``) so that the customer sees the new total before
    confirming. ``token`` is the form's one-time token: submitting the same form twice returns the
    order the first submission placed. One ``order.state`` ledger entry (none → pending_payment), the
    cart emptied and the confirmation mail queued, all in this transaction.
    """
    subject_id = customer.subject_id
    nonce = _checkout_token_read(token=token, subject_id=subject_id)
    existing = Order.objects.filter(checkout_token=nonce).first()
    if existing is not None:
        return existing, False
    purpose = selectors.order_purpose()
    view = selectors.cart_view(lines=selectors.cart_lines_saved(subject_id=subject_id), lang=lang)
    if not view.rows:
        raise PacteError(_("Your cart is empty: add something to it first."), error_codes.CART_EMPTY)
    if view.dropped or quote_digest(view) != quote:
        raise PacteError(
            _(
                "Your cart or its prices changed since you opened this page. Check the new total and confirm again."
            ),
            error_codes.PRICE_CHANGED,
            status=409,
        )
    name, organisation, address = _buyer(customer)
    try:
        with transaction.atomic():
            order = order_create(
                subject_id=subject_id,
                view=view,
                purpose=purpose,
                lang=lang,
                buyer=(name, organisation, address),
                actor=f"subject:{subject_id}",
                checkout_token=nonce,
            )
    except IntegrityError:  # the same form, submitted twice at once: the other submission won
        return Order.objects.get(checkout_token=nonce), False
    cart_save(subject_id=subject_id, lines={})
    return order, True


@transaction.atomic
def order_create(
    *,
    subject_id: Any,
    view: CartView,
    purpose: str,
    lang: str,
    buyer: tuple[str, str, Any],
    actor: str,
    checkout_token: str | None = None,
    renews: Any = None,
) -> Order:
    """Write an order pending payment for the priced ``view`` (its lines copied as sold); return it.

    ``buyer`` is (name, organisation, billing address) as the invoice will show them. One
    ``order.state`` ledger entry (none → pending_payment) and the confirmation mail queued, in this
    transaction. ``order_place`` (checkout) and ``subscriptions_renew_due`` (a new period) call it.
    """
    name, organisation, address = buyer
    order = Order(
        subject_id=subject_id,
        reference=_reference(),
        purpose=purpose,
        lang=lang,
        net_cents=view.net_cents,
        vat_cents=view.vat_cents,
        gross_cents=view.gross_cents,
        buyer_name=name,
        organisation_name=organisation,
        billing_address=address,
        checkout_token=checkout_token,
        renews=renews,
    )
    order.full_clean(exclude=["billing_address", "renews"])
    order.save(force_insert=True)
    lines = OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=row.product,
            product_slug=row.product.slug,
            name_fr=row.product.name_fr,
            name_en=row.product.name_en,
            kind=row.product.kind,
            period=row.product.period,
            unit_cents=row.unit_cents,
            quantity=row.quantity,
            vat_rate=row.vat_rate,
            net_cents=row.net_cents,
            vat_cents=row.vat_cents,
            gross_cents=row.gross_cents,
            position=index,
        )
        for index, row in enumerate(view.rows)
    )
    _record(order, before=None, after=OrderStatus.PENDING_PAYMENT, actor=actor)
    _confirmation_queue(order, lines)
    return order


def _transition(order: Order, *, to: str, actor: str) -> Order:
    """Move ``order`` to state ``to`` (locked, checked, timed, recorded in the ledger)."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if to not in TRANSITIONS[locked.status]:
        raise PacteError(
            _("An order in state “%(state)s” cannot become “%(to)s”.")
            % {"state": OrderStatus(locked.status).label, "to": OrderStatus(to).label},
            error_codes.TRANSITION_INVALID,
            status=409,
        )
    before = locked.status
    locked.status = to
    setattr(locked, STATE_TIME_FIELD[to], timezone.now())
    locked.save(update_fields=["status", STATE_TIME_FIELD[to]])
    _record(locked, before=before, after=to, actor=actor)
    return locked


@transaction.atomic
def order_mark_paid(*, order: Order, actor: str) -> Order:
    """Record that an order pending payment is paid (billing calls this once its gateway confirms).

    Idempotent: a paid (or since fulfilled) order is returned unchanged, with no second ledger entry, so a
    gateway's repeated notification is harmless. A cancelled or refunded order is refused
    (``commerce.transition_invalid``). ``actor`` is pseudonymous: ``system``, ``staff:<id>``…
    """
    current = Order.objects.select_for_update().get(pk=order.pk)
    if current.status in (OrderStatus.PAID, OrderStatus.FULFILLED):
        return current
    paid = _transition(current, to=OrderStatus.PAID, actor=actor)
    subscriptions.subscriptions_start(order=paid)
    subscriptions.subscription_resume(order=paid, actor=actor)
    # The operator's `order.paid` webhook is emitted by billing's outcome callback, in this transaction.
    return paid


@transaction.atomic
def order_fulfil(*, order: Order, actor: str) -> Order:
    """Record that a paid order was delivered (service provided, access opened)."""
    return _transition(order, to=OrderStatus.FULFILLED, actor=actor)


@transaction.atomic
def order_cancel(*, order: Order, actor: str) -> Order:
    """Cancel an order that is not paid yet (a paid one is refunded instead)."""
    return _transition(order, to=OrderStatus.CANCELLED, actor=actor)


@transaction.atomic
def order_refund(*, order: Order, actor: str) -> Order:
    """Record that a paid order was refunded (the money itself moves through billing)."""
    return _transition(order, to=OrderStatus.REFUNDED, actor=actor)


@transaction.atomic
def order_contact_record(
    *, order: Order, channel: str, contacted_at: datetime.datetime, note: str, actor: str
) -> OrderContact:
    """Record that staff contacted the customer about ``order`` (the note is encrypted under their keys)."""
    contact = OrderContact(
        order=order,
        subject_id=order.subject_id,
        channel=ContactChannel(channel),
        contacted_at=contacted_at,
        note=note,
        recorded_by=actor,
    )
    contact.full_clean(exclude=["note"])
    if not str(note).strip():
        raise PacteError(_("Write what the contact was about."), error_codes.NOTE_EMPTY)
    contact.save(force_insert=True)
    return contact


# --- Rights: export and erasure ------------------------------------------------------------------------

ORDER_EXPORT_FIELDS = (
    "reference",
    "status",
    "created_at",
    "paid_at",
    "fulfilled_at",
    "cancelled_at",
    "refunded_at",
    "buyer_name",
    "organisation_name",
    "billing_address",
    "items",
    "net_cents",
    "vat_cents",
    "gross_cents",
    "currency",
)


def order_export(subject: Any) -> Any:
    """Yield each order of ``subject`` with its items (one row per order, items as text)."""
    orders = Order.objects.filter(subject=subject).prefetch_related("lines").order_by("created_at")
    for order in orders.iterator(chunk_size=200):
        items = "; ".join(f"{line.name(order.lang)} × {line.quantity}" for line in order.lines.all())
        yield {
            **{name: value_plain(getattr(order, name)) for name in ORDER_EXPORT_FIELDS if name != "items"},
            "items": items,
        }


def order_erase(subject: Any) -> int:
    """Erase a subject's orders, keeping what the law requires of the invoiced ones; return rows deleted.

    An order that was paid (paid, fulfilled, refunded) has an invoice: it stays whole, as an invoice
    must (reference, dates, lines, amounts, buyer's name, organisation and billing address), its
    personal fields readable only under the ``invoices`` key that the erasure keeps until the legal term;
    its checkout token goes. An order never paid (pending payment, cancelled) has no invoice: deleted,
    lines and all. Staff's contact notes about any order are deleted.
    """
    deleted, _by_model = OrderContact.objects.filter(subject=subject).delete()
    unpaid = Order.objects.filter(subject=subject).exclude(status__in=INVOICED)
    gone, _by_model = unpaid.delete()
    Order.objects.filter(subject=subject).update(checkout_token=None)
    return deleted + gone


def order_contact_export(subject: Any) -> Any:
    """Yield staff's recorded contacts with the subject about their orders."""
    for contact in OrderContact.objects.filter(subject=subject).select_related("order"):
        yield {
            "order": contact.order.reference,
            "channel": contact.channel,
            "contacted_at": contact.contacted_at.isoformat(),
            "note": str(contact.note) if contact.note else "",
        }


ORDER_CONTACT_EXPORT_FIELDS = ("order", "channel", "contacted_at", "note")
