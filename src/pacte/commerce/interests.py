"""Items of interest: writes and reads (one topic per module, as ``sharing/authorities.py``).

What a signed-in customer viewed (recorded on the product page) or saved for later, kept only under the
legitimate-interest purpose the policy declares for it (PluSuite: ``site_improvement``, whose categories
include ``commerce.interests``) and its retention. Their only use in code is aggregate: staff's "popular
items", counts per product without identities, small counts suppressed. The customer sees and deletes
them in My account, and may object (GDPR art. 21): recorded as an objection request (rights), which
deletes them and stops any further recording.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.commerce import app_settings, error_codes
from pacte.commerce.models import Interest, InterestKind, InterestObjection, Product
from pacte.core.errors import PacteError
from pacte.policy.selectors import policy_active
from pacte.rights.services import request_complete, request_create, request_step
from pacte.subjects.registry import value_plain
from pacte.subjects.selectors import subject_get, subject_is_restricted

CATEGORY = "commerce.interests"


def interest_purpose() -> str | None:
    """Return the purpose items of interest are kept under, or None (the feature is off).

    The first of ``interest_purposes`` that the policy declares on the legitimate-interest basis with the
    ``commerce.interests`` category; PluSuite: ``site_improvement``; A PLUS C: none.
    """
    purposes = policy_active().purposes
    for pid in app_settings.interest_purposes():
        purpose = purposes.get(pid)
        if (
            purpose is not None
            and purpose.legal_basis == "legitimate_interest"
            and CATEGORY in purpose.categories
        ):
            return pid
    return None


def interest_objected(*, subject_id: Any) -> bool:
    """Tell whether the customer objected to the recording of their items of interest."""
    return InterestObjection.objects.filter(subject_id=subject_id).exists()


def interest_recording(*, subject_id: Any) -> bool:
    """Tell whether items of interest may be recorded for this customer now."""
    return (
        subject_id is not None
        and interest_purpose() is not None
        and not interest_objected(subject_id=subject_id)
        and not subject_is_restricted(subject_id=subject_id)
    )


# --- Writes ---------------------------------------------------------------------------------------------


@transaction.atomic
def interest_record(*, subject_id: Any, product: Product, kind: str) -> bool:
    """Record that the customer viewed or saved ``product``; return whether anything was recorded.

    Nothing is recorded without the purpose, after an objection, or while processing is restricted. A
    product seen again only moves its time; past ``interest_max_per_customer`` the oldest views go.
    """
    kind = InterestKind(kind)
    if not interest_recording(subject_id=subject_id):
        return False
    now = timezone.now()
    updated = Interest.objects.filter(subject_id=subject_id, product=product, kind=kind).update(last_at=now)
    if not updated:
        try:
            with transaction.atomic():
                Interest.objects.create(subject_id=subject_id, product=product, kind=kind, last_at=now)
        except IntegrityError:  # the same page, twice at once
            return True
        extra = Interest.objects.filter(subject_id=subject_id).order_by("-last_at")[
            app_settings.interest_max_per_customer() :
        ]
        Interest.objects.filter(pk__in=[row.pk for row in extra], kind=InterestKind.VIEWED).delete()
    return True


@transaction.atomic
def interest_delete(*, subject_id: Any, interest_id: Any = None) -> int:
    """Delete one of the customer's items of interest (or all of them when ``interest_id`` is None)."""
    rows = Interest.objects.filter(subject_id=subject_id)
    if interest_id is not None:
        text = str(interest_id)
        if not text.isdigit():
            return 0
        rows = rows.filter(pk=int(text))
    deleted, _by_model = rows.delete()
    return deleted


@transaction.atomic
def interest_object(*, subject_id: Any, lang: str = "fr") -> bool:
    """Record the customer's objection (art. 21) to items of interest: delete them, record no more.

    Recorded as a rights request of kind ``objection`` (received through My account, identity: signed
    in), whose steps go to the ledger; done at once. Objecting twice changes nothing (returns False).
    """
    purpose = interest_purpose() or (app_settings.interest_purposes() or ("site_improvement",))[0]
    if interest_objected(subject_id=subject_id):
        return False
    subject = subject_get(subject_id=subject_id)
    if subject is None:
        raise PacteError(_("There is no such data subject."), error_codes.INTERESTS_OFF, status=404)
    request = request_create(
        subject=subject,
        kind="objection",
        channel="portal",
        identity_check="signed_in",
        details=f"{purpose}: {CATEGORY}",
        lang=lang,
    )

    def work() -> None:
        InterestObjection.objects.create(subject_id=subject_id, purpose=purpose)
        Interest.objects.filter(subject_id=subject_id).delete()

    request_step(request, "objection_applied", work)
    request_complete(request=request)
    return True


# --- Reads ----------------------------------------------------------------------------------------------


def interest_list(*, subject_id: Any) -> QuerySet[Interest]:
    """Return the customer's items of interest, most recent first, with their products (one query)."""
    return Interest.objects.filter(subject_id=subject_id).select_related("product").order_by("-last_at")


def interest_saved(*, subject_id: Any, product: Product) -> bool:
    """Tell whether the customer saved ``product`` for later."""
    return Interest.objects.filter(subject_id=subject_id, product=product, kind=InterestKind.SAVED).exists()


@dataclass(frozen=True)
class PopularItem:
    product: Product
    viewers: int | None  # None: fewer customers than the threshold (not shown)
    savers: int | None


def popular_items(*, min_count: int | None = None, limit: int = 50) -> list[PopularItem]:
    """Return products by how many customers viewed or saved them: counts only, never who.

    One aggregate query (counts of distinct subjects per product and kind); a count below ``min_count``
    (``popular_min_count``) is suppressed, and a product whose counts are all suppressed is left out.
    """
    threshold = app_settings.popular_min_count() if min_count is None else min_count
    rows = (
        Interest.objects.values("product")
        .annotate(
            viewers=Count("subject", filter=Q(kind=InterestKind.VIEWED), distinct=True),
            savers=Count("subject", filter=Q(kind=InterestKind.SAVED), distinct=True),
        )
        .filter(Q(viewers__gte=threshold) | Q(savers__gte=threshold))
        .order_by("-viewers", "-savers", "product")[:limit]
    )
    counts = list(rows)
    products = Product.objects.in_bulk([row["product"] for row in counts])
    return [
        PopularItem(
            product=products[row["product"]],
            viewers=row["viewers"] if row["viewers"] >= threshold else None,
            savers=row["savers"] if row["savers"] >= threshold else None,
        )
        for row in counts
    ]


# --- Rights ---------------------------------------------------------------------------------------------

INTEREST_EXPORT_FIELDS = ("product", "kind", "first_at", "last_at")


def interest_export(subject: Any) -> Any:
    """Yield the subject's items of interest (product address, kind, first and last time)."""
    for row in Interest.objects.filter(subject=subject).select_related("product").order_by("first_at"):
        yield {
            "product": row.product.slug,
            "kind": row.kind,
            "first_at": value_plain(row.first_at),
            "last_at": value_plain(row.last_at),
        }


def interest_erase(subject: Any) -> int:
    """Delete the subject's items of interest and their objection record; return how many rows."""
    deleted, _rows = Interest.objects.filter(subject=subject).delete()
    gone, _rows = InterestObjection.objects.filter(subject=subject).delete()
    return deleted + gone


OBJECTION_EXPORT_FIELDS = ("purpose", "created_at")
