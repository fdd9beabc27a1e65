"""The ledger: append-only entries, the stored Merkle tree and its signed heads (default database)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EntryType(models.TextChoices):
    CONSENT_GRANTED = "consent.granted", _("Consent granted")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("Consent withdrawn")
    TERMS_ACCEPTED = "terms.accepted", _("Terms of use accepted")
    POLICY_ACCEPTED = "policy.accepted", _("Privacy policy version accepted")
    POLICY_PUBLISHED = "policy.published", _("Privacy policy version published")
    RECTIFICATION = "rectification", _("Data rectified")
    DISCLOSURE = "disclosure", _("Data disclosed to a recipient")
    STAFF_READ = "staff.read", _("Personal data read by staff")
    RIGHTS_STEP = "rights.step", _("Step of a rights request")
    KEY_DESTROYED = "key.destroyed", _("Encryption keys destroyed")
    ACCOUNT_CREATED = "account.created", _("Account created")
    ACCOUNT_DEACTIVATED = "account.deactivated", _("Account deactivated")
    ACCOUNT_REACTIVATED = "account.reactivated", _("Account reactivated")
    ACCOUNT_ERASED = "account.erased", _("Account erased")
    AUTHORITY_STEP = "authority.step", _("Step of an authority request")
    ORDER_STATE = "order.state", _("Order state changed")
    PAYMENT_STATE = "payment.state", _("Payment state changed")
    PAYMENT_ACCOUNT_STATE = "payment_account.state", _("Payment gateway account opened or closed")
    SUBSCRIPTION_STATE = "subscription.state", _("Subscription state changed")


# The keys of each entry type's payload, fixed: never free text, never plaintext personal data.
PAYLOAD_KEYS: dict[str, frozenset[str]] = {
    EntryType.CONSENT_GRANTED: frozenset({"purpose", "policy_version", "source"}),
    EntryType.CONSENT_WITHDRAWN: frozenset({"purpose", "policy_version", "source"}),
    EntryType.TERMS_ACCEPTED: frozenset(
        {"terms_url", "terms_version", "terms_sha256", "policy_version", "policy_sha256"}
    ),
    EntryType.POLICY_ACCEPTED: frozenset({"policy_version", "policy_sha256"}),
    EntryType.POLICY_PUBLISHED: frozenset({"policy_version", "policy_sha256"}),
    EntryType.RECTIFICATION: frozenset({"field", "source"}),
    EntryType.DISCLOSURE: frozenset({"recipient", "purpose", "categories"}),
    EntryType.STAFF_READ: frozenset({"model", "fields", "reason"}),
    EntryType.RIGHTS_STEP: frozenset({"request_id", "kind", "step"}),
    EntryType.KEY_DESTROYED: frozenset({"retention_class", "keys"}),
    EntryType.ACCOUNT_CREATED: frozenset({"kind"}),
    EntryType.ACCOUNT_DEACTIVATED: frozenset({"reason"}),
    EntryType.ACCOUNT_REACTIVATED: frozenset(),
    EntryType.ACCOUNT_ERASED: frozenset(),
    # No subject: the people concerned may not be told yet, and their own entries are what they see.
    EntryType.AUTHORITY_STEP: frozenset({"request_id", "step"}),
    EntryType.ORDER_STATE: frozenset({"order_id", "from_state", "to_state"}),
    # billing: which payment (Pacte's id), at which gateway, the new state and a coded reason; no amount.
    EntryType.PAYMENT_STATE: frozenset({"payment", "gateway", "state", "reason"}),
    EntryType.PAYMENT_ACCOUNT_STATE: frozenset({"account", "gateway", "state", "reason"}),
    EntryType.SUBSCRIPTION_STATE: frozenset({"subscription_id", "from_state", "to_state"}),
}


class Entry(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    time = models.DateTimeField()
    type = models.CharField(max_length=32, choices=EntryType.choices)
    subject_id = models.UUIDField(null=True, blank=True, db_index=True)
    actor = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"#{self.seq} {self.type}"


class Node(models.Model):
    """The hash of a complete (perfect) subtree: level 0 = a leaf, index = its position at that level.

    ``completed_at`` is the sequence number of the entry that completed it, so that `verify` can stream
    the nodes alongside the entries instead of holding the tree in memory.
    """

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)
    completed_at = models.BigIntegerField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["level", "index"], name="ledger_node_unique")]

    def __str__(self) -> str:
        return f"{self.level}/{self.index}"


class LedgerState(models.Model):
    """One row: the tree size and its right frontier (the perfect subtrees that make up the tree)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    size = models.BigIntegerField(default=0)
    frontier = models.JSONField(default=list)  # [[level, hex hash], …] from the left

    def __str__(self) -> str:
        return f"size {self.size}"


class TreeHead(models.Model):
    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    timestamp = models.BigIntegerField(help_text="milliseconds since the epoch")
    signature = models.BinaryField(max_length=64)
    key_id = models.CharField(max_length=64)

    class Meta:
        ordering = ["tree_size"]

    def __str__(self) -> str:
        return f"STH {self.tree_size}"

    def as_dict(self) -> dict:
        return {
            "tree_size": self.tree_size,
            "root_hash": bytes(self.root_hash).hex(),
            "timestamp": self.timestamp,
            "signature": bytes(self.signature).hex(),
        }
