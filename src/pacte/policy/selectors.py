"""Reads of the policy. Every other app asks here; only ``policy`` reads the file."""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from pacte.policy.loader import LoadedPolicy, load_policy_file, parse_policy
from pacte.policy.models import PolicyVersion
from pacte.policy.schema import Cookie, Policy, Purpose, Recipient, RetentionClass, Widget

_lock = threading.Lock()
_cache: dict[tuple[str, int, int], LoadedPolicy] = {}


def policy_loaded() -> LoadedPolicy:
    """Return the active policy file, parsed (cached per path, size and modification time)."""
    path = Path(settings.PACTE_POLICY_FILE)
    stat = path.stat() if path.exists() else None
    key = (str(path), stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0)
    loaded = _cache.get(key)
    if loaded is None:
        with _lock:
            loaded = _cache.get(key) or load_policy_file(path)
            _cache.clear()
            _cache[key] = loaded
    return loaded


def policy_active() -> Policy:
    """Return the frozen policy the running system obeys."""
    return policy_loaded().policy


def policy_version_current() -> PolicyVersion:
    """Return the PolicyVersion of the active file, recording it first if its content is new."""
    from pacte.policy.services import policy_version_record_active

    return policy_version_record_active()


def policy_version_list() -> list[PolicyVersion]:
    """Return every recorded version, newest first."""
    return list(PolicyVersion.objects.defer("content").order_by("-number"))


def policy_version_get(*, number: int) -> PolicyVersion | None:
    """Return version ``number`` or None."""
    return PolicyVersion.objects.filter(number=number).first()


def policy_of_version(version: PolicyVersion) -> Policy:
    """Return the policy as it was in ``version`` (parsed from its stored content)."""
    return parse_policy(version.content, file=f"version {version.number}")


def category_ids() -> set[str]:
    """Return the ids of every data category the active policy declares."""
    return set(policy_active().categories)


def retention_class_get(class_id: str) -> RetentionClass | None:
    """Return the retention class ``class_id`` of the active policy, or None."""
    return policy_active().retention.get(class_id)


def purpose_list(*, consent_required: bool | None = None) -> list[tuple[str, Purpose]]:
    """Return (id, purpose) pairs, optionally only those that do (or do not) need consent."""
    return [
        (pid, purpose)
        for pid, purpose in policy_active().purposes.items()
        if consent_required is None or purpose.consent_required == consent_required
    ]


def recipient_list() -> list[tuple[str, Recipient]]:
    """Return (id, recipient) pairs of the active policy."""
    return list(policy_active().recipients.items())


def cookie_list() -> list[tuple[str, Cookie]]:
    """Return (name, cookie) pairs of the active policy."""
    return list(policy_active().cookies.items())


def widget_list() -> list[tuple[str, Widget]]:
    """Return (id, widget) pairs of the active policy."""
    return list(policy_active().widgets.items())


def minimum_age() -> int:
    """Return the age under which Pacte refuses a person."""
    return policy_active().operator.minimum_age
