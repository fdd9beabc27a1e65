"""Read a policy file and report every problem as `FILE:LINE: key: what is wrong — how to fix it`.

Only the ``policy`` app reads policy files; everyone else asks ``policy.selectors``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from pacte.policy.rules import check_rules
from pacte.policy.schema import Policy


@dataclass(frozen=True)
class PolicyProblem:
    file: str
    line: int
    key: str
    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key}: {self.what} — {self.fix}"


class PolicyFileError(Exception):
    """The policy file cannot be obeyed; ``problems`` lists every reason."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems

    def lines(self) -> list[str]:
        return [str(problem) for problem in self.problems]


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    content: str
    sha256: str
    path: str


# --- where is a key? -------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*(.+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(
    r'^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\'))*)\s*='
)
_KEY_PART = re.compile(r'[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\'')


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(part.strip("\"'") for part in _KEY_PART.findall(text))


def _open_array(rest: str) -> bool:
    """Tell whether the value after ``=`` opens an array that continues on the next lines."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', '""', rest).split("#", 1)[0]
    return text.strip().startswith("[") and text.count("[") > text.count("]")


def key_lines(content: str) -> dict[tuple[str, ...], int]:
    """Map each table and key path of a TOML text to the line (1-based) that first declares it.

    The n-th ``[[table]]`` of an array of tables is ``(*table, "n")``, and the n-th element of an array
    written over several lines is ``(*key, "n")``, so that an error deep in a list names its own line.
    """
    found: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    counts: dict[tuple[str, ...], int] = {}
    array: tuple[str, ...] | None = None  # the key of a multi-line array being read
    element = 0
    for number, line in enumerate(content.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if array is not None:
            if stripped.startswith("]"):
                array = None
            elif stripped.startswith(("{", '"', "'")):
                path = (*array, str(element))
                found.setdefault(path, number)
                for inner in re.findall(r"([A-Za-z0-9_-]+)\s*=", stripped):
                    found.setdefault((*path, inner), number)
                element += 1
            continue
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            for depth in range(1, len(table) + 1):
                found.setdefault(table[:depth], number)
            if stripped.startswith("[["):
                index = counts.get(table, 0)
                counts[table] = index + 1
                table = (*table, str(index))
                found.setdefault(table, number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            path = table + _split_key(assign.group(1))
            for depth in range(1, len(path) + 1):
                found.setdefault(path[:depth], number)
            # inline tables: label = { fr = "…", en = "…" }
            rest = line[assign.end() :]
            for inner in re.findall(r"([A-Za-z0-9_-]+)\s*=", rest):
                found.setdefault((*path, inner), number)
            if _open_array(rest):
                array, element = path, 0
    return found


def _line_for(lines: dict[tuple[str, ...], int], path: tuple[str | int, ...]) -> int:
    keys = tuple(str(part) for part in path)
    for depth in range(len(keys), 0, -1):
        if keys[:depth] in lines:
            return lines[keys[:depth]]
    return 1


# --- pydantic errors, said plainly ------------------------------------------------------------------


def _model_at(path: tuple[str | int, ...]) -> type[BaseModel] | None:
    """Return the schema model found at ``path`` (dict keys and list indexes skipped)."""
    current: Any = Policy
    expect_key = False
    for part in path:
        if expect_key:
            expect_key = False
            continue
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        origin = typing.get_origin(annotation)
        if origin is typing.Union or origin is types.UnionType:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if args else None
            origin = typing.get_origin(annotation)
        if origin is list:
            current = typing.get_args(annotation)[0]
        elif origin is dict:
            current = typing.get_args(annotation)[1]
            expect_key = True
        else:
            current = annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


_MISSING_FIX = {
    "retention": 'every purpose needs a retention class (storage limitation, GDPR Art. 5(1)(e)) — add retention = "<class id>"',
    "legal_basis": 'every purpose needs a legal basis (GDPR Art. 6) — add legal_basis = "contract" | "consent" | …',
}


def _explain(error: dict[str, Any]) -> tuple[tuple[str | int, ...], str, str]:
    path = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(path[:-1])
        allowed = ", ".join(sorted(parent.model_fields)) if parent else "see docs/policy-file.md"
        return path, f"unknown key '{path[-1]}'", f"remove it or use one of the allowed keys: {allowed}"
    if kind == "missing":
        name = str(path[-1])
        if name in _MISSING_FIX:
            what, fix = _MISSING_FIX[name].split(" — ")
            return path, what, fix
        return path, "is required", f"add {name} = … (see docs/policy-file.md)"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return path, f"{error['input']!r} is not allowed", f"use one of {expected}"
    if kind == "string_pattern_mismatch":
        return path, f"{error['input']!r} has the wrong form", f"it must match {error['ctx']['pattern']}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if " — " in message:
        what, fix = message.split(" — ", 1)
        return path, what, fix
    return path, message, "see docs/policy-file.md"


_SOLD = {"sale", "sold", "rental", "rent", "rented", "broker", "data_broker", "buyer"}


def _no_sale(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str, str]]:
    found: list[tuple[tuple[str | int, ...], str, str]] = []
    recipients = data.get("recipients")
    if isinstance(recipients, dict):
        for rid, recipient in recipients.items():
            kind = recipient.get("kind") if isinstance(recipient, dict) else None
            if isinstance(kind, str) and kind.lower() in _SOLD:
                found.append(
                    (
                        ("recipients", rid, "kind"),
                        f"'{kind}': personal data is never sold or rented, so Pacte has no such recipient kind",
                        "remove this recipient; a processor, partner (with consent) or authority is all the schema allows",
                    )
                )
    return found


def parse_policy(content: str, *, file: str = "<policy>", rules: bool = True) -> Policy:
    """Parse and validate a policy text; raise PolicyFileError listing every problem.

    ``rules=False`` skips the cross-section rules: for a recorded version, valid when it was recorded,
    that must stay readable as it was even after a rule is added.
    """
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(error))
        line = int(match.group(1)) if match else 1
        column = int(match.group(2)) if match else 1
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise PolicyFileError(
            [
                PolicyProblem(
                    file,
                    line,
                    f"column {column}",
                    f"malformed TOML: {reason}",
                    "fix the syntax at that place",
                )
            ]
        ) from None
    lines = key_lines(content)
    problems = [
        PolicyProblem(file, _line_for(lines, path), ".".join(str(p) for p in path), what, fix)
        for path, what, fix in _no_sale(data)
    ]
    if problems:
        raise PolicyFileError(problems)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            path, what, fix = _explain(dict(item))
            problems.append(
                PolicyProblem(file, _line_for(lines, path), ".".join(str(p) for p in path), what, fix)
            )
        raise PolicyFileError(problems) from None
    for problem in check_rules(policy) if rules else []:
        problems.append(
            PolicyProblem(
                file,
                _line_for(lines, problem.path),
                ".".join(str(p) for p in problem.path),
                problem.what,
                problem.fix,
            )
        )
    if problems:
        raise PolicyFileError(problems)
    return policy


def load_policy_file(path: Path | str) -> LoadedPolicy:
    """Read, parse and validate the policy file at ``path``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PolicyFileError(
            [
                PolicyProblem(
                    str(path),
                    0,
                    "file",
                    f"cannot be read ({error.strerror})",
                    "check the path and permissions",
                )
            ]
        ) from None
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyFileError(
            [PolicyProblem(str(path), 1, "file", "is not UTF-8 text", "save it as UTF-8")]
        ) from None
    policy = parse_policy(content, file=str(path))
    return LoadedPolicy(
        policy=policy, content=content, sha256=hashlib.sha256(raw).hexdigest(), path=str(path)
    )
