"""The key/value part of the StateStore protocol in a dict: what the API clients use of a store."""

from __future__ import annotations


class MemoryStore:
    """kv_get / kv_put / kv_delete in memory; the TTLs asked for are kept, not enforced."""

    def __init__(self) -> None:
        self.kv: dict[str, str] = {}
        self.ttls: dict[str, float | None] = {}

    def kv_get(self, key: str) -> str | None:
        return self.kv.get(key)

    def kv_put(self, key: str, value: str, ttl_s: float | None = None) -> None:
        self.kv[key] = value
        self.ttls[key] = ttl_s

    def kv_delete(self, key: str) -> None:
        self.kv.pop(key, None)
