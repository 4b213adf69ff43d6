"""A stable hash of a mapped payload, `Rev_Number` aside: "did anything Zoho holds change?"

Issue 15's "unchanged records cost nothing": the state store keeps, per key, the hash of the
last payload Zoho confirmed; a record whose payload hashes the same is not sent again, so a
Galaxy revision bump that changes no mapped field costs no credit. This module is the pure
part; storing the hashes and skipping in the run come with the stream writer.

Decisions:

- **Canonical form**: the payload as JSON with sorted keys (nested lookups too), no
  whitespace, UTF-8, numbers as Python's JSON writes them except that an integral float is
  written as an integer (`1.0` and `1` are the same value in Zoho). Key order never matters.
- **`Rev_Number` is left out** (:data:`IGNORED`): it is the watermark, bumped by Galaxy on
  every save. Zoho's `Rev_Number` then shows the last revision that changed a synced field.
- **Absent and `None` differ**: `None` clears a field in Zoho, an absent key leaves it as it
  is, so they are different writes.
- **BLAKE2b, 16 bytes, hex**: collisions are out of reach at any realistic key count, the
  digest is 32 characters in the store, and hashlib has it everywhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any

#: Fields left out of the hash: they change without anything Zoho shows changing.
IGNORED: frozenset[str] = frozenset({"Rev_Number"})


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def payload_hash(payload: Mapping[str, Any], *, ignore: Collection[str] = IGNORED) -> str:
    """The hex digest of `payload` without the `ignore`d fields, independent of key order."""
    kept = {k: _canonical(v) for k, v in payload.items() if k not in ignore}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
