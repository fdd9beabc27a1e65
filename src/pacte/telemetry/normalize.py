"""Paths, referrers and search queries reduced to what statistics may keep.

- :func:`clean_path`: the path without its query string, secrets redacted as in the access log.
- :func:`referrer_host`: the referring site's host name only, never its path or query.
- :func:`normalize_query`: a site search query folded for counting, or "" when it looks personal.

Each one is bounded in cost and output length and never raises on any text.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from collections.abc import Collection
from urllib.parse import urlsplit

from pacte.core.accesslog import redact_path

MAX_PATH = 512
MAX_HOST = 253
MAX_QUERY = 100
# Browsers send at most 4 KiB of Referer (Chrome cuts a longer one to the origin); past that it is forged.
MAX_REFERER = 4096
# Input past these lengths is not read: a path is cut at a "/" first, a longer query is dropped.
_MAX_PATH_INPUT = 8192
_MAX_QUERY_INPUT = 1000

_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
# Six digits or more, also when grouped by single spaces, dots, dashes or slashes ("06 12 34 56 78",
# "4111-1111-1111-1111", "12/05/1990"): phone, card, account and ids numbers, dates of birth.
_LONG_NUMBER = re.compile(r"\d(?:[\s./-]?\d){5,}")


def clean_path(path: str) -> str:
    """Return ``path`` without query string or fragment, secrets redacted, at most 512 characters.

    Redaction is :func:`pacte.core.accesslog.redact_path`'s, applied before cutting so that a token is
    never kept in part. Never raises.
    """
    if not isinstance(path, str):
        return ""
    path = path.partition("?")[0].partition("#")[0]
    if len(path) > _MAX_PATH_INPUT:
        # Redaction works segment by segment: drop the segment cut in two, then redact what is left.
        head = path[:_MAX_PATH_INPUT]
        path = head[: head.rfind("/") + 1]
    try:
        return redact_path(path)[:MAX_PATH]
    except Exception:  # redact_path is total on str; this is the "never raises" promise
        return ""


def _ascii_host(host: str) -> str:
    """Return ``host`` lower-case in its ASCII (IDNA) form, or "" if it is no valid host name."""
    host = host.strip().rstrip(".").lower()
    if not host or len(host) > MAX_HOST * 4:
        return ""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return str(address)
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return ""
    ascii_host = ascii_host.lower()
    if len(ascii_host) > MAX_HOST or not _HOST.fullmatch(ascii_host):
        return ""
    if any(len(label) > 63 for label in ascii_host.split(".")):
        return ""
    return ascii_host


@functools.lru_cache(maxsize=64)
def _own(own_hosts: frozenset[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """Split the site's own hosts into exact names and ``.domain`` suffixes (``ALLOWED_HOSTS`` style)."""
    exact: set[str] = set()
    suffixes: list[str] = []
    for entry in own_hosts:
        if not isinstance(entry, str) or entry in ("", "*"):
            continue
        name = entry.strip().lower()
        if not name.startswith("["):
            name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
        elif "]" in name:
            name = name[: name.index("]") + 1]
        if name.startswith("."):
            suffix = _ascii_host(name[1:])
            if suffix:
                exact.add(suffix)
                suffixes.append("." + suffix)
        elif host := _ascii_host(name):
            exact.add(host)
    return frozenset(exact), tuple(suffixes)


def referrer_host(referer: str, *, own_hosts: Collection[str]) -> str:
    """Return the host of an http(s) ``Referer`` (lower-case ASCII/IDNA form, at most 253 characters).

    "" when the referrer is missing, not http(s), invalid, longer than :data:`MAX_REFERER`, or one of
    ``own_hosts`` (host names, with an optional port; ``.example.org`` also covers its subdomains, as in
    ``ALLOWED_HOSTS``; ``*`` is ignored). Never raises.
    """
    if not isinstance(referer, str) or not referer or len(referer) > MAX_REFERER:
        return ""
    try:
        parts = urlsplit(referer.strip())
        if parts.scheme.lower() not in ("http", "https"):
            return ""
        _ = parts.port  # raises ValueError on a port that is no number or out of range
        host = _ascii_host(parts.hostname or "")
        if not host:
            return ""
        exact, suffixes = _own(frozenset(own_hosts))
    except Exception:  # urlsplit refuses bad brackets or ports; an odd own_hosts collection
        return ""
    if host in exact or host.endswith(suffixes):
        return ""
    return host


def _fold(text: str) -> str:
    """Return ``text`` NFKC-normalised and case-folded, control and format characters made spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(char)[0] == "C" else char for char in text)
    # Case folding can undo NFKC ("ǰ", U+01F0, folds to "j" and a combining caron): normalise again.
    return unicodedata.normalize("NFKC", text.casefold())


def normalize_query(q: str) -> str:
    """Return a site search query folded for counting, or "" when it must not be kept.

    NFKC, case-folded, whitespace collapsed and stripped, at most 100 characters. "" when it is empty
    after cleaning, longer than 1,000 characters, holds an e-mail address (any ``@``) or a number of six
    digits or more (also grouped by spaces, dots, dashes or slashes). Never raises.
    """
    if not isinstance(q, str) or len(q) > _MAX_QUERY_INPUT:
        return ""
    try:
        text = " ".join(_fold(q).split())
    except Exception:  # e.g. lone surrogates from a broken decoder
        return ""
    # Any "@": an e-mail address, also one typed with spaces ("jean @ exemple.fr") or full-width "＠".
    if not text or "@" in text or _LONG_NUMBER.search(text):
        return ""
    return text[:MAX_QUERY].rstrip()
