"""Times in vrelab's records: ISO 8601 in UTC with a ``Z``, written and read in one place."""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["iso_utc", "parse_iso"]


def iso_utc(moment: dt.datetime | float | None = None, *, timespec: str = "milliseconds") -> str:
    """*moment* (an aware or UTC-naive datetime, or a Unix timestamp; now when None) as
    ``2026-12-04T21:35:41.123Z``. *timespec* is :meth:`datetime.isoformat`'s."""
    if moment is None:
        when = dt.datetime.now(dt.UTC)
    elif isinstance(moment, dt.datetime):
        when = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    else:
        when = dt.datetime.fromtimestamp(float(moment), dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def parse_iso(text: str | None) -> dt.datetime | None:
    """An RFC 3339 time (nanoseconds allowed, as container engines write them) as an aware UTC
    datetime; None for no time, text that is no time, and Go's zero time (year 1)."""
    if not text:
        return None
    match = _ISO.match(text.strip())
    if not match:
        return None
    whole, fraction, zone = match.groups()
    if whole.startswith("0001-"):
        return None
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone in (None, "Z") else zone
    try:
        return dt.datetime.fromisoformat(f"{whole}.{micro}{zone}").astimezone(dt.UTC)
    except ValueError:
        return None
