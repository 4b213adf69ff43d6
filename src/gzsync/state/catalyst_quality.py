"""The Catalyst store's data-quality warnings and meta entries (a mixin of CatalystStore).

NoSQL items (same table as the rest, see :mod:`gzsync.state.catalyst`):

==================  ====================  ==========================================
pk                  sk                    attributes
==================  ====================  ==========================================
`warn#<run_id>`     `<ms>#<seq>`          `data` (S): JSON list of up to 100 warnings
`warnruns`          `<ms>#<run_id>`       (none): which runs have warnings, oldest first
`meta`              name                  `value` (S)
==================  ====================  ==========================================

Warnings are written in chunks of 100 per item (NoSQL calls are what a Catalyst function
pays for); the warnings of runs older than the last WARNING_RUNS_KEPT are deleted as new
ones are written.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import astuple
from typing import Any, Protocol

from gzsync.state.store import WARNING_RUNS_KEPT, StreamName, WarningRecord

_PER_ITEM = 100
_sequence = itertools.count()


class _NoSql(Protocol):
    _clock: Any

    def _put_items(self, items: Sequence[dict[str, Any]]) -> None: ...

    def _query(
        self, pk: str, *, forward: bool = True, limit: int | None = None
    ) -> list[dict[str, Any]]: ...

    def _get_one(self, pk: str, sk: str) -> dict[str, Any] | None: ...

    def _delete_keys(self, pk: str, sks: Sequence[str]) -> None: ...


class CatalystQuality:
    """warnings_add / warnings_list / meta_get / meta_put over the store's NoSQL table."""

    def warnings_add(self: _NoSql, run_id: str, warnings: Sequence[WarningRecord]) -> None:
        if not warnings:
            return
        ms = round(self._clock() * 1000)
        items = [
            {
                "pk": f"warn#{run_id}",
                "sk": f"{ms:016d}#{next(_sequence):09d}",
                "data": json.dumps([astuple(w) for w in warnings[i : i + _PER_ITEM]]),
            }
            for i in range(0, len(warnings), _PER_ITEM)
        ]
        known = self._query("warnruns")
        if not any(str(item["sk"]).endswith(f"#{run_id}") for item in known):
            self._put_items([{"pk": "warnruns", "sk": f"{ms:016d}#{run_id}"}])
            known.append({"sk": f"{ms:016d}#{run_id}"})
        self._put_items(items)
        old = sorted(str(item["sk"]) for item in known)[:-WARNING_RUNS_KEPT]
        for sk in old:
            pk = f"warn#{sk.partition('#')[2]}"
            self._delete_keys(pk, [str(item["sk"]) for item in self._query(pk)])
        if old:
            self._delete_keys("warnruns", old)

    def warnings_list(
        self: _NoSql,
        run_id: str,
        *,
        stream: StreamName | None = None,
        reason: str | None = None,
        limit: int | None = None,
    ) -> list[WarningRecord]:
        found: list[WarningRecord] = []
        for item in self._query(f"warn#{run_id}"):
            for row in json.loads(item["data"]):
                warning = WarningRecord(*row)
                if (stream is None or warning.stream == stream) and (
                    reason is None or warning.reason == reason
                ):
                    found.append(warning)
        return found if limit is None else found[: max(limit, 0)]

    def meta_get(self: _NoSql, name: str) -> str | None:
        item = self._get_one("meta", name)
        return None if item is None else str(item["value"])

    def meta_put(self: _NoSql, name: str, value: str) -> None:
        self._put_items([{"pk": "meta", "sk": name, "value": value}])
