"""Data identifiers (``scope:name``) and DID-search filters, checked before anything reaches Rucio.

The patterns here are also the OpenAPI document's (``openapi/lake.yaml``): whatever matches them
is accepted, so a request the contract calls valid never gets a 400.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..errors import BadRequest

# the same patterns as openapi/lake.yaml (a unit test compares them)
SCOPE_RE = r"[A-Za-z0-9_.\-]{1,25}"
NAME_RE = r"[A-Za-z0-9_.\-/+]{1,250}"
NAME_PATTERN_RE = r"[A-Za-z0-9_.\-/+*]{1,250}"
DID_RE = f"^{SCOPE_RE}:{NAME_RE}$"
DID_PATTERN_RE = f"^{SCOPE_RE}:{NAME_PATTERN_RE}$"
_SCOPE = re.compile(f"^{SCOPE_RE}$")
_NAME = re.compile(f"^{NAME_RE}$")
_NAME_PATTERN = re.compile(f"^{NAME_PATTERN_RE}$")
DID_TYPES = ("all", "collection", "container", "dataset", "file")
SORT_KEYS = ("name", "-name", "bytes", "-bytes", "length", "-length")

# filters: "key=value,key2>=value2;key3=value3" (',' is AND, ';' is OR), as `rucio did list --filter`
_OPS = {"!=": ".ne", ">=": ".gte", "<=": ".lte", "=": "", ">": ".gt", "<": ".lt"}
# (ASCII whitespace spelled out: regex engines disagree on what \s covers beyond it)
# a value: any characters but ',' ';' and control characters, not only blanks
_VALUE = r"[^,;\x00-\x1f\x7f]*[^,; \t\n\r\f\v\x00-\x1f\x7f][^,;\x00-\x1f\x7f]*"
_FILTER_TERM = rf"[A-Za-z_][A-Za-z0-9_]{{0,63}}(?:!=|>=|<=|=|>|<){_VALUE}"
FILTERS_RE = rf"^{_FILTER_TERM}(?:,{_FILTER_TERM})*(?:;{_FILTER_TERM}(?:,{_FILTER_TERM})*)*$"
_TERM = re.compile(rf"([A-Za-z_][A-Za-z0-9_]{{0,63}})(!=|>=|<=|=|>|<)({_VALUE})")
_BLANK = " \t\n\r\f\v"
MAX_FILTERS = 2000


class DID(NamedTuple):
    scope: str
    name: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"scope": self.scope, "name": self.name}


def parse_did(text: Any, *, pattern: bool = False, what: str = "data identifier") -> DID:
    """``scope:name`` (``name`` may hold ``*`` wildcards when ``pattern``); a 400 saying why otherwise."""
    if not isinstance(text, str) or ":" not in text:
        raise BadRequest(
            f"{text!r} is not a {what}: write it as scope:name, e.g. ATLAS_OD_EDU:GamGam.data"
            f"{' or ATLAS_OD_EDU:GamGam*' if pattern else ''}.",
            details={"did": str(text)},
        )
    scope, _, name = text.partition(":")
    if not _SCOPE.fullmatch(scope):
        raise BadRequest(
            f"{scope!r} is not a valid scope (1-25 letters, digits, '_', '.', '-').", details={"did": text}
        )
    if not (_NAME_PATTERN if pattern else _NAME).fullmatch(name):
        kind = "name pattern" if pattern else "name"
        extra = ", '*'" if pattern else ""
        raise BadRequest(
            f"{name!r} is not a valid {kind} (1-250 letters, digits, '_', '.', '-', '/', '+'{extra}).",
            details={"did": text},
        )
    return DID(scope, name)


def unaddressable(did: DID) -> bool:
    """Whether Rucio's REST paths cannot name this DID: a scope or a name segment that is '.' or
    '..' is folded away by URL normalisation before Rucio sees it (such a DID cannot exist there)."""
    return did.scope in (".", "..") or any(part in (".", "..") for part in did.name.split("/"))


def check_type(did_type: str) -> str:
    if did_type not in DID_TYPES:
        raise BadRequest(f"type must be one of {', '.join(DID_TYPES)}, got {did_type!r}.")
    return did_type


def check_sort(sort: str | None) -> str | None:
    if sort in (None, ""):
        return None
    if sort not in SORT_KEYS:
        raise BadRequest(f"sort must be one of {', '.join(SORT_KEYS)}, got {sort!r}.")
    return sort


def parse_filters(text: str | None) -> list[dict[str, str]]:
    """``"dsid=343981,events>=100;kind=data"`` -> Rucio's ``[{"dsid": ..., "events.gte": ...}, {...}]``.

    ``,`` joins conditions (AND), ``;`` joins groups (OR); operators ``= != > >= < <=``. Values
    stay strings: Rucio's filter engine converts numbers, booleans and dates itself.
    """
    if not text:
        return []
    if len(text) > MAX_FILTERS:
        raise BadRequest(f"filters is too long (at most {MAX_FILTERS} characters).")
    groups: list[dict[str, str]] = []
    for group_text in text.split(";"):
        group: dict[str, str] = {}
        for term in group_text.split(","):
            match = _TERM.fullmatch(term)
            if not match:
                raise BadRequest(
                    f"{term.strip()!r} is not a filter: write key=value, key>=value... (',' for AND, ';' for OR), "
                    "e.g. dsid=343981,events>=100.",
                    details={"filter": term},
                )
            group[match.group(1) + _OPS[match.group(2)]] = match.group(3).strip(_BLANK)
        groups.append(group)
    return groups
