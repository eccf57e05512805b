"""Times as users write them. One rule for every face: a date or date-time written at some precision
names the whole period it names (a day, an hour, a minute, a second; an instant when it has a
fraction of a second). Search uses the period's bounds (``created <= 2026-03-01`` includes all of
that day); time travel (``resolve(ref, at=...)``) answers for the END of the period, so
``at="2026-03-01"`` means "as of 1 March", moves made during that day included.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


def iso(when: datetime) -> str:
    """The registry's stored time text for a naive-UTC datetime."""
    return when.isoformat(timespec="microseconds") + "Z"


def period(text: str) -> tuple[datetime, datetime] | None:
    """``[start, end)`` in naive UTC for a date written at any precision, or ``None`` if ``text`` is
    not such a date. Raises ``ValueError`` for an impossible date (2026-02-30)."""
    m = DATE.fullmatch(text.strip())
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    start = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0),
                     int((frac or "0").ljust(6, "0")))
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        start -= sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[-2:]))
    step = ("microseconds" if frac else "seconds" if ss else "minutes" if mi else "hours" if hh else "days")
    return start, start + timedelta(**{step: 1})
