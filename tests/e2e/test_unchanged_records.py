"""Unchanged records cost nothing: a Galaxy revision bump that changes no synced field is
not sent again (issue 15); `--force` sends it; the end state stays whole."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.helpers import assert_parity, make_env, sync

from gzsync.reconcile import ReconcileOptions, reconcile
from gzsync.sandbox.galaxy import CONTACTS_VIEW, CUSTOMERS_VIEW


def _bump(env: object, view: str, n: int) -> None:
    """Give `n` rows of `view` a new revision and nothing else."""
    galaxy = env.galaxy  # type: ignore[attr-defined]
    rows = galaxy.rows(view)[:n]
    spec_rev = next(k for k in rows[0] if "REV" in k.upper())
    for row in rows:
        row.pop(spec_rev)
    galaxy.add_rows(view, rows)


def test_a_revision_bump_alone_costs_no_credit(tmp_path: Path) -> None:
    for env in make_env(tmp_path, customers=300):
        sync(env)
        credits = env.zoho.stats()["credits_used"]
        upserts = env.zoho.stats()["calls"]["upsert"]
        _bump(env, CUSTOMERS_VIEW, 50)
        _bump(env, CONTACTS_VIEW, 50)
        report = sync(env)
        assert report.status in ("success", "incomplete"), report.message
        assert env.zoho.stats()["calls"]["upsert"] == upserts  # nothing sent
        assert env.zoho.stats()["credits_used"] == credits  # 0 credits
        assert report.customers.unchanged > 0
        assert report.contacts.unchanged > 0
        assert report.customers.inserted + report.customers.updated == 0
        # the watermark moved over them: the next run reads nothing
        assert sync(env).customers.fetched == 0
        assert_parity(env)
        # Zoho's Rev_Number lags Galaxy's now: reconcile still calls every record in sync
        lagging = reconcile(env.settings, ReconcileOptions())
        assert lagging.differences() == 0, lagging.to_json()["samples"]
        # --force sends them
        _bump(env, CUSTOMERS_VIEW, 10)
        forced = sync(env, force=True)
        assert forced.customers.unchanged == 0
        assert env.zoho.stats()["calls"]["upsert"] > upserts
        assert_parity(env)
