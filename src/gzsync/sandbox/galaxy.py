"""A local Galaxy ERP: ServiceStack-style `/auth`, the three custom views, and `/__sandbox/`.

The API half follows `reference/galaxy-api.md` (§2 auth and sessions, §3 views, §9 errors);
the filter grammar and its undocumented corners are in `galaxy_filters`. The control half
(`/__sandbox/...`) is ours: tests and the demo change rows, touch revisions, expire
sessions and inject faults through it, or through `GalaxyState` directly.

Decisions where Galaxy is silent:

- Views are served with rows ordered by their revision column ascending, streamed in
  chunks (a million customers never become one string in memory).
- The affiliate view is a join. Each affiliate link *follows* one customer and is served
  with that customer's current `THIRDPARTYREVNUM` as `AFFILIATES_REVNUM`, so touching a
  customer re-revisions its affiliate rows. A link put or posted with an
  `AFFILIATES_REVNUM` that matches no current customer keeps that revision fixed for ever
  (an orphan row; tests use it for "affiliate of a non-card-holder" and "orphan" cases).
  When several customers share that revision, the link follows the one its
  `AFFILIATES_CUST_TRDRID` names (a bulk update stamps many customers with one revision).
  A link whose customer is later removed by a PUT of the customer view is frozen at the
  revision it had.
- One database-wide revision counter (7 digits) serves customers and contacts: unique and
  ascending. A row added without a revision gets the next one; a row added with a
  revision at or past the counter moves the counter past it.
- Expired or unknown sessions get 401 `Unauthorized`/"Not Authenticated" (ServiceStack's
  default for an unauthenticated call); unknown views 404.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import heapq
import hmac
import json
import random
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gzsync.sandbox import credentials
from gzsync.sandbox.data import (
    AFFILIATE_LINK_COLUMNS,
    CONTACT_COLUMNS,
    CUSTOMER_COLUMNS,
    Dataset,
    generate,
)
from gzsync.sandbox.faults import FaultInjector, parse_rules
from gzsync.sandbox.galaxy_filters import (
    Condition,
    FilterSyntaxError,
    UnknownColumnError,
    compile_predicate,
    parse_filters,
    resolve_columns,
)

CUSTOMERS_VIEW = "zh_Customers_fin"
AFFILIATES_VIEW = "ZH_AFFILIATE"
CONTACTS_VIEW = "ZH_CONTACTS"
CHUNK_ROWS = 500

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """A view's name, its columns and the column that orders it."""

    name: str
    columns: tuple[str, ...]
    revision: str


VIEWS: dict[str, ViewSpec] = {
    spec.name.lower(): spec
    for spec in (
        ViewSpec(CUSTOMERS_VIEW, CUSTOMER_COLUMNS, "THIRDPARTYREVNUM"),
        ViewSpec(
            AFFILIATES_VIEW,
            (*AFFILIATE_LINK_COLUMNS[:3], "AFFILIATES_REVNUM", AFFILIATE_LINK_COLUMNS[3]),
            "AFFILIATES_REVNUM",
        ),
        ViewSpec(CONTACTS_VIEW, CONTACT_COLUMNS, "CONTACTS_REVNUM"),
    )
}


def view_spec(name: str) -> ViewSpec:
    """The view called `name` (case-insensitive), or KeyError."""
    return VIEWS[name.lower()]


@dataclass(slots=True, eq=False)  # identity: two links may hold equal rows
class _Link:
    """An affiliate link: follows a customer (by key) or keeps a fixed revision."""

    row: Row  # AFFILIATES_TRDRID, AFF_NAME, AFF_TIN, AFFILIATES_CUST_TRDRID
    customer: str | None
    fixed_rev: Any = None

    @property
    def key(self) -> tuple[Any, Any]:
        return (self.row["AFFILIATES_TRDRID"], self.row["AFFILIATES_CUST_TRDRID"])

    def served(self, rev: Any) -> Row:
        row = self.row
        return {
            "AFFILIATES_TRDRID": row["AFFILIATES_TRDRID"],
            "AFF_NAME": row["AFF_NAME"],
            "AFF_TIN": row["AFF_TIN"],
            "AFFILIATES_REVNUM": rev,
            "AFFILIATES_CUST_TRDRID": row["AFFILIATES_CUST_TRDRID"],
        }


def _rev_order(value: Any) -> tuple[int, Any]:
    """Sort key for revision values: numbers first, then null, then anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    if value is None:
        return (1, 0)
    return (2, str(value))


def _lower_bound(conditions: list[Condition], column: str) -> tuple[int | float, bool] | None:
    """The tightest `column > x` / `column >= x` bound among the conditions: (x, inclusive)."""
    best: tuple[int | float, bool] | None = None
    for c in conditions:
        if c.field != column or c.op not in ("Greater", "GreaterOrEqual"):
            continue
        if not isinstance(c.value, int | float) or isinstance(c.value, bool):
            continue
        bound = (c.value, c.op == "GreaterOrEqual")
        if best is None or bound[0] > best[0] or (bound[0] == best[0] and not bound[1]):
            best = bound
    return best


def _start_index(revs: Callable[[int], Any], size: int, bound: tuple[int | float, bool]) -> int:
    """First position whose revision passes `bound`, by bisection over sorted revisions.

    Only a shortcut: the predicate still checks every row served. Mixed revision types
    (a test that PUT odd values) fall back to a full scan.
    """
    value, inclusive = bound
    lo, hi = 0, size
    try:
        while lo < hi:
            mid = (lo + hi) // 2
            rev = revs(mid)
            if rev < value or (rev == value and not inclusive):
                lo = mid + 1
            else:
                hi = mid
    except TypeError:
        return 0
    return lo


class _Table:
    """Rows of one stored view keyed by id, kept in revision order."""

    def __init__(self, spec: ViewSpec, key_column: str) -> None:
        self.spec = spec
        self.key_column = key_column
        self.rows: dict[str, Row] = {}
        self._sorted = True
        self._tail: tuple[int, Any] | None = None
        self._anonymous = 0

    def key_of(self, row: Row) -> str:
        key = row.get(self.key_column)
        if isinstance(key, str) and key:
            return key
        # Bad rows without an id still exist in the view; give them a private key.
        self._anonymous += 1
        return f"\x00anonymous-{self._anonymous}"

    def put(self, key: str, row: Row) -> None:
        """Insert or replace, moving the row to the end (its revision is usually newest)."""
        self.rows.pop(key, None)
        self.rows[key] = row
        order = _rev_order(row.get(self.spec.revision))
        if self._tail is not None and order < self._tail:
            self._sorted = False
        else:
            self._tail = order

    def clear(self) -> None:
        self.rows = {}
        self._sorted = True
        self._tail = None

    def snapshot(self) -> list[tuple[str, Row]]:
        """(key, row) pairs in revision order; later changes do not affect the list."""
        if not self._sorted:
            revision = self.spec.revision
            items = sorted(self.rows.items(), key=lambda kv: _rev_order(kv[1].get(revision)))
            self.rows = dict(items)
            self._sorted = True
            self._tail = _rev_order(items[-1][1].get(revision)) if items else None
        return list(self.rows.items())


class GalaxyState:
    """The sandbox's data, sessions, counters and faults (in-process access for tests)."""

    def __init__(self, dataset: Dataset, *, session_ttl_s: float = 3600.0) -> None:
        self.faults = FaultInjector()
        self.session_ttl_s = session_ttl_s
        self._next_rev = dataset.next_rev
        self._customers = _Table(VIEWS[CUSTOMERS_VIEW.lower()], "TRDRID")
        self._contacts = _Table(VIEWS[CONTACTS_VIEW.lower()], "CONTACTID")
        self._links: dict[tuple[Any, Any], _Link] = {}
        self._followers: dict[str, list[_Link]] = {}
        self._fixed: list[_Link] = []
        self._fixed_sorted = True
        self._sessions: dict[str, float] = {}
        self._sessions_issued = 0
        self._calls: Counter[str] = Counter()
        self._rows_served: Counter[str] = Counter()
        for row in dataset.customers:
            self._store(self._customers, _normalise(row, CUSTOMER_COLUMNS))
        for row in dataset.contacts:
            self._store(self._contacts, _normalise(row, CONTACT_COLUMNS))
        for link_row in dataset.affiliate_links:
            self._link(_normalise(link_row, AFFILIATE_LINK_COLUMNS), by_revision=None)

    # -- revisions -------------------------------------------------------------------

    def _take_rev(self) -> int:
        rev = self._next_rev
        self._next_rev += 1
        return rev

    def _see_rev(self, rev: Any) -> None:
        if isinstance(rev, int) and not isinstance(rev, bool) and rev >= self._next_rev:
            self._next_rev = rev + 1

    def _store(self, table: _Table, row: Row) -> Row:
        revision = table.spec.revision
        if row.get(revision) is None:
            row[revision] = self._take_rev()
        else:
            self._see_rev(row[revision])
        table.put(table.key_of(row), row)
        return row

    # -- affiliate links -------------------------------------------------------------

    def _link(self, row: Row, by_revision: dict[Any, str] | None) -> _Link:
        """Store an affiliate link; `by_revision` maps current customer revisions to keys.

        With `by_revision` None the link follows the customer named by
        `AFFILIATES_CUST_TRDRID` (generated data); otherwise it joins the customer whose
        current revision equals `AFFILIATES_REVNUM` — the one `AFFILIATES_CUST_TRDRID` names
        when it has that revision (customers may share a revision).
        """
        rev = row.pop("AFFILIATES_REVNUM", None)
        customer: str | None = None
        named = row.get("AFFILIATES_CUST_TRDRID")
        if (
            rev is not None
            and by_revision is not None
            and named in self._customers.rows
            and self._customers.rows[named].get("THIRDPARTYREVNUM") == rev
        ):
            customer = named  # several customers may share the revision: the named one
        elif rev is not None and by_revision is not None:
            customer = by_revision.get(rev)
        elif row.get("AFFILIATES_CUST_TRDRID") in self._customers.rows:
            customer = row["AFFILIATES_CUST_TRDRID"]
        if customer is not None:
            if row.get("AFFILIATES_CUST_TRDRID") is None:
                row["AFFILIATES_CUST_TRDRID"] = self._customers.rows[customer].get("TRDRID")
            link = _Link(row, customer)
        else:
            if rev is None:
                rev = self._take_rev()
            self._see_rev(rev)
            link = _Link(row, None, rev)
        old = self._links.pop(link.key, None)
        if old is not None:
            self._unlink(old)
        self._links[link.key] = link
        if link.customer is not None:
            self._followers.setdefault(link.customer, []).append(link)
        else:
            self._fixed.append(link)
            self._fixed_sorted = False
        return link

    def _unlink(self, link: _Link) -> None:
        if link.customer is not None:
            followers = self._followers.get(link.customer, [])
            if link in followers:
                followers.remove(link)
        elif link in self._fixed:
            self._fixed.remove(link)

    def _customer_revisions(self) -> dict[Any, str]:
        return {row.get("THIRDPARTYREVNUM"): key for key, row in self._customers.rows.items()}

    def _link_revision(self, link: _Link) -> Any:
        if link.customer is None:
            return link.fixed_rev
        return self._customers.rows[link.customer].get("THIRDPARTYREVNUM")

    def _fixed_snapshot(self) -> list[_Link]:
        if not self._fixed_sorted:
            self._fixed.sort(key=lambda link: _rev_order(link.fixed_rev))
            self._fixed_sorted = True
        return list(self._fixed)

    # -- reading views ---------------------------------------------------------------

    def stream(self, view: str, conditions: list[Condition] | None = None) -> Iterator[Row]:
        """The rows of `view` matching `conditions` (resolved), lazily, in revision order."""
        spec = view_spec(view)
        conditions = conditions or []
        predicate = compile_predicate(conditions)
        bound = _lower_bound(conditions, spec.revision)
        if spec.name == AFFILIATES_VIEW:
            rows = self._affiliate_rows(bound)
        else:
            table = self._customers if spec.name == CUSTOMERS_VIEW else self._contacts
            rows = _table_rows(table.snapshot(), spec.revision, bound)
        return rows if predicate is None else filter(predicate, rows)

    def _affiliate_rows(self, bound: tuple[int | float, bool] | None) -> Iterator[Row]:
        customers = self._customers.snapshot()
        fixed = self._fixed_snapshot()
        start, fixed_start = 0, 0
        if bound is not None:
            start = _start_index(
                lambda i: customers[i][1].get("THIRDPARTYREVNUM"), len(customers), bound
            )
            fixed_start = _start_index(lambda i: fixed[i].fixed_rev, len(fixed), bound)
        followers = self._followers

        def following() -> Iterator[Row]:
            for key, customer in customers[start:] if start else customers:
                links = followers.get(key)
                if links:
                    rev = customer.get("THIRDPARTYREVNUM")
                    for link in list(links):
                        yield link.served(rev)

        orphans = (link.served(link.fixed_rev) for link in fixed[fixed_start:])
        return heapq.merge(
            following(), orphans, key=lambda row: _rev_order(row["AFFILIATES_REVNUM"])
        )

    def rows(self, view: str) -> list[Row]:
        """What the view would return unfiltered, ordered by revision (copies)."""
        return [dict(row) for row in self.stream(view)]

    # -- changing data ---------------------------------------------------------------

    def put_rows(self, view: str, rows: list[Row]) -> None:
        """Replace every row of `view` (see the module docstring for the affiliate view)."""
        spec = view_spec(view)
        if spec.name == AFFILIATES_VIEW:
            by_revision = self._customer_revisions()
            self._links, self._followers, self._fixed = {}, {}, []
            self._fixed_sorted = True
            for row in rows:
                self._link(_normalise(row, spec.columns), by_revision)
            return
        if spec.name == CUSTOMERS_VIEW:
            self._freeze_followers_of_replaced(rows)
        table = self._customers if spec.name == CUSTOMERS_VIEW else self._contacts
        table.clear()
        for row in rows:
            self._store(table, _normalise(row, spec.columns))

    def _freeze_followers_of_replaced(self, rows: list[Row]) -> None:
        kept = {row.get("TRDRID") for row in rows}
        for key in [k for k in self._followers if k not in kept]:
            rev = self._customers.rows[key].get("THIRDPARTYREVNUM")
            for link in self._followers.pop(key):
                link.customer, link.fixed_rev = None, rev
                self._fixed.append(link)
                self._fixed_sorted = False

    def add_rows(self, view: str, rows: list[Row]) -> list[Row]:
        """Add or replace rows by key; rows without a revision get the next one.

        Returns the rows as the view now serves them.
        """
        spec = view_spec(view)
        if spec.name == AFFILIATES_VIEW:
            by_revision = self._customer_revisions()
            links = [self._link(_normalise(row, spec.columns), by_revision) for row in rows]
            return [link.served(self._link_revision(link)) for link in links]
        table = self._customers if spec.name == CUSTOMERS_VIEW else self._contacts
        return [dict(self._store(table, _normalise(row, spec.columns))) for row in rows]

    def touch(self, customers: int, contacts: int, seed: int) -> dict[str, list[str]]:
        """Change data of N customers and M contacts (seeded choice); each gets a new revision.

        Rows without an id are never chosen. Returns the TRDRIDs and CONTACTIDs touched, in
        the order their new revisions were given.
        """
        rng = random.Random(seed)
        touched_customers = self._touch_table(self._customers, customers, rng, _touch_customer)
        touched_contacts = self._touch_table(self._contacts, contacts, rng, _touch_contact)
        return {"customers": touched_customers, "contacts": touched_contacts}

    def _touch_table(
        self,
        table: _Table,
        count: int,
        rng: random.Random,
        change: Callable[[Row, random.Random], None],
    ) -> list[str]:
        eligible = [key for key, row in table.rows.items() if row.get(table.key_column)]
        chosen = rng.sample(eligible, min(max(count, 0), len(eligible)))
        for key in chosen:
            row = dict(table.rows[key])  # a new dict: streams in flight keep the old one
            change(row, rng)
            row[table.spec.revision] = self._take_rev()
            table.put(key, row)
        return chosen

    # -- sessions --------------------------------------------------------------------

    def new_session(self) -> str:
        """Issue a session id valid for `session_ttl_s`."""
        session_id = new_session_id()
        self._sessions[session_id] = time.monotonic() + self.session_ttl_s
        self._sessions_issued += 1
        return session_id

    def session_valid(self, session_id: str | None) -> bool:
        """Whether `session_id` names a live session (expired ones are forgotten)."""
        if not session_id:
            return False
        expires = self._sessions.get(session_id)
        if expires is None:
            return False
        if time.monotonic() >= expires:
            del self._sessions[session_id]
            return False
        return True

    def end_session(self, session_id: str | None) -> None:
        """Log out: forget the session."""
        if session_id:
            self._sessions.pop(session_id, None)

    def expire_sessions(self) -> int:
        """Expire every session now; returns how many there were."""
        count = len(self._sessions)
        self._sessions.clear()
        return count

    # -- counters --------------------------------------------------------------------

    def count_call(self, endpoint: str) -> None:
        self._calls[endpoint] += 1

    def count_served(self, view: str, rows: int) -> None:
        self._rows_served[view] += rows

    def stats(self) -> dict[str, Any]:
        """Calls per endpoint, rows served, sessions, faults fired and row counts."""
        return {
            "calls": dict(self._calls),
            "rows_served": dict(self._rows_served),
            "rows_served_total": sum(self._rows_served.values()),
            "sessions_issued": self._sessions_issued,
            "sessions_active": len(self._sessions),
            "faults_fired": dict(self.faults.fired),
            "faults_active": self.faults.active,
            "rows": {
                CUSTOMERS_VIEW: len(self._customers.rows),
                AFFILIATES_VIEW: len(self._links),
                CONTACTS_VIEW: len(self._contacts.rows),
            },
            "next_rev": self._next_rev,
        }


def _normalise(row: Row, columns: Iterable[str]) -> Row:
    """Every column of the view, in order (missing ones null), then any extra keys."""
    out = {column: row.get(column) for column in columns}
    for key, value in row.items():
        if key not in out:
            out[key] = value
    return out


def _table_rows(
    items: list[tuple[str, Row]], revision: str, bound: tuple[int | float, bool] | None
) -> Iterator[Row]:
    start = 0
    if bound is not None:
        start = _start_index(lambda i: items[i][1].get(revision), len(items), bound)
    for i in range(start, len(items)):
        yield items[i][1]


def _touch_customer(row: Row, rng: random.Random) -> None:
    row["TRDSPHONE1"] = f"210 {rng.randrange(10**7):07d}"
    row["BALANCE"] = round(rng.uniform(-5000, 50000), 2)
    name = row.get("TRDRNAME")
    if isinstance(name, str) and name and len(name) < 200:
        base = name.split(" ~", 1)[0]
        row["TRDRNAME"] = f"{base} ~{rng.randrange(1000)}"


def _touch_contact(row: Row, rng: random.Random) -> None:
    row["PHONE"] = f"210 {rng.randrange(10**7):07d}"
    row["JOBTITLE"] = rng.choice(("Λογιστής", "Διευθυντής", "Buyer", "CFO"))


def new_session_id() -> str:
    """A ServiceStack-style id: 15 random bytes in base64 (20 chars) without '+' or '/'."""
    while True:
        session_id = base64.b64encode(secrets.token_bytes(15)).decode("ascii")
        if "+" not in session_id and "/" not in session_id:
            return session_id


# -- HTTP --------------------------------------------------------------------------------

_ERROR_CODES = {
    400: "ArgumentException",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "NotSupportedException",
    409: "OptimisticConcurrencyException",
    429: "TooManyRequests",
    500: "InternalServerError",
}
_ERROR_MESSAGES = {401: "Not Authenticated", 403: "Invalid Role"}
_AUTHENTICATE = {"WWW-Authenticate": 'credentials realm="/auth/credentials"'}
_COOKIE_YEARS = 20 * 365 * 24 * 3600  # ServiceStack's permanent cookies


def error_body(status: int, code: str | None = None, message: str | None = None) -> Row:
    """A ServiceStack error body fitting `status`."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {
        "ResponseStatus": {
            "ErrorCode": code or _ERROR_CODES.get(status, phrase.replace(" ", "")),
            "Message": message or _ERROR_MESSAGES.get(status, phrase),
        }
    }


def _error(status: int, code: str | None = None, message: str | None = None) -> JSONResponse:
    headers = _AUTHENTICATE if status == 401 else None
    return JSONResponse(error_body(status, code, message), status_code=status, headers=headers)


def _session_of(request: Request) -> str | None:
    return request.headers.get("x-ss-id") or request.cookies.get("ss-id")


def _fold(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Request fields with case-insensitive names (ServiceStack binds them so)."""
    return {str(key).lower(): value for key, value in pairs}


def create_galaxy_app(
    *,
    customers: int = 2000,
    seed: int = 1,
    session_ttl_s: float = 3600.0,
    dataset: Dataset | None = None,
    offers: int | None = None,
) -> Starlette:
    """The Galaxy sandbox app; `app.state.galaxy` is its `GalaxyState`.

    `offers` sales offers (default: a quarter of the customers, at most 2,000) are served
    by `gzsync.sandbox.offers`; `app.state.galaxy_offers` is their `OfferBook`.
    """
    from gzsync.sandbox.offers import OfferBook, offer_routes

    gc_was_enabled = gc.isenabled()
    gc.disable()  # building large states: no cycles, only pointless collector passes
    try:
        if dataset is None:
            dataset = generate(customers, seed)
        state = GalaxyState(dataset, session_ttl_s=session_ttl_s)
        count = min(len(dataset.customers) // 4, 2000) if offers is None else offers
        book = OfferBook.generated(dataset.customers, seed, count)
    finally:
        if gc_was_enabled:
            gc.enable()
    app = Starlette(routes=offer_routes(state, book) + _api_routes(state) + _control_routes(state))
    app.state.galaxy = state
    app.state.galaxy_offers = book
    return app


def _api_routes(state: GalaxyState) -> list[Route]:
    async def authenticate(request: Request) -> Response:
        state.count_call("auth")
        fault = await state.faults.apply(["auth"], error_body)
        if fault is not None:
            return fault
        fields = _fold(request.query_params.multi_items())
        if request.method == "POST":
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                fields.update(_fold(body.items()))
        username = str(fields.get("username") or "")
        password = str(fields.get("password") or "")
        if not username and not password:
            session_id = _session_of(request)
            if session_id is None or not state.session_valid(session_id):
                return _error(401)
            return JSONResponse(_auth_body(session_id, credentials.GALAXY_USERNAME))
        good_user = hmac.compare_digest(username.encode(), credentials.GALAXY_USERNAME.encode())
        good_pass = hmac.compare_digest(password.encode(), credentials.GALAXY_PASSWORD.encode())
        if not (good_user and good_pass):
            return _error(401, "Unauthorized", "Invalid Username or Password")
        session_id = state.new_session()
        response = JSONResponse(_auth_body(session_id, username))
        permanent_id = request.cookies.get("ss-pid") or new_session_id()
        response.set_cookie("ss-id", session_id, path="/", httponly=True)
        response.set_cookie("ss-pid", permanent_id, max_age=_COOKIE_YEARS, httponly=True)
        response.set_cookie("ss-opt", "temp", max_age=_COOKIE_YEARS, httponly=True)
        return response

    async def logout(request: Request) -> Response:
        state.count_call("auth")
        state.end_session(_session_of(request))
        response = JSONResponse({"ResponseStatus": {}})
        response.delete_cookie("ss-id")
        return response

    async def view(request: Request) -> Response:
        name = request.path_params["view"]
        endpoint = f"view:{name.lower()}"
        state.count_call(endpoint)
        fault = await state.faults.apply(["view", endpoint, f"view:{name}"], error_body)
        if fault is not None:
            return fault
        if not state.session_valid(_session_of(request)):
            return _error(401)
        if request.path_params["entity"].lower() != "customer" or name.lower() not in VIEWS:
            return _error(404, "NotFound", f"Custom view '{name}' was not found")
        spec = view_spec(name)
        text = _fold(request.query_params.multi_items()).get("filters")
        try:
            conditions = parse_filters(text) if text else []
            conditions = resolve_columns(conditions, spec.columns)
        except FilterSyntaxError as exc:
            return _error(400, "SerializationException", str(exc))
        except UnknownColumnError as exc:
            return _error(400, "ArgumentException", f"{exc} in view '{spec.name}'")
        rows = state.stream(spec.name, conditions)
        return StreamingResponse(
            _json_items(rows, lambda n: state.count_served(spec.name, n)),
            media_type="application/json; charset=utf-8",
        )

    return [
        Route("/auth", authenticate, methods=["GET", "POST"]),
        Route("/auth/credentials", authenticate, methods=["POST"]),
        Route("/auth/logout", logout, methods=["GET", "POST"]),
        Route("/api/glx/views/{entity}/custom/{view}", view, methods=["GET"]),
    ]


def _auth_body(session_id: str, username: str) -> Row:
    return {
        "SessionId": session_id,
        "UserName": username,
        "UserId": "1",
        "DisplayName": username,
        "ResponseStatus": {},
    }


async def _json_items(rows: Iterator[Row], served: Callable[[int], None]) -> AsyncIterator[bytes]:
    """`{"Items":[...]}` in chunks of CHUNK_ROWS rows, encoded as they are produced."""
    yield b'{"Items":['
    separator = b""
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            yield separator + _encode(chunk)
            served(len(chunk))
            separator, chunk = b",", []
            await asyncio.sleep(0)  # let other requests (and stalls) run between chunks
    if chunk:
        yield separator + _encode(chunk)
        served(len(chunk))
    yield b"]}"


def _encode(rows: list[Row]) -> bytes:
    # One dumps call per chunk; strip the list brackets so chunks concatenate.
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))[1:-1].encode("utf-8")


def _control_routes(state: GalaxyState) -> list[Route]:
    def known(view: str) -> bool:
        return view.lower() in VIEWS

    async def get_rows(request: Request) -> Response:
        view = request.path_params["view"]
        if not known(view):
            return JSONResponse({"error": f"unknown view {view!r}"}, status_code=404)
        return JSONResponse(state.rows(view))

    async def put_rows(request: Request) -> Response:
        view = request.path_params["view"]
        if not known(view):
            return JSONResponse({"error": f"unknown view {view!r}"}, status_code=404)
        rows = await _rows_body(request)
        if rows is None:
            return JSONResponse({"error": "expected a JSON list of rows"}, status_code=400)
        state.put_rows(view, rows)
        return JSONResponse({"rows": len(rows)})

    async def post_rows(request: Request) -> Response:
        view = request.path_params["view"]
        if not known(view):
            return JSONResponse({"error": f"unknown view {view!r}"}, status_code=404)
        rows = await _rows_body(request)
        if rows is None:
            return JSONResponse({"error": "expected a JSON list of rows"}, status_code=400)
        return JSONResponse({"rows": state.add_rows(view, rows)})

    async def touch(request: Request) -> Response:
        try:
            body = await request.json()
            customers = int(body.get("customers", 0))
            contacts = int(body.get("contacts", 0))
            seed = int(body.get("seed", 0))
        except (ValueError, TypeError, AttributeError):
            return JSONResponse(
                {"error": 'expected {"customers": N, "contacts": M, "seed": S}'},
                status_code=400,
            )
        return JSONResponse(state.touch(customers, contacts, seed))

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats())

    async def add_faults(request: Request) -> Response:
        try:
            rules, seed = await parse_rules(request)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        state.faults.add(rules, seed)
        return JSONResponse({"active": state.faults.active})

    async def clear_faults(request: Request) -> Response:
        state.faults.clear()
        return JSONResponse({"active": 0})

    async def expire_sessions(request: Request) -> Response:
        return JSONResponse({"expired": state.expire_sessions()})

    return [
        Route("/__sandbox/rows/{view}", get_rows, methods=["GET"]),
        Route("/__sandbox/rows/{view}", put_rows, methods=["PUT"]),
        Route("/__sandbox/rows/{view}", post_rows, methods=["POST"]),
        Route("/__sandbox/touch", touch, methods=["POST"]),
        Route("/__sandbox/stats", stats, methods=["GET"]),
        Route("/__sandbox/faults", add_faults, methods=["POST"]),
        Route("/__sandbox/faults", clear_faults, methods=["DELETE"]),
        Route("/__sandbox/sessions/expire", expire_sessions, methods=["POST"]),
    ]


async def _rows_body(request: Request) -> list[Row] | None:
    """A JSON list of row objects, or `{"rows": [...]}`; None when it is neither."""
    try:
        body = await request.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        body = body.get("rows")
    if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
        return None
    return body
