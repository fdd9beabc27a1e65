"""Writes of the policy app: recording the versions of the policy the system obeys."""

from __future__ import annotations

from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Max

from pacte.core.ports import record_fact
from pacte.policy import render, selectors
from pacte.policy.loader import load_policy_file
from pacte.policy.models import PolicyVersion
from pacte.policy.schema import Policy

# A recorded version never changes: remember it per content hash (cleared by reset_caches()).
_recorded: dict[str, PolicyVersion] = {}


def reset_caches() -> None:
    """Forget what this process remembers of recorded versions and rendered notices (tests)."""
    _recorded.clear()
    render.notice_cache.clear()
    selectors.terms_sha_cache.clear()


def policy_check_file(*, path: Path) -> Policy:
    """Load and validate the policy file at ``path``; raise PolicyFileError listing every problem."""
    return load_policy_file(path).policy


def policy_version_record_active() -> PolicyVersion:
    """Record the active policy file as a new version if its content is new; return its version."""
    loaded = selectors.policy_loaded()
    cached = _recorded.get(loaded.sha256)
    if cached is not None:
        return cached
    existing = PolicyVersion.objects.filter(sha256=loaded.sha256).first()
    if existing is not None:
        _recorded[loaded.sha256] = existing
        return existing
    for _attempt in range(5):
        try:
            return _policy_version_create(content=loaded.content, sha256=loaded.sha256, source=loaded.path)
        except IntegrityError:  # another process recorded a version at the same moment
            existing = PolicyVersion.objects.filter(sha256=loaded.sha256).first()
            if existing is not None:
                return existing
    raise RuntimeError("could not record the policy version after 5 attempts")


@transaction.atomic
def _policy_version_create(*, content: str, sha256: str, source: str) -> PolicyVersion:
    last = PolicyVersion.objects.aggregate(n=Max("number"))["n"] or 0
    version = PolicyVersion(number=last + 1, sha256=sha256, content=content, source=source)
    version.full_clean()
    version.save()
    _ledger_published(version)
    return version


def _ledger_published(version: PolicyVersion) -> None:
    """Record the publication of a new version in the ledger (same transaction, through the port)."""
    record_fact(
        type="policy.published",
        subject_id=None,
        actor="system",
        payload={"policy_version": version.number, "policy_sha256": version.sha256},
    )
