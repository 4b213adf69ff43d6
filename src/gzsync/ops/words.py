"""How values read in operator output: no Python spelling (`None`, `False`, dict reprs).

Pure functions used by the CLI tables, the logs and the HTML report, so that an empty
watermark reads "none yet", a time reads as ISO 8601 UTC, and a flag reads yes/no.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

NONE_YET = "none yet"


def watermark(rev: object) -> str:
    """A watermark as people read it: the revision, or "none yet" when there is none."""
    return NONE_YET if rev is None or rev == "" else str(rev)


def watermarks(marks: Mapping[str, object]) -> str:
    """`customers 1016260, contacts none yet` (streams in their given order)."""
    return ", ".join(f"{stream} {watermark(rev)}" for stream, rev in marks.items()) or NONE_YET


def iso_time(epoch: float | None) -> str:
    """Epoch seconds as ISO 8601 UTC (`2026-12-01T14:29:35Z`); "-" when unknown."""
    if not epoch:
        return "-"
    moment = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def yes_no(flag: object) -> str:
    """yes / no."""
    return "yes" if flag else "no"
