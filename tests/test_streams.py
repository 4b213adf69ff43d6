"""The stream table: declarations agree with the mapping, and every listing reads them."""

from __future__ import annotations

import pytest

from gzsync.cli.ops import Entity
from gzsync.cli.state_cmd import Stream as WatermarkStream
from gzsync.config import Settings
from gzsync.console import views
from gzsync.mapping.quote_tables import OFFER_COLUMNS
from gzsync.mapping.quotes import MappedLine, MappedQuote, TaxTable, map_line, map_offer
from gzsync.ops import html_report
from gzsync.state.catalyst import _STREAMS
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


@pytest.mark.parametrize("declared", [s for s in STREAMS if s.table], ids=lambda s: s.name)
def test_a_declaration_agrees_with_its_mapping_table(declared: Stream) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert declared.table is not None
    table = declared.table(settings)
    assert table.module == declared.module
    assert table.key.zoho_field == declared.key_field
    assert declared.key_column in table.key.sources
    assert declared.rev_column_in(settings) == table.revision.sources[0]
    assert declared.view(settings) == getattr(settings, declared.view_setting)


def test_quotes_and_products_agree_with_their_mapping() -> None:
    """Quotes map an offer and its lines (no `Table`): the declaration names the columns
    and Zoho fields that mapping reads and writes."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    quotes, products = stream("quotes"), stream("products")
    offer = {"ID": "ab-1", "TRADENUM": "7", "CommercialEntry_GXREVNUM": 12, "CUST_TIN": "1"}
    mapped = map_offer(offer)
    assert isinstance(mapped, MappedQuote)
    assert mapped.payload[quotes.key_field] == "AB-1"
    assert quotes.key_column == "ID"
    assert quotes.rev_column_in(settings) == quotes.rev_column
    assert quotes.rev_column in OFFER_COLUMNS.values()
    assert quotes.view(settings) == settings.galaxy_offers_view
    assert (quotes.module, quotes.entity, quotes.has_watermark) == ("Quotes", "quotes", True)
    line = {"DOC_ID": "ab-1", "ITEMCODE": "p-9", "QTY": "2", "PRICE": "3", "NETVALUE": "6"}
    mapped_line = map_line(line, TaxTable(settings.zoho_tax_names))
    assert isinstance(mapped_line, MappedLine)
    assert mapped_line.product_code == line[products.key_column]
    assert products.key_field in mapped_line.product
    assert products.view(settings) == settings.galaxy_offer_lines_view
    assert (products.module, products.entity, products.has_watermark) == (
        "Products",
        "quotes",
        False,
    )


def test_relations_name_declared_streams() -> None:
    for s in STREAMS:
        for relation in (s.lookup, s.read_by, s.read_with):
            if relation is not None:
                assert stream(relation.parent).name == relation.parent
    assert stream("contacts").lookup is not None
    assert stream("contacts").lookup.field == "Account_Name"  # type: ignore[union-attr]
    assert stream("affiliates").read_by is not None
    assert stream("affiliates").read_by.parent == "customers"  # type: ignore[union-attr]


def test_every_listing_is_the_stream_table() -> None:
    assert STREAM_NAMES == ("customers", "affiliates", "contacts", "quotes", "products")
    assert WATERMARKED == ("customers", "contacts", "quotes")
    assert ENTITIES == ("accounts", "contacts", "quotes")
    assert [e.value for e in Entity] == list(STREAM_NAMES)
    assert [s.value for s in WatermarkStream] == list(WATERMARKED)
    assert views.ENTITIES == STREAM_NAMES == html_report.ENTITIES
    assert views.MODULES["quotes"] == "Quotes"  # the id cache a quote's page reads
    assert views.MODULES["products"] == "Products"
    assert [s.name for s in streams_of("accounts")] == ["customers", "affiliates"]
    assert [s.name for s in streams_of("quotes")] == ["quotes", "products"]
    assert parse_entities("quotes,contacts,accounts") == ENTITIES
    assert _STREAMS == STREAM_NAMES  # the Catalyst store reads every stream's ledger


def test_the_report_has_a_section_per_stream_and_keeps_its_keys() -> None:
    report = RunReport(run_id="r", started_at=0.0)
    report.counts("affiliates").inserted = 2
    data = report.to_json()
    for name in STREAM_NAMES:
        assert data[name] == report.counts(name).to_json()
    assert data["affiliates"]["inserted"] == 2
    assert report.affiliates.inserted == 2
    report.products.failed = 1
    assert report.to_json()["products"]["failed"] == 1
    assert {"watermark_before", "watermark_after", "watermarks_before", "linked"} <= set(data)
    with pytest.raises(KeyError):
        report.counts("orders")
