"""The Galaxy sandbox's sales offers (SPEC §7): the offers view, the lines view, their
generated data and their `/__sandbox/rows/...` control routes.

API (as `reference/galaxy-api.md` §3 records them from the seed's `fetchQuotes` branch):

    GET /api/glx/views/salesentry/custom/zh_offers?filters=[{CommercialEntry_GXREVNUM:[R,Greater]}]
    GET /api/glx/advancedcustomviews/{LINES_VIEW_GUID}?filters=[{DOC_ID:["<offer ID>",Equal]}]

Both answer `{"Items": [...]}` with the session, fault and filter rules of the other views
(same `GalaxyState`: sessions, faults by name `view`, `view:zh_offers`,
`view:<lines guid>`, `lines` and `lines:<offer ID>` for one offer's lines, call counters).
The entity segment is `salesentry` or `SalesEntry`; the view name and the GUID are matched
case-insensitively; an unknown view or GUID is 404.

Control (ours): `GET|PUT|POST /__sandbox/rows/zh_offers` and `/__sandbox/rows/offer_lines`,
like the other views: GET lists the rows, PUT replaces them all, POST adds or replaces
rows by key (offers by `ID`; lines by `DOC_ID` + `LINENUM`, a line without `LINENUM` gets
the next number of its offer) and answers the rows as now served.

Decisions where Galaxy is silent:

- Offers have their own revision counter (`CommercialEntry_GXREVNUM`, 7 digits from
  5,000,000): a sales entry is another table than the traders, and a separate counter keeps
  the customers' generated revisions unchanged.
- **Changing an offer's lines re-revisions the offer** (PUT or POST of lines gives every
  offer concerned the next revision), as a document's revision moves when any of its
  lines is edited. That is what lets a sync notice changed lines by the offer's revision.
- The offers view serves rows in revision order; the lines view serves the lines of an
  offer in `LINENUM` order. Only `Equal`, `Greater`, `GreaterOrEqual` (and the other
  operators of the grammar) exist: there is no "IN", so lines are read offer by offer.
- Generated data (:func:`generate_offers`) comes from its own seeded stream, so the
  customers, links and contacts of a seed do not change: offers of existing customers
  (`TRDRID` and `CUST_TIN` of a generated customer), about 5 % of unknown customers (a
  TRDRID and TIN that no customer has), 1-6 lines each (3.5 on average) drawn from a
  shared catalogue of products, VAT rates 24 % (most), 13 %, 6 % and 0 %, and a discount on
  about a quarter of the lines. Prices are at least 20 so that `VATVALUE / NETVALUE`
  rounds back to the rate at 0.1 %.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

OFFERS_VIEW = "zh_offers"
OFFERS_ENTITY = "salesentry"
LINES_VIEW_GUID = "b6a2d6c9-e3bf-4d14-b000-269991c68dd5"
LINES_CONTROL = "offer_lines"
FIRST_OFFER_REVISION = 5_000_000

OFFER_COLUMNS: tuple[str, ...] = (
    "ID",
    "TRADENUM",
    "CommercialEntry_GXREVNUM",
    "CUST_TIN",
    "TRDRID",
    "CMPSDESCRIPTION",
    "OFFER_STATUS",
    "CENLAQTY",
    "TotalValue",
    "ETA",
    "OFFERS_VALID",
    "OFFICIALDATE",
    "PayTerms",
)
LINE_COLUMNS: tuple[str, ...] = (
    "DOC_ID",
    "LINENUM",
    "ITEMCODE",
    "ITEMDESCRIPTION",
    "LEAD_TIME",
    "QTY",
    "PRICE",
    "GROSSVALUE",
    "DISCVALUE",
    "NETVALUE",
    "VATVALUE",
)
VAT_RATES = (24, 24, 24, 24, 13, 13, 6, 0)

if TYPE_CHECKING:
    from gzsync.sandbox.galaxy import GalaxyState

Row = dict[str, Any]

_STORES = ("Κεντρικό Αθήνας", "Υποκατάστημα Θεσσαλονίκης", "Πάτρα", "Ηράκλειο", "e-shop")
_STATUSES = ("Draft", "Negotiation", "Delivered", "On Hold", "Confirmed")
_PAY_TERMS = ("Μετρητά", "30 ημέρες", "60 ημέρες", "Επιταγή 90")
_PRODUCT_WORDS = (
    "Βίδα",
    "Καλώδιο",
    "Πάνελ",
    "Inverter",
    "Μπαταρία",
    "Σωλήνας",
    "Λάμπα LED",
    "Διακόπτης",
    "Πίνακας",
    "Αντλία",
    "Φίλτρο",
    "Βάση",
)
_PRODUCT_SIZES = ("S", "M", "L", "XL", "10mm", "20mm", "5kW", "10kW", "1m", "2m")


def _offer_key(row: Row) -> str:
    return str(row.get("ID") or "")


def generate_offers(
    customers: Sequence[Row], seed: int, count: int
) -> tuple[list[Row], list[Row], int]:
    """`count` offers with their lines, for `customers`; returns (offers, lines, next_rev)."""
    rng = random.Random(f"gzsync-offers-{seed}")
    known = [c for c in customers if c.get("TRDRID") and c.get("TIN")]
    products = max(12, count // 3)
    catalogue = [
        (
            f"ITM-{n:05d}",
            f"{rng.choice(_PRODUCT_WORDS)} {rng.choice(_PRODUCT_SIZES)} #{n}",
            round(rng.uniform(20, 900), 2),
        )
        for n in range(1, products + 1)
    ]
    offers: list[Row] = []
    lines: list[Row] = []
    rev = FIRST_OFFER_REVISION
    start = date(2026, 1, 5)
    for n in range(1, count + 1):
        rev += 1 + (rng.random() < 0.2)
        offer_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if known and rng.random() >= 0.05:
            customer = rng.choice(known)
            trdrid, tin = customer["TRDRID"], customer["TIN"]
        else:  # a customer Galaxy has but the sync does not know
            trdrid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            tin = f"9{rng.randrange(10**8):08d}"
        official = start + timedelta(days=rng.randrange(300))
        total_qty, total_value = 0, 0.0
        for linenum in range(1, rng.choice((1, 2, 3, 3, 4, 4, 5, 6)) + 1):
            code, description, price = rng.choice(catalogue)
            qty = rng.randint(1, 20)
            gross = round(qty * price, 2)
            discount = round(gross * rng.choice((0.05, 0.1)), 2) if rng.random() < 0.25 else 0
            net = round(gross - discount, 2)
            vat = round(net * rng.choice(VAT_RATES) / 100, 2)
            total_qty += qty
            total_value += net + vat
            lines.append(
                {
                    "DOC_ID": offer_id,
                    "LINENUM": linenum,
                    "ITEMCODE": code,
                    "ITEMDESCRIPTION": description,
                    "LEAD_TIME": rng.choice((0, 2, 5, 10, 20)),
                    "QTY": qty,
                    "PRICE": price,
                    "GROSSVALUE": gross,
                    "DISCVALUE": discount,
                    "NETVALUE": net,
                    "VATVALUE": vat,
                }
            )
        offers.append(
            {
                "ID": offer_id,
                "TRADENUM": f"ΠΡΦ-{n:06d}",
                "CommercialEntry_GXREVNUM": rev,
                "CUST_TIN": tin,
                "TRDRID": trdrid,
                "CMPSDESCRIPTION": rng.choice(_STORES),
                "OFFER_STATUS": rng.choice(_STATUSES),
                "CENLAQTY": total_qty,
                "TotalValue": round(total_value, 2),
                "ETA": (official + timedelta(days=30)).isoformat() + "T00:00:00",
                "OFFERS_VALID": rng.choice(("ΝΑΙ", "ΝΑΙ", "ΟΧΙ")),
                "OFFICIALDATE": official.isoformat() + "T00:00:00",
                "PayTerms": rng.choice(_PAY_TERMS),
            }
        )
    return offers, lines, rev + 1


def _normalise(row: Row, columns: Iterable[str]) -> Row:
    out = {column: row.get(column) for column in columns}
    for key, value in row.items():
        if key not in out:
            out[key] = value
    return out


def _rev_key(row: Row) -> tuple[int, Any]:
    value = row.get("CommercialEntry_GXREVNUM")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, 0) if value is None else (2, str(value))


def _line_order(row: Row) -> tuple[int, Any]:
    value = row.get("LINENUM")
    return (0, value) if isinstance(value, int | float) else (1, str(value))


class OfferBook:
    """Offers (by `ID`) and their lines (by `DOC_ID`), with their own revision counter."""

    def __init__(self, offers: Iterable[Row], lines: Iterable[Row], next_rev: int) -> None:
        self._next_rev = next_rev
        self.offers: dict[str, Row] = {}
        self.lines: dict[str, list[Row]] = {}
        for row in offers:
            self._store_offer(_normalise(row, OFFER_COLUMNS))
        for row in lines:
            self._store_line(_normalise(row, LINE_COLUMNS))

    @classmethod
    def generated(cls, customers: Sequence[Row], seed: int, count: int) -> OfferBook:
        return cls(*generate_offers(customers, seed, count))

    # -- revisions and storage --------------------------------------------------------

    def _take_rev(self) -> int:
        rev = self._next_rev
        self._next_rev += 1
        return rev

    def _store_offer(self, row: Row) -> Row:
        rev = row.get("CommercialEntry_GXREVNUM")
        if rev is None:
            row["CommercialEntry_GXREVNUM"] = self._take_rev()
        elif isinstance(rev, int) and not isinstance(rev, bool) and rev >= self._next_rev:
            self._next_rev = rev + 1
        self.offers[_offer_key(row)] = row
        return row

    def _store_line(self, row: Row) -> Row:
        doc = str(row.get("DOC_ID") or "")
        lines = self.lines.setdefault(doc, [])
        if row.get("LINENUM") is None:
            numbers = [r["LINENUM"] for r in lines if isinstance(r.get("LINENUM"), int)]
            row["LINENUM"] = max(numbers, default=0) + 1
            lines.append(row)
            return row
        last = lines[-1].get("LINENUM") if lines else None
        if isinstance(last, int) and isinstance(row["LINENUM"], int) and row["LINENUM"] > last:
            lines.append(row)  # the common case: lines arrive in order
            return row
        lines[:] = [r for r in lines if r.get("LINENUM") != row["LINENUM"]]
        lines.append(row)
        lines.sort(key=_line_order)
        return row

    def _rerevision(self, docs: Iterable[str]) -> None:
        for doc in dict.fromkeys(docs):
            offer = self.offers.get(doc)
            if offer is not None:
                offer = dict(offer)  # a new dict: streams in flight keep the old one
                offer["CommercialEntry_GXREVNUM"] = self._take_rev()
                self.offers[doc] = offer

    # -- reading ----------------------------------------------------------------------

    def offer_rows(self) -> list[Row]:
        return sorted(self.offers.values(), key=_rev_key)

    def line_rows(self, doc: str | None = None) -> list[Row]:
        if doc is not None:
            return list(self.lines.get(doc, []))
        return [row for rows in self.lines.values() for row in rows]

    # -- control ----------------------------------------------------------------------

    def put_offers(self, rows: list[Row]) -> None:
        self.offers = {}
        for row in rows:
            self._store_offer(_normalise(row, OFFER_COLUMNS))

    def add_offers(self, rows: list[Row]) -> list[Row]:
        return [dict(self._store_offer(_normalise(row, OFFER_COLUMNS))) for row in rows]

    def put_lines(self, rows: list[Row]) -> None:
        touched = set(self.lines)
        self.lines = {}
        stored = [self._store_line(_normalise(row, LINE_COLUMNS)) for row in rows]
        self._rerevision([*touched, *(str(r.get("DOC_ID") or "") for r in stored)])

    def add_lines(self, rows: list[Row]) -> list[Row]:
        stored = [dict(self._store_line(_normalise(row, LINE_COLUMNS))) for row in rows]
        self._rerevision(str(r.get("DOC_ID") or "") for r in stored)
        return stored

    def stats(self) -> dict[str, int]:
        return {"offers": len(self.offers), "offer_lines": sum(map(len, self.lines.values()))}


# -- HTTP ----------------------------------------------------------------------------------


def offer_routes(state: GalaxyState, book: OfferBook) -> list[Route]:
    """API and control routes of the offers (sessions, faults and counters from `state`).

    Registered before the generic routes of `gzsync.sandbox.galaxy`, which they shadow for
    the offers' paths only. The entity segment is `salesentry` or `SalesEntry`.
    """
    from gzsync.sandbox.galaxy import (  # the galaxy module registers us: import late
        _error,
        _json_items,
        _rows_body,
        _session_of,
        error_body,
    )
    from gzsync.sandbox.galaxy_filters import (
        FilterSyntaxError,
        UnknownColumnError,
        compile_predicate,
        parse_filters,
        resolve_columns,
    )

    async def serve(
        request: Request,
        view: str,
        fault_names: list[str],
        columns: tuple[str, ...],
        rows_for: Callable[[list[Any]], list[Row]],
    ) -> Response:
        state.count_call(fault_names[1])
        fault = await state.faults.apply(fault_names, error_body)
        if fault is not None:
            return fault
        if not state.session_valid(_session_of(request)):
            return _error(401)
        text = next(
            (v for k, v in request.query_params.multi_items() if k.lower() == "filters"), None
        )
        try:
            conditions = resolve_columns(parse_filters(text) if text else [], columns)
        except FilterSyntaxError as exc:
            return _error(400, "SerializationException", str(exc))
        except UnknownColumnError as exc:
            return _error(400, "ArgumentException", f"{exc} in view '{view}'")
        predicate = compile_predicate(conditions)
        rows: Iterator[Row] = iter(rows_for(conditions))
        if predicate is not None:
            rows = filter(predicate, rows)
        return StreamingResponse(
            _json_items(rows, lambda n: state.count_served(view, n)),
            media_type="application/json; charset=utf-8",
        )

    async def offers_view(request: Request) -> Response:
        name = request.path_params["view"]
        if name.lower() != OFFERS_VIEW.lower():
            state.count_call(f"view:{name.lower()}")
            return _error(404, "NotFound", f"Custom view '{name}' was not found")
        return await serve(
            request,
            OFFERS_VIEW,
            ["view", f"view:{OFFERS_VIEW}"],
            OFFER_COLUMNS,
            lambda _: book.offer_rows(),
        )

    def lines_for(conditions: list[Any]) -> list[Row]:
        for c in conditions:  # the one shape the sync uses: an index lookup
            if c.field == "DOC_ID" and c.op == "Equal" and isinstance(c.value, str):
                return book.line_rows(c.value)
        return book.line_rows()

    async def lines_view(request: Request) -> Response:
        guid = request.path_params["guid"]
        if guid.lower() != LINES_VIEW_GUID:
            state.count_call(f"view:{guid.lower()}")
            return _error(404, "NotFound", f"Advanced custom view '{guid}' was not found")
        names = ["view", "lines", f"view:{LINES_VIEW_GUID}"]
        doc = _doc_of(request)
        if doc is not None:
            names.append(f"lines:{doc}")
        return await serve(
            request,
            LINES_VIEW_GUID,
            names,
            LINE_COLUMNS,
            lines_for,
        )

    def _doc_of(request: Request) -> str | None:
        """The offer a lines read asks for (`DOC_ID Equal`), for the fault name `lines:<ID>`."""
        text = next((v for k, v in request.query_params.multi_items() if k.lower() == "filters"),
                    None)  # fmt: skip
        try:
            conditions = parse_filters(text) if text else []
        except FilterSyntaxError:
            return None
        return next((str(c.value) for c in conditions
                     if c.field.upper() == "DOC_ID" and c.op == "Equal"), None)  # fmt: skip

    async def offers_control(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(book.offer_rows())
        rows = await _rows_body(request)
        if rows is None:
            return JSONResponse({"error": "expected a JSON list of rows"}, status_code=400)
        if request.method == "PUT":
            book.put_offers(rows)
            return JSONResponse({"rows": len(rows)})
        return JSONResponse({"rows": book.add_offers(rows)})

    async def lines_control(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(book.line_rows())
        rows = await _rows_body(request)
        if rows is None:
            return JSONResponse({"error": "expected a JSON list of rows"}, status_code=400)
        if request.method == "PUT":
            book.put_lines(rows)
            return JSONResponse({"rows": len(rows)})
        return JSONResponse({"rows": book.add_lines(rows)})

    methods = ["GET", "PUT", "POST"]
    return [
        Route(f"/api/glx/views/{OFFERS_ENTITY}/custom/{{view}}", offers_view, methods=["GET"]),
        Route("/api/glx/views/SalesEntry/custom/{view}", offers_view, methods=["GET"]),
        Route("/api/glx/advancedcustomviews/{guid}", lines_view, methods=["GET"]),
        Route(f"/__sandbox/rows/{OFFERS_VIEW}", offers_control, methods=methods),
        Route(f"/__sandbox/rows/{LINES_CONTROL}", lines_control, methods=methods),
    ]
