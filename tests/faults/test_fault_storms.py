"""Fault storms: seeded random mixes of transient failures on both sides, then parity.

Each seed draws a storm — 429s, 500s, 502/503s, stalls past the timeout, dropped
connections, a Zoho `INVALID_TOKEN` mid-run, a Galaxy session expiry mid-run, on Galaxy and
Zoho — and three runs follow: the storm rages in the first, lingers into the second or ends
(as the seed says), and is over by the third. Meanwhile the seed may expire sessions and
tokens between runs and change data in Galaxy.

After every run: no key is duplicated in Zoho and nothing is there that Galaxy lacks.
After the third: Zoho holds exactly what Galaxy implies (`check_parity`), every transient
failure was retried (the ledger holds only what the data itself causes), and every
permanent failure is in the ledger with its reason.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from tests.e2e.helpers import assert_parity, ledger, parity, sync
from tests.faults.conftest import (
    FaultEnv,
    assert_nothing_duplicated_or_extra,
    expected_ledger,
    fault_env,
    ledger_keys,
)

from gzsync.sandbox.faults import FaultRule

SEEDS = [1, 2, 3, 5, 8, 13, 21, 34]
TIMEOUT_MS = 300
STALL_MS = 600  # past the timeout: the client gives up, the server still answers later


def _zoho_storm(rng: random.Random) -> list[dict[str, Any]]:
    def p() -> float:
        return round(rng.uniform(0.2, 0.5), 2)

    choices: list[dict[str, Any]] = [
        {"endpoint": "upsert", "status": 429, "probability": p(), "count": rng.randint(3, 12)},
        {"endpoint": "upsert", "status": 500, "probability": p(), "count": rng.randint(2, 8)},
        {
            "endpoint": rng.choice(["upsert:Accounts", "upsert:Contacts"]),
            "status": rng.choice([502, 503]),
            "probability": p(),
            "count": rng.randint(2, 8),
        },
        {
            "endpoint": "upsert",
            "action": "stall",
            "stall_ms": STALL_MS,
            "probability": p(),
            "count": rng.randint(1, 2),
        },
        {"endpoint": "upsert", "action": "drop", "probability": p(), "count": rng.randint(1, 3)},
        # INVALID_TOKEN mid-run (the sandbox's default 401 body)
        {"endpoint": "upsert", "status": 401, "probability": p(), "count": 1},
        {"endpoint": "coql", "status": rng.choice([429, 500, 503]), "count": rng.randint(1, 2)},
        {"endpoint": "token", "status": 503, "count": 1},
    ]
    storm = rng.sample(choices, rng.randint(3, 6))
    if rng.random() < 0.3:
        # an outage that outlasts the retries: whole batches fail, the run may stop
        storm.append({"endpoint": "upsert", "status": 503, "count": rng.randint(6, 20)})
    return storm


def _galaxy_storm(rng: random.Random) -> list[dict[str, Any]]:
    choices: list[dict[str, Any]] = [
        {
            "endpoint": "view",
            "status": rng.choice([500, 502, 503]),
            "probability": 0.5,
            "count": rng.randint(1, 3),
        },
        # session expiry mid-run: a view answers 401 to a session it issued
        {"endpoint": "view", "status": 401, "probability": 0.5, "count": 1},
        {"endpoint": "view", "action": "stall", "stall_ms": STALL_MS, "count": 1},
        {"endpoint": "view", "action": "drop", "probability": 0.5, "count": 1},
        {"endpoint": "auth", "status": rng.choice([500, 503]), "count": 1},
    ]
    storm = rng.sample(choices, rng.randint(2, 4))
    if rng.random() < 0.2:
        # an outage that outlasts the retries: a read fails, the run aborts before writing
        storm.append({"endpoint": "view", "status": 503, "count": rng.randint(6, 8)})
    return storm


def unleash_storm(env: FaultEnv, rng: random.Random) -> None:
    """Add a storm drawn from `rng` to both sandboxes (rules with counts: it blows over)."""
    env.zoho.faults.add(
        [FaultRule.from_json(r) for r in _zoho_storm(rng)], seed=rng.randrange(2**32)
    )
    env.galaxy.faults.add(
        [FaultRule.from_json(r) for r in _galaxy_storm(rng)], seed=rng.randrange(2**32)
    )


def calm_storm(env: FaultEnv) -> None:
    """Remove every fault rule from both sandboxes."""
    env.zoho.faults.clear()
    env.galaxy.faults.clear()


def _fired(env: FaultEnv) -> int:
    return int(sum(env.zoho.faults.fired.values()) + sum(env.galaxy.faults.fired.values()))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_storm_ends_with_zoho_matching_galaxy(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    with fault_env(tmp_path, customers=300, seed=seed) as env:
        settings = env.with_settings(TIMEOUT_MS=TIMEOUT_MS)
        statuses: list[str] = []

        unleash_storm(env, rng)
        statuses.append(sync(env, settings).status)
        env.settle()
        # the storm has only delayed things: nothing half-written, nothing wrong
        first = parity(env)
        assert not first.duplicated, first.summary()
        assert not first.unexpected, first.summary()
        assert not first.mismatched, first.summary()
        assert not first.wrong_links, first.summary()

        if rng.random() < 0.5:
            calm_storm(env)  # the storm ends with the first run ...
        if rng.random() < 0.5:  # ... or lingers into the second, whose data has moved on
            env.galaxy.touch(customers=15, contacts=15, seed=seed)
        if rng.random() < 0.5:
            env.galaxy.expire_sessions()
        if rng.random() < 0.5:
            env.zoho.expire_tokens()
        statuses.append(sync(env, settings).status)
        env.settle()
        assert_nothing_duplicated_or_extra(env)

        calm_storm(env)
        if rng.random() < 0.5:
            env.galaxy.expire_sessions()
        final = sync(env, settings)
        statuses.append(final.status)
        env.settle()

        assert _fired(env) > 0, "the storm never broke"
        assert final.status == "incomplete", (statuses, final.message)  # bad rows wait
        assert final.exit_code_for(strict=True) == 1
        assert final.exit_code == (1 if final.has_news else 0)
        assert_parity(env)
        entries = ledger(env)
        # every transient failure was retried: only data-caused entries are left ...
        assert {e.kind for e in entries} <= {"rejected", "waiting_parent"}, statuses
        # ... each with its reason, and exactly the ones the data implies
        assert all(e.reason for e in entries)
        assert ledger_keys(env) == expected_ledger(env)


# -- a transient failure no storm seed may happen to hit -----------------------------------


class FailRecordOnce:
    """Zoho wrapper: the first upsert carrying `key` fails for that one record only.

    The record is taken out of the request before the sandbox sees it and its place in
    the answer gets Zoho's per-record `INTERNAL_ERROR` (a transient code), status 207 — a
    batch that partly failed. Later upserts of the key pass untouched.
    """

    def __init__(self, app: Any, key: str) -> None:
        self.app = app
        self.key = key
        self.failed = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.failed or scope["type"] != "http" or not scope["path"].endswith("/upsert"):
            await self.app(scope, receive, send)
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        body = json.loads(raw)
        keys = [r.get("Trader_ID") for r in body.get("data", [])]
        if self.key not in keys:
            await self.app(scope, _replay(raw), send)
            return
        self.failed += 1
        index = keys.index(self.key)
        del body["data"][index]
        error = {"code": "INTERNAL_ERROR", "details": {}, "message": "Internal Server Error",
                 "status": "error"}  # fmt: skip
        if not body["data"]:
            await _answer(send, {"data": [error]}, 400)
            return
        sent: list[Any] = []

        async def capture(message: Any) -> None:
            sent.append(message)

        await self.app(scope, _replay(json.dumps(body).encode()), capture)
        answer = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
        answer["data"].insert(index, error)
        await _answer(send, answer, 207)


def _replay(raw: bytes) -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    return receive


async def _answer(send: Any, data: dict[str, Any], status: int) -> None:
    payload = json.dumps(data).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def test_an_affiliate_that_failed_in_transit_is_retried_though_not_the_linked_one(
    tmp_path: Path,
) -> None:
    """A card holder with two affiliates links to one (the smallest Trader_ID) but both are
    upserted. When the other one fails transiently, nothing holds the customer back, so the
    next runs must retry the affiliate from the ledger itself."""
    wrappers: list[FailRecordOnce] = []

    def wrap(app: Any) -> Any:
        wrappers.append(FailRecordOnce(app, "A2"))
        return wrappers[0]

    with fault_env(tmp_path, customers=10, seed=4, zoho_wrap=wrap) as env:
        env.galaxy.put_rows(
            "zh_Customers_fin",
            [{"TRDRID": "C1", "TRDRNAME": "Card holder", "THIRDPARTYREVNUM": 5000001,
              "ZH_CUSTOMERS_MEMBER_CARDNO": "CARD-1"}],
        )  # fmt: skip
        env.galaxy.put_rows(
            "ZH_AFFILIATE",
            [{"AFFILIATES_TRDRID": aff, "AFF_NAME": f"Affiliate {aff}", "AFF_TIN": None,
              "AFFILIATES_REVNUM": 5000001} for aff in ("A1", "A2")],
        )  # fmt: skip
        env.galaxy.put_rows("ZH_CONTACTS", [])

        first = sync(env, entities=("accounts",))
        assert wrappers[0].failed == 1
        assert first.affiliates.failed == 1
        assert ("affiliates", "A2", "failed", "INTERNAL_ERROR") in ledger_keys(env)
        for _ in range(2):
            sync(env, entities=("accounts",))
        assert_parity(env, contacts=False)
        assert ledger(env) == []
