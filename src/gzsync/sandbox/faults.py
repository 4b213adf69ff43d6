"""Seeded fault injection shared by both sandboxes (`POST/DELETE /__sandbox/faults`).

A rule applies to the next `count` calls of an endpoint (no count: every call), each with
probability `probability`, and either answers with a status and body, drops the connection
without a complete answer, or stalls before answering normally. A sandbox may give an action
of its own a meaning (the Catalyst sandbox's `partial`: some items of a batch call fail); the
others answer such a rule normally. Rolls come from one seeded
`random.Random`, so a test replays the same faults.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

FaultAction = Literal["status", "drop", "stall", "partial"]


@dataclass(slots=True)
class FaultRule:
    """One rule as posted to `/__sandbox/faults`."""

    endpoint: str
    action: FaultAction = "status"
    status: int = 500
    body: dict[str, Any] | None = None
    stall_ms: int = 0
    count: int | None = None
    probability: float = 1.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        action = data.get("action", "status")
        if action not in ("status", "drop", "stall", "partial"):
            raise ValueError(f"unknown action {action!r}")
        endpoint = data.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise ValueError("endpoint is required")
        count = data.get("count")
        probability = float(data.get("probability", 1.0))
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        return cls(
            endpoint=endpoint,
            action=action,
            status=int(data.get("status", 500)),
            body=data.get("body"),
            stall_ms=int(data.get("stall_ms", 0)),
            count=None if count is None else int(count),
            probability=probability,
        )


class FaultInjector:
    """The active rules of one sandbox and the seeded dice that decide when they fire."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)
        self.fired: dict[str, int] = {}

    def add(self, rules: Sequence[FaultRule], seed: int | None = None) -> None:
        if seed is not None:
            self._random.seed(seed)
        self._rules.extend(rules)

    def clear(self) -> None:
        self._rules.clear()

    @property
    def active(self) -> int:
        return len(self._rules)

    def pick(self, names: Sequence[str]) -> FaultRule | None:
        """The rule that fires for a call known by `names` (e.g. `upsert`, `upsert:Accounts`)."""
        for rule in list(self._rules):
            if rule.endpoint != "*" and rule.endpoint not in names:
                continue
            if rule.count is not None and rule.count <= 0:
                continue
            if self._random.random() >= rule.probability:
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self._rules.remove(rule)
            key = f"{rule.action}:{rule.status if rule.action == 'status' else rule.endpoint}"
            self.fired[key] = self.fired.get(key, 0) + 1
            return rule
        return None

    async def apply(
        self, names: Sequence[str], default_body: Callable[[int], dict[str, Any]]
    ) -> Response | None:
        """The response a fault imposes on this call, or None to answer normally.

        A `stall` sleeps here and then returns None (the call proceeds normally).
        """
        rule = self.pick(names)
        if rule is None:
            return None
        return await respond(rule, default_body)


async def respond(
    rule: FaultRule, default_body: Callable[[int], dict[str, Any]]
) -> Response | None:
    """What a picked rule does to its call: a response, or None to answer normally (after
    a `stall`'s wait, or for an action the sandbox handles itself)."""
    if rule.action == "stall":
        await asyncio.sleep(rule.stall_ms / 1000.0)
        return None
    if rule.action == "drop":
        return DroppedResponse()
    if rule.action != "status":
        return None
    body = rule.body if rule.body is not None else default_body(rule.status)
    headers = {"Retry-After": "1"} if rule.status == 429 and rule.body is None else None
    return JSONResponse(body, status_code=rule.status, headers=headers)


class DroppedResponse(Response):
    """Announces a body and closes the connection before sending it.

    The client sees the connection end without a complete answer (httpx raises
    `RemoteProtocolError`), which is what a dropped connection looks like from outside.
    """

    def __init__(self) -> None:
        super().__init__(content=b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"Items": [', "more_body": True})
        raise ConnectionAbortedError("sandbox fault: connection dropped")


async def parse_rules(request: Request) -> tuple[list[FaultRule], int | None]:
    """Read `{"rules": [...], "seed": S}` from a control request."""
    data = await request.json()
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise ValueError('expected {"rules": [RULE, ...]}')
    seed = data.get("seed")
    return [FaultRule.from_json(r) for r in data["rules"]], None if seed is None else int(seed)
