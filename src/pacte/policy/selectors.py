"""Reads of the policy. Every other app asks here; only ``policy`` reads the file."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pacte.policy import app_settings
from pacte.policy.loader import LoadedPolicy, load_policy_file, parse_policy
from pacte.policy.models import PolicyVersion
from pacte.policy.rules import TERMS_PATH
from pacte.policy.schema import Policy, Purpose, Terms

_lock = threading.Lock()
_cache: dict[tuple[str, int, int], LoadedPolicy] = {}


def policy_loaded() -> LoadedPolicy:
    """Return the active policy file, parsed (cached per path, size and modification time)."""
    path = app_settings.policy_file()
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


def policy_version_list() -> list[PolicyVersion]:
    """Return every recorded version, newest first."""
    return list(PolicyVersion.objects.defer("content").order_by("-number"))


def policy_version_get(*, number: int) -> PolicyVersion | None:
    """Return version ``number`` or None."""
    return PolicyVersion.objects.filter(number=number).first()


def policy_of_version(version: PolicyVersion) -> Policy:
    """Return the policy as it was in ``version`` (parsed from its stored content)."""
    # Recorded only once valid: show it as it was, even if a rule was added since.
    return parse_policy(version.content, file=f"version {version.number}", rules=False)


def category_ids() -> set[str]:
    """Return the ids of every data category the active policy declares."""
    return set(policy_active().categories)


def purpose_list(*, consent_required: bool | None = None) -> list[tuple[str, Purpose]]:
    """Return (id, purpose) pairs, optionally only those that do (or do not) need consent."""
    return [
        (pid, purpose)
        for pid, purpose in policy_active().purposes.items()
        if consent_required is None or purpose.consent_required == consent_required
    ]


def minimum_age() -> int:
    """Return the age under which Pacte refuses a person."""
    return policy_active().operator.minimum_age


# --- Terms of use -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TermsInForce:
    """The terms of use a person accepts now.

    ``version`` is the number of the first policy version whose [terms] read exactly like these (so an
    edit elsewhere in the policy file keeps the terms' version), ``sha256`` the fingerprint of their text
    in both languages. Both are None when the operator publishes the terms elsewhere (``url``).
    """

    version: int | None
    sha256: str | None
    url: str
    policy_version: int
    policy_sha256: str


# A recorded version never changes: its terms' fingerprint is remembered per policy content hash.
terms_sha_cache: dict[str, str | None] = {}


def _terms_sha_of(version: PolicyVersion) -> str | None:
    sha = terms_sha_cache.get(version.sha256, "")
    if sha == "":
        terms = policy_of_version(version).terms
        sha = terms_sha_cache[version.sha256] = terms.sha256() if terms else None
    return sha


def terms_first_version(*, sha256: str, up_to: int) -> int:
    """Return the number of the first recorded policy version (≤ ``up_to``) whose terms match ``sha256``."""
    for version in PolicyVersion.objects.filter(number__lte=up_to).defer("content").order_by("number"):
        if _terms_sha_of(version) == sha256:
            return version.number
    return up_to


def terms_current(*, version: PolicyVersion) -> TermsInForce:
    """Return the version and fingerprint of the terms of use in force under policy ``version``.

    ``version`` is the active file's recorded version (``services.policy_version_record_active()``).
    """
    policy = policy_active()
    terms = policy.terms
    if terms is None:
        return TermsInForce(None, None, policy.operator.terms_url, version.number, version.sha256)
    sha = terms.sha256()
    terms_sha_cache.setdefault(version.sha256, sha)
    number = terms_first_version(sha256=sha, up_to=version.number)
    return TermsInForce(number, sha, TERMS_PATH, version.number, version.sha256)


def terms_of_version(*, number: int) -> tuple[PolicyVersion, Terms] | None:
    """Return policy version ``number`` and its terms of use, or None when it has none."""
    found = policy_version_get(number=number)
    if found is None:
        return None
    terms = policy_of_version(found).terms
    return (found, terms) if terms is not None else None


def terms_version_list() -> list[tuple[PolicyVersion, str]]:
    """Return (first policy version, fingerprint) of each distinct terms of use, newest first."""
    seen: set[str] = set()
    found = []
    for version in PolicyVersion.objects.defer("content").order_by("number"):
        sha = _terms_sha_of(version)
        if sha is not None and sha not in seen:
            seen.add(sha)
            found.append((version, sha))
    return found[::-1]
