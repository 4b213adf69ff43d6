"""The stream table: every entity gzsync syncs, declared once.

A `Stream` says where a Galaxy entity comes from (the view setting, its key and revision
columns), where it goes (the Zoho module and the field Zoho matches it on), how a row is
mapped (its mapping table), and how it relates to other streams:

- `lookup`: its Zoho record points to another stream's record (a contact's `Account_Name`
  is its customer's Account);
- `read_by`: it has no revision of its own and is read by another stream's revisions (an
  affiliate row carries its card holder's revision; see :mod:`gzsync.sync.affiliates`);
- `read_with`: it has no revision at all; its rows come with another stream's rows and are
  written before the records that need them, once per run (a product comes with the offer
  lines naming it; see :mod:`gzsync.sync.products`).

A stream whose rows are not mapped by a `mapping.tables.Table` (quotes: an offer header plus
its lines, :mod:`gzsync.mapping.quotes`) declares no `table`/`mapper`; its phase maps.

Everything that lists streams — report counts and sections, ledger and warnings filters
(`--entity`), watermarks (`status`, metrics, `state` commands), `--entities` groups — reads
`STREAMS`, so a new stream appears in all of them from its declaration (Singer SDK's
`Stream` and dlt's `resource` + `incremental` are the models; this is smaller: plain data).

Adding an entity (docs/ARCHITECTURE.md, "Adding an entity"): 1. its mapping table in
`mapping/tables.py`; 2. a `Stream` here; 3. its phase (read with `sync.fetch.spool_view`,
write with `sync.writer.BatchWriter(stream, ctx)`) registered in `sync/pipeline.py`.
The quotes stream (`QUOTES`, :mod:`gzsync.sync.quotes`) is the latest example.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from gzsync.mapping.quote_tables import LINE_COLUMNS, OFFER_COLUMNS
from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_contact, map_customer
from gzsync.mapping.rules import MappingRules
from gzsync.mapping.tables import AFFILIATE, CUSTOMER, Table, contact_table

if TYPE_CHECKING:
    from gzsync.config import Settings

#: A Galaxy row -> the record to upsert, or why it cannot be.
RowMapper = Callable[[Mapping[str, Any]], Mapped | Rejected]


@dataclass(frozen=True, slots=True)
class Lookup:
    """This stream's Zoho record points to a record of stream `parent` through `field`."""

    field: str  # the Zoho lookup field, e.g. Account_Name
    parent: str  # the stream whose record it points to


@dataclass(frozen=True, slots=True)
class ReadBy:
    """This stream is read by the revisions of stream `parent`: its rows carry the
    parent's revision in the stream's own `rev_column` (an affiliate row carries its card
    holder's)."""

    parent: str


@dataclass(frozen=True, slots=True)
class ReadWith:
    """This stream has no revision: its rows come with the rows of stream `parent` (a
    product with the offer lines naming it) and are written before the parent's records
    that need them, once per run. It keeps no watermark; its ledger entries have rev 0."""

    parent: str


@dataclass(frozen=True, slots=True)
class Stream:
    """One entity gzsync syncs from a Galaxy view into a Zoho module."""

    name: str  # ledger, watermark, report and `--entity` name
    entity: str  # the `--entities` group it runs in (accounts, contacts)
    view_setting: str  # the Settings attribute naming its Galaxy view
    rev_column: str  # the view's revision column (logical name for configurable views)
    key_column: str  # the view's key column
    module: str  # Zoho module
    key_field: str  # the Zoho field a record is upserted on (duplicate_check_fields)
    #: the mapping table and its row mapper, given the run's settings and rules (None: the
    #: rows are not a `Table`'s and the stream's phase maps them, as quotes' do)
    table: Callable[[Settings], Table] | None = None
    mapper: Callable[[Settings, MappingRules], RowMapper] | None = None
    lookup: Lookup | None = None
    read_by: ReadBy | None = None
    read_with: ReadWith | None = None
    #: the id-cache "module" its confirmed ids are kept under (None: the Zoho module's)
    ids_module: str | None = None

    @property
    def has_watermark(self) -> bool:
        """A stream read by another's revisions, or read with another's rows, keeps no
        watermark of its own."""
        return self.read_by is None and self.read_with is None

    def view(self, settings: Settings) -> str:
        """The Galaxy view this stream reads, as configured."""
        return str(getattr(settings, self.view_setting))

    def rev_column_in(self, settings: Settings) -> str:
        """The revision column's name in the configured view."""
        if self.table is None:
            return self.rev_column
        return self.table(settings).revision.sources[0]


def _contact_table(settings: Settings) -> Table:
    return contact_table(settings.galaxy_contact_columns)


def _contact_mapper(settings: Settings, rules: MappingRules) -> RowMapper:
    return partial(map_contact, columns=settings.galaxy_contact_columns, rules=rules)


CUSTOMERS = Stream(
    name="customers",
    entity="accounts",
    view_setting="galaxy_customers_view",
    rev_column="THIRDPARTYREVNUM",
    key_column="TRDRID",
    module="Accounts",
    key_field="Trader_ID",
    table=lambda settings: CUSTOMER,
    mapper=lambda settings, rules: partial(map_customer, rules=rules),
    ids_module="Accounts:customers",
)

AFFILIATES = Stream(
    name="affiliates",
    entity="accounts",
    view_setting="galaxy_affiliates_view",
    rev_column="AFFILIATES_REVNUM",
    key_column="AFFILIATES_TRDRID",
    module="Accounts",
    key_field="Trader_ID",
    table=lambda settings: AFFILIATE,
    mapper=lambda settings, rules: partial(map_affiliate, rules=rules),
    read_by=ReadBy(parent="customers"),
)

CONTACTS = Stream(
    name="contacts",
    entity="contacts",
    view_setting="galaxy_contacts_view",
    rev_column="CONTACTS_REVNUM",
    key_column="CONTACTID",
    module="Contacts",
    key_field="Galaxy_Contact_ID",
    table=_contact_table,
    mapper=_contact_mapper,
    lookup=Lookup(field="Account_Name", parent="customers"),
)

#: Phase 2 (SPEC §7): sales offers into Quotes with exact line items (`sync/quotes.py`).
QUOTES = Stream(
    name="quotes",
    entity="quotes",
    view_setting="galaxy_offers_view",
    rev_column=OFFER_COLUMNS["CommercialEntry_GXREVNUM"],
    key_column=OFFER_COLUMNS["ID"],
    module="Quotes",
    key_field="ERP_ID_Offer",
    lookup=Lookup(field="Account_Name", parent="customers"),
)

#: The Products the offer lines name, upserted before their quotes (`sync/products.py`).
PRODUCTS = Stream(
    name="products",
    entity="quotes",
    view_setting="galaxy_offer_lines_view",
    rev_column="",
    key_column=LINE_COLUMNS["ITEMCODE"],
    module="Products",
    key_field="Product_Code",
    read_with=ReadWith(parent="quotes"),
)

#: Every stream, in the order a run writes them and reports list them.
STREAMS: tuple[Stream, ...] = (CUSTOMERS, AFFILIATES, CONTACTS, QUOTES, PRODUCTS)
#: Stream names, as the ledger, report and `--entity` spell them.
STREAM_NAMES: tuple[str, ...] = tuple(s.name for s in STREAMS)
#: Streams with a watermark of their own.
WATERMARKED: tuple[str, ...] = tuple(s.name for s in STREAMS if s.has_watermark)
#: `--entities` groups, in run order.
ENTITIES: tuple[str, ...] = tuple(dict.fromkeys(s.entity for s in STREAMS))

_BY_NAME = {s.name: s for s in STREAMS}


def stream(name: str) -> Stream:
    """The declared stream called `name`; KeyError if there is none."""
    return _BY_NAME[name]


def streams_of(entity: str) -> tuple[Stream, ...]:
    """The streams an `--entities` group syncs."""
    return tuple(s for s in STREAMS if s.entity == entity)
