"""The stream table: declarations agree with the mapping, and every listing reads them."""

from __future__ import annotations

import pytest

from gzsync.cli.ops import Entity
from gzsync.cli.state_cmd import Stream as WatermarkStream
from gzsync.config import Settings
from gzsync.console import views
from gzsync.ops import html_report
from gzsync.streams import (
    ENTITIES,
    STREAM_NAMES,
    STREAMS,
    WATERMARKED,
    Stream,
    stream,
    streams_of,
)
from gzsync.sync.options import parse_entities
from gzsync.sync.report import RunReport


@pytest.mark.parametrize("declared", STREAMS, ids=lambda s: s.name)
def test_a_declaration_agrees_with_its_mapping_table(declared: Stream) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    table = declared.table(settings)
    assert table.module == declared.module
    assert table.key.zoho_field == declared.key_field
    assert declared.key_column in table.key.sources
    assert declared.rev_column_in(settings) == table.revision.sources[0]
    assert declared.view(settings) == getattr(settings, declared.view_setting)


def test_relations_name_declared_streams() -> None:
    for s in STREAMS:
        for relation in (s.lookup, s.read_by):
            if relation is not None:
                assert stream(relation.parent).name == relation.parent
    assert stream("contacts").lookup is not None
    assert stream("contacts").lookup.field == "Account_Name"  # type: ignore[union-attr]
    assert stream("affiliates").read_by is not None
    assert stream("affiliates").read_by.parent == "customers"  # type: ignore[union-attr]


def test_every_listing_is_the_stream_table() -> None:
    assert STREAM_NAMES == ("customers", "affiliates", "contacts")
    assert WATERMARKED == ("customers", "contacts")
    assert ENTITIES == ("accounts", "contacts")
    assert [e.value for e in Entity] == list(STREAM_NAMES)
    assert [s.value for s in WatermarkStream] == list(WATERMARKED)
    assert views.ENTITIES == STREAM_NAMES == html_report.ENTITIES
    assert [s.name for s in streams_of("accounts")] == ["customers", "affiliates"]
    assert parse_entities("contacts,accounts") == ENTITIES


def test_the_report_has_a_section_per_stream_and_keeps_its_keys() -> None:
    report = RunReport(run_id="r", started_at=0.0)
    report.counts("affiliates").inserted = 2
    data = report.to_json()
    for name in STREAM_NAMES:
        assert data[name] == report.counts(name).to_json()
    assert data["affiliates"]["inserted"] == 2
    assert report.affiliates.inserted == 2
    assert {"watermark_before", "watermark_after", "watermarks_before", "linked"} <= set(data)
    with pytest.raises(KeyError):
        report.counts("orders")
