"""What one run is asked to do: the command-line flags and job parameters, typed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gzsync.streams import ENTITIES

#: Entity groups a run can sync (`--entities`), in the order they run, from the stream
#: table: `accounts` is customers with their affiliates; `contacts` needs the accounts first.
__all__ = ["ENTITIES", "RunOptions", "parse_entities"]


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Options of one sync run; defaults are a normal incremental run."""

    dry_run: bool = False
    since_rev: int | None = None
    limit: int | None = None
    entities: tuple[str, ...] = ENTITIES
    #: stop starting new batches after this many seconds (the run resumes next time)
    max_duration_s: float | None = None
    #: Catalyst: `context.get_remaining_execution_time_ms`; the run keeps a margin below it
    remaining_ms: Callable[[], float] | None = None
    #: a ready access-token source replacing the refresh-token flow (Catalyst Connections)
    access_token: Callable[[], str] | None = None
    #: show progress (rich bars on a terminal, log lines otherwise)
    progress: bool = False
    #: send every selected record, also those whose payload hash equals the one Zoho last
    #: confirmed (`gzsync run --force`; issue 15)
    force: bool = False
    #: Bulk Write for the streams with many records to write: None lets BULK_THRESHOLD
    #: decide, True forces it (`gzsync run --bulk`), False forbids it (`--no-bulk`)
    bulk: bool | None = None

    def __post_init__(self) -> None:
        unknown = [e for e in self.entities if e not in ENTITIES]
        if unknown or not self.entities:
            raise ValueError(f"entities must be a subset of {', '.join(ENTITIES)}")
        if self.limit is not None and self.limit <= 0:
            raise ValueError("limit must be positive")


def parse_entities(text: str) -> tuple[str, ...]:
    """`"accounts,contacts"` -> ("accounts", "contacts") in run order; ValueError if unknown."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = names - set(ENTITIES)
    if unknown or not names:
        raise ValueError(
            f"unknown entities {', '.join(sorted(unknown)) or '(none)'}; "
            f"choose from {', '.join(ENTITIES)}"
        )
    return tuple(e for e in ENTITIES if e in names)
