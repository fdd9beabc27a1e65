"""Logs without secrets: URL paths are redacted before gunicorn or Django write them.

Pacte's URLs carry secrets and identifiers in their path: password-reset keys
(``/accounts/password/reset/key/<uidb36>-<key>/``), e-mail and newsletter confirmation tokens,
unsubscribe tokens (``/u/<token>/``), subject UUIDs in the API, export and organisation UUIDs and admin
object ids. Anyone who can read the logs could replay a token or link a subject to a time and a
request. Every path that reaches a log line goes through :func:`redact_path` first:

- a UUID anywhere becomes ``:id``; the segment after ``subjects/`` becomes ``:id``;
- the segment after ``key/``, ``confirm-email/``, ``confirm/`` or ``u/`` becomes ``:token``
  (after ``key/`` the rest of the path too, as allauth's reset key may contain ``/``);
- in ``/admin/<app>/<model>/<pk>/...`` (and ``/admin/r/<ct>/<pk>/``) the ids become ``:id``;
- any other segment that looks like a token (20 characters or more of base64/hex-ish characters with a
  digit, or a signed value with ``:``) becomes ``:token``; an e-mail address becomes ``:email``;
- a query string becomes ``?:query``.

:class:`RedactingLogger` is the gunicorn logger class ``pacte serve`` uses (access and error log);
:class:`RedactPathsFilter` is a :class:`logging.Filter` for Django's ``django.request`` and
``django.security`` loggers, whose "Not Found: /path" lines and tracebacks would otherwise carry them.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gunicorn.glogging import Logger

ID = ":id"
TOKEN = ":token"  # noqa: S105 (the placeholder that replaces a token, not a secret)
EMAIL = ":email"
QUERY = "?:query"

_UUID = re.compile(
    r"(?<![0-9a-f])[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?![0-9a-f])",
    re.IGNORECASE,
)
# Characters of base64url, hex, base36 and Django's signed values (``payload:timestamp:signature``).
# "." is left out so that dotted Python names in a traceback ("django.urls.Resolver404:") stay readable;
# a compressed signed value (".eJy...:1abc:sig") is still caught by its part after the dot.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-:+=~%]{20,}")
_DIGIT = re.compile(r"[0-9]")
_EMAIL = re.compile(r"[^@\s/]+@[^@\s/]+\.[^@\s/]+")
# The segment after one of these is a secret (token) or an identifier.
_SECRET_AFTER = {"key": TOKEN, "confirm-email": TOKEN, "confirm": TOKEN, "u": TOKEN, "subjects": ID}
# Real pages that follow a marker and are no secret.
_NOT_SECRET = {"", "done", ID, TOKEN}
# Django loggers whose messages name the request path ("Not Found: /u/<token>/", "Forbidden (CSRF token
# missing.): /path"). A logger's filters do not apply to records of its children, hence each name.
DJANGO_PATH_LOGGERS = ("django.request", "django.security", "django.security.csrf", "django.server")
# Runs of text that may be a path or a URL inside a free-form log message or traceback.
_RUN = re.compile(r"[^\s'\"<>()\[\]{},;]+")


def _looks_like_token(segment: str) -> bool:
    """Tell whether a path segment looks like a random token or a signed value.

    Long (>= 20) runs of base64/hex/base36 characters that hold a digit or a ``:``; words and slugs
    without digits ("privacy-policy-for-customers") stay readable.
    """
    for match in _TOKEN_CHARS.finditer(segment):
        run = match.group()
        if ":" in run or _DIGIT.search(run):
            return True
    return False


def _redact_segment(segment: str) -> str:
    if not segment or segment in (ID, TOKEN):
        return segment
    if _EMAIL.fullmatch(segment):
        return EMAIL
    segment = _UUID.sub(ID, segment)
    if _looks_like_token(segment):
        return TOKEN
    return segment


def _redact_segments(segments: list[str]) -> list[str]:
    out: list[str] = []
    first = next((s for s in segments if s), "")
    in_admin = first == "admin"
    admin_index = segments.index("admin") if in_admin else -1
    index = 0
    while index < len(segments):
        segment = segments[index]
        previous = segments[index - 1] if index else ""
        if previous in _SECRET_AFTER and segment not in _NOT_SECRET:
            out.append(_SECRET_AFTER[previous])
            if previous == "key":
                # allauth's reset key is ".+": it may run over several segments. Keep a trailing slash.
                if segments[-1] == "" and index < len(segments) - 1:
                    out.append("")
                break
            index += 1
            continue
        if in_admin and segment and segment != "add":
            position = index - admin_index
            if position == 3 or (segments[admin_index + 1 : admin_index + 2] == ["r"] and position in (2, 3)):
                out.append(ID)
                index += 1
                continue
        out.append(_redact_segment(segment))
        index += 1
    return out


def redact_path(path: str) -> str:
    """Return ``path`` with every secret-bearing segment replaced (see the module docstring).

    Accepts an absolute or relative path, with or without a query string (which becomes ``?:query``).
    """
    if not path:
        return path
    path, mark, query = path.partition("?")
    redacted = "/".join(_redact_segments(path.split("/")))
    if mark and query:
        redacted += QUERY
    elif mark:
        redacted += "?"
    return redacted


def redact_url(url: str) -> str:
    """Return ``url`` (absolute or a bare path) with its path redacted and its query string replaced."""
    if not url or url == "-":
        return url
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return redact_path(url)
    query = ":query" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, redact_path(parts.path), query, ""))


def redact_text(text: str) -> str:
    """Return free-form log text with every path-like run of characters redacted.

    Used on messages and tracebacks, where a path may appear quoted or without its leading ``/``
    (Django's ``Resolver404`` shows ``'path': 'u/<token>/'``).
    """
    return _RUN.sub(
        lambda match: redact_url(match.group()) if "://" in match.group() else redact_path(match.group()),
        text,
    )


class RedactPathsFilter(logging.Filter):
    """Redact paths, tokens and ids from a log record's message and traceback; never drops a record.

    Attach it to the ``django.request`` and ``django.security`` loggers (see docs/security.md): their
    records say "Not Found: /u/<token>/" and carry the exception whose text holds the path.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the record as logging would show it
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatters use exc_text when it is set instead of formatting exc_info again.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


class RedactingLogger(Logger):
    """Gunicorn logger whose access and error logs carry no secret-bearing path, query or header.

    Used by ``pacte serve`` through ``--logger-class pacte.core.accesslog.RedactingLogger``.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # "Error handling request /u/<token>/" and its traceback go to gunicorn's error log. Django's
        # request loggers are covered too, so that `pacte serve` is safe whatever LOGGING says: dictConfig
        # keeps the filters of loggers it does not name, and the workers inherit them from the master.
        loggers = [self.error_log, self.access_log, *(logging.getLogger(n) for n in DJANGO_PATH_LOGGERS)]
        for log in loggers:
            if not any(isinstance(f, RedactPathsFilter) for f in log.filters):
                log.addFilter(RedactPathsFilter())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        method = environ.get("REQUEST_METHOD", "-")
        path = redact_path(environ.get("PATH_INFO") or "")
        query = environ.get("QUERY_STRING")
        atoms["U"] = path
        atoms["q"] = ":query" if query else ""
        atoms["r"] = f"{method} {path}{QUERY if query else ''} {environ.get('SERVER_PROTOCOL', '-')}"
        atoms["f"] = redact_url(str(atoms.get("f", "-")))
        # A basic-auth user name may be an e-mail address.
        atoms["u"] = "-"
        # Headers (Cookie, Authorization, Location, Referer) and the environ may carry anything: a format
        # that asks for them gets "-".
        for name in [k for k in atoms if k.startswith("{")]:
            del atoms[name]
        return atoms
