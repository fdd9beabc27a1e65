"""Reads of billing: payments, payment accounts, saved payment methods."""

from __future__ import annotations

import uuid

from django.utils.translation import gettext as _

from pacte.billing import error_codes
from pacte.billing.models import GatewayCustomer, PaymentAttempt, StoredPaymentMethod
from pacte.core.errors import PacteError


def payment_get(*, attempt_id: uuid.UUID | str) -> PaymentAttempt | None:
    """Return the payment attempt ``attempt_id``, or None."""
    return PaymentAttempt.objects.filter(pk=attempt_id).first()


def payment_list(
    *, reference: uuid.UUID | None = None, subject_id: uuid.UUID | None = None
) -> list[PaymentAttempt]:
    """Return the attempts of a payable or of a person, oldest first."""
    rows = PaymentAttempt.objects.all()
    if reference is not None:
        rows = rows.filter(reference=reference)
    if subject_id is not None:
        rows = rows.filter(subject_id=subject_id)
    return list(rows.order_by("created_at"))


def gateway_account_active(*, subject_id: uuid.UUID | str, gateway: str) -> GatewayCustomer | None:
    """Return the person's open account at ``gateway``, or None."""
    return GatewayCustomer.objects.filter(subject_id=subject_id, gateway=gateway, active=True).first()


def gateway_account_list(*, subject_id: uuid.UUID | str) -> list[GatewayCustomer]:
    """Return the person's payment accounts (open first, then closed), without decrypting their ids."""
    return list(
        GatewayCustomer.objects.filter(subject_id=subject_id)
        .defer("customer_ref")
        .order_by("-active", "gateway", "-opened_at")
    )


def access_gateway_account(*, subject_id: uuid.UUID | str, account_id: uuid.UUID | str) -> GatewayCustomer:
    """Return the account ``account_id`` if it is ``subject_id``'s; otherwise a coded 404 (no hint it exists)."""
    account = GatewayCustomer.objects.filter(pk=account_id, subject_id=subject_id).first()
    if account is None:
        raise PacteError(_("There is no such payment account."), error_codes.ACCOUNT_NOT_FOUND, status=404)
    return account


def payment_method_list(*, subject_id: uuid.UUID | str) -> list[StoredPaymentMethod]:
    """Return the person's saved payment methods (token left encrypted: only brand, last 4, expiry are shown)."""
    return list(
        StoredPaymentMethod.objects.filter(subject_id=subject_id).defer("token").order_by("-created_at")
    )


def payment_live(*, reference: uuid.UUID | str) -> PaymentAttempt | None:
    """Return the payable's one live payment (being paid, paid, refunded or flagged), or None."""
    return PaymentAttempt.objects.filter(reference=reference, live=True).first()


def payment_latest(*, reference: uuid.UUID | str) -> PaymentAttempt | None:
    """Return the payable's most recent payment attempt, live or failed, or None."""
    return PaymentAttempt.objects.filter(reference=reference).order_by("-created_at").first()


def access_payment_method(*, subject_id: uuid.UUID | str, method_id: uuid.UUID | str) -> StoredPaymentMethod:
    """Return the saved method ``method_id`` if it is ``subject_id``'s; otherwise a coded 404."""
    method = StoredPaymentMethod.objects.filter(pk=method_id, subject_id=subject_id).first()
    if method is None:
        raise PacteError(_("There is no such saved card."), error_codes.PAYMENT_NOT_FOUND, status=404)
    return method


def access_payment_at_gateway(
    *, subject_id: uuid.UUID | str, gateways: frozenset[str], gateway_id: str
) -> PaymentAttempt:
    """Return ``subject_id``'s latest attempt known at one of ``gateways`` as ``gateway_id``; else a coded 404."""
    attempt = (
        PaymentAttempt.objects.filter(gateway__in=gateways, gateway_id=gateway_id, subject_id=subject_id)
        .order_by("-created_at")
        .first()
    )
    if attempt is None:
        raise PacteError(_("There is no such payment."), error_codes.PAYMENT_NOT_FOUND, status=404)
    return attempt
