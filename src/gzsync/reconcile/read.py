"""Reading both sides whole into the reconcile index.

**Galaxy**: each view is read once, unfiltered, streamed through the mapping into the
index (the same ``map_*`` functions the sync uses, so "what Zoho should hold" is exactly
what a sync would write). Affiliates are then linked window by window, with the sync's own
pure :func:`~gzsync.sync.linking.link_affiliates`, over customers in revision order.

**Zoho**: COQL, ``select <synced fields> from <Module> where id > <last id> order by id
limit 2000`` — keyset paging on the record id. COQL's ``OFFSET`` stops at 100,000 rows
(zoho-crm-api.md §4.2) and ``id > last`` has no such cap; 2,000 is the most one call
returns. Credits: 3 per 2,000 records, so 1,500 for a million Accounts.

*Why not Bulk Read?* Its job costs 50 credits to start and returns a CSV in a ZIP to poll
for and download; at a million records that is ~60 credits against COQL's 1,500. But our
reference documents none of Bulk Read's request or response shapes or limits (only its
credit cost and an error code), so neither the client nor a faithful sandbox could be
written without guessing, and it needs the extra ``ZohoCRM.bulk.READ`` scope. COQL pages
are documented, resumable after any page, and cost 1,500 credits per million records — 3%
of the smallest paid edition's daily allowance. Revisit if that reference grows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from gzsync.galaxy.client import GalaxyClient
from gzsync.galaxy.offers import read_offers
from gzsync.mapping import normalize
from gzsync.mapping.normalize import DecimalMark, InvalidValue
from gzsync.mapping.quote_tables import OFFER_FIELDS
from gzsync.mapping.quotes import map_offer
from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_contact, map_customer
from gzsync.mapping.rules import DEFAULT_RULES, MappingRules
from gzsync.mapping.tables import AFFILIATE, CONTACT, CUSTOMER, Table
from gzsync.reconcile.index import TIN_LINK, ReconcileIndex
from gzsync.sync.linking import link_affiliates
from gzsync.zoho import coql
from gzsync.zoho.client import ZohoClient

log = logging.getLogger("gzsync.reconcile")

#: Records per COQL page (the most one COQL call returns in v7/v8).
PAGE = 2000
#: Customers linked together (as the sync's windows).
WINDOW = 5000
#: The field a tagged orphan carries (ORPHAN_ACTION=tag).
STATUS_FIELD = "Galaxy_Status"


class ModuleSpec:
    """What a reconcile reads of one Zoho module and how it names things."""

    def __init__(
        self,
        module: str,
        key_field: str,
        link_field: str | None,
        tables: Sequence[Table] = (),
        *,
        fields: Sequence[str] = (),
        key_of: Callable[[Any], str | None] | None = None,
    ):
        self.module = module
        self.key_field = key_field
        self.link_field = link_field
        names: dict[str, None] = dict.fromkeys(fields)
        for table in tables:
            for rule in table.rules:
                names[rule.zoho_field] = None
        #: the synced fields compared (key and revision included: they are read too)
        self.fields = tuple(names)
        #: a Zoho key spelled as the mapping spells Galaxy's (None: trimmed, upper-cased)
        self.key_of = key_of


ACCOUNTS = ModuleSpec("Accounts", "Trader_ID", "Affiliate_To", (CUSTOMER, AFFILIATE))
CONTACTS = ModuleSpec("Contacts", "Galaxy_Contact_ID", "Account_Name", (CONTACT,))


def _code(value: Any) -> str | None:
    """A `Product_Code` as the mapping spells an item code: trimmed, case kept."""
    if not isinstance(value, str):
        return None
    return value.strip() or None


#: Quote headers: the mapped fields, and Zoho's computed `Grand_Total` (the hint that a
#: quote's line items may differ, see :mod:`gzsync.reconcile.quotes`). `Quoted_Items` is a
#: subform: COQL cannot select it (reference zoho-quotes.md §5: line items come only with
#: a single-record GET; the sandbox refuses the column).
QUOTES = ModuleSpec(
    "Quotes",
    "ERP_ID_Offer",
    "Account_Name",
    fields=(
        "ERP_ID_Offer",
        "Rev_Number",
        "ERP_Offer_Number",
        "Subject",
        *OFFER_FIELDS,
        "Grand_Total",
    ),
)
PRODUCTS = ModuleSpec(
    "Products", "Product_Code", None, fields=("Product_Code", "Product_Name"), key_of=_code
)


async def read_galaxy_accounts(
    galaxy: GalaxyClient,
    index: ReconcileIndex,
    customers_view: str,
    affiliates_view: str,
    rules: MappingRules = DEFAULT_RULES,
) -> None:
    """Every customer and affiliate row, then the links (see the module docstring).

    `rules` are the run's mapping rules (``NUMBER_DECIMAL``, ``CONTACT_NAME_FALLBACK``), the
    same the sync maps with: a reconcile that read "1,234" otherwise than the sync would see
    drift that is not there, and its repair would write the wrong amount."""
    await galaxy.read_view(
        customers_view,
        [],
        lambda row: index.add_galaxy("Accounts", "customer", map_customer(row, rules)),
    )
    await galaxy.read_view(
        affiliates_view, [], lambda row: index.add_affiliate_row(map_affiliate(row, rules))
    )
    index.flush()
    window: list[Mapped] = []
    for customer in index.customers_by_rev():
        window.append(customer)
        if len(window) >= WINDOW:
            _link_window(index, window)
            window = []
    if window:
        _link_window(index, window)


def _link_window(index: ReconcileIndex, window: list[Mapped]) -> None:
    card_holders = {m.rev: m.key for m in window if m.card_holder}
    if not card_holders:
        return
    rows = index.affiliate_rows_between(min(card_holders), max(card_holders))
    plan = link_affiliates(card_holders, rows)
    index.put_links(plan.affiliates, plan.links)


async def read_galaxy_contacts(
    galaxy: GalaxyClient,
    index: ReconcileIndex,
    view: str,
    columns: Mapping[str, str],
    rules: MappingRules = DEFAULT_RULES,
) -> None:
    """Every contact row; those whose customer Zoho is not to hold are only known."""
    mapper = partial(map_contact, columns=columns, rules=rules)
    await galaxy.read_view(
        view, [], lambda row: index.add_galaxy("Contacts", "contact", mapper(row))
    )
    index.drop_orphan_contacts()


def page_query(spec: ModuleSpec, last_id: str | None, *, status: bool) -> str:
    """One COQL page of `spec`'s module after `last_id` (the first page when None)."""
    link = [spec.link_field] if spec.link_field else []
    columns = [*spec.fields, *link, *([STATUS_FIELD] if status else [])]
    select = ", ".join(coql.name(c) for c in columns)
    where = "id is not null" if last_id is None else f"id > {coql.quote(_id_literal(last_id))}"
    return (
        f"select {select} from {coql.name(spec.module)} where {where} order by id asc limit {PAGE}"  # noqa: S608
    )


def _id_literal(value: str) -> int | str:
    return int(value) if value.isdigit() else value


async def read_zoho_page(
    zoho: ZohoClient, index: ReconcileIndex, spec: ModuleSpec, last_id: str | None, *, status: bool
) -> tuple[str | None, bool]:
    """Read one page into the index: (the last id read, whether it was the last page)."""
    rows = await zoho.coql(page_query(spec, last_id, status=status))
    kept = [_record(spec, row) for row in rows if row.get("id") is not None]
    if kept:
        index.add_zoho(spec.module, kept)
        last_id = kept[-1][0]
    return last_id, len(rows) < PAGE


def _record(spec: ModuleSpec, row: Mapping[str, Any]) -> tuple[Any, ...]:
    """(id, key, rev, fields, link, status) of one COQL row; the key as the mapping spells it."""
    key = (spec.key_of or _key)(row.get(spec.key_field))
    fields = {f: row.get(f) for f in spec.fields if f not in (spec.key_field, "Rev_Number")}
    status = row.get(STATUS_FIELD)
    return (
        str(row["id"]),
        key,
        _as_rev(row.get("Rev_Number")),
        fields,
        _lookup_id(row.get(spec.link_field)) if spec.link_field else None,
        status if isinstance(status, str) else None,
    )


def _key(value: Any) -> str | None:
    """A Zoho key spelled as the mapping spells Galaxy's (trimmed, upper-cased)."""
    if not isinstance(value, str):
        return None
    try:
        return normalize.identifier(value)
    except InvalidValue:
        return value.strip().upper() or None


def _as_rev(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _lookup_id(value: Any) -> str | None:
    """A lookup as COQL returns it: `{"id": ...}` (with or without `name`), or a bare id."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if value is None or value == "":
        return None
    return str(value)


async def read_galaxy_offers(
    galaxy: GalaxyClient,
    index: ReconcileIndex,
    view: str,
    entity: str,
    *,
    decimal: DecimalMark = "comma",
) -> int:
    """Every offer header (the offers view, unfiltered: one call); their lines are read
    later, only for the offers that need them (:mod:`gzsync.reconcile.quotes`).

    An offer is expected as a Quote linked to its customer's Account (``TRDRID``, else
    ``tin:<digits>``); one our mapping rejects, or without any customer key, is only known.
    `decimal` is the sync's NUMBER_DECIMAL (the offer's amounts are read as the sync reads
    them). Returns the offers read."""
    offers: list[tuple[str, str]] = []

    def keep(row: Mapping[str, Any]) -> None:
        item = map_offer(row, decimal=decimal)
        if isinstance(item, Rejected):
            if not item.key.startswith("?"):
                index.add_known("Quotes", item.key)
            return
        offers.append((item.key, item.galaxy_id))
        tin = f"{TIN_LINK}{item.account_tin}" if item.account_tin else None
        link = item.account_trdrid or tin
        if link is None:
            index.add_known("Quotes", item.key)  # missing_customer: the ledger's business
            return
        index.add_expected("Quotes", item.key, "quote", item.rev, item.payload, link)

    await read_offers(galaxy, keep, view=view, entity=entity)
    index.flush()
    index.put_offers(offers)
    return len(offers)
