"""Reconcile: prove Galaxy and Zoho agree, find the drift, repair it (`gzsync reconcile`).

An incremental sync only looks at what changed in Galaxy. A reconcile reads the whole of
each stream on both sides and classifies every key (:mod:`~gzsync.reconcile.classify`, pure):
missing, stale, drifted, orphan, duplicate, link_wrong, unkeyed. With ``--repair`` it
re-sends what the sync can fix through the sync's own writer.

    classify.py   the rules: one key, its expected record, its Zoho records -> a class
    index.py      both sides on disk (SQLite), walked in key order: memory stays flat
    read.py       Galaxy views (mapped, linked) and Zoho COQL pages into the index
    engine.py     lock, read, classify, repair; checkpoints for --max-duration
    quotes.py     quotes (line items where the header says they may differ) and products
    report.py     ReconcileReport and its JSON
    html.py       the --output page
"""

from gzsync.reconcile.engine import ReconcileOptions, reconcile
from gzsync.reconcile.report import ReconcileReport

__all__ = ["ReconcileOptions", "ReconcileReport", "reconcile"]
