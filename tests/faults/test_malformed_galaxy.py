"""Bad input from Galaxy: malformed responses, and rows of every bad kind.

Malformed responses: a clear one-line error, exit 3, and nothing written.

The sandbox's fault rules answer with a JSON body and a status only, so the bodies a broken
Galaxy (or the proxy in front of it) really sends — an HTML error page, JSON cut short, a
200 with an error in `ResponseStatus` — come from a small ASGI wrapper: it answers one view
with the given raw response and passes every other request to the Galaxy sandbox.

`gzsync run` is invoked through its command-line app in-process (Typer's runner), so that
the retries of a 500 do not sleep; one case also runs as a real child process.

Bad rows (end to end; the mapping's own property tests are in tests/mapping/): every bad
kind put in the sandbox at once — no key, no name, a 300-character name, numbers that are
not numbers, a revision that is not one, emoji, huge strings, a list where a phone should
be. The run completes, each bad row is in the ledger with its reason, every good row is in
Zoho, nothing raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.e2e.helpers import accounts_by_key, assert_parity, sync
from tests.faults.conftest import (
    FaultEnv,
    expected_ledger,
    fault_env,
    ledger_keys,
    run_gzsync,
    subprocess_env,
)
from typer.testing import CliRunner

from gzsync.cli import app as cli_app
from gzsync.state.sqlite import open_sqlite_store

CUSTOMERS_VIEW = "zh_Customers_fin"
AFFILIATES_VIEW = "ZH_AFFILIATE"

_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head>\n"
    b"<body><h1>HTTP Error 503. The service is unavailable.</h1></body></html>\n"
)
_ROWS = (
    b'{"TRDRID":"C1","TRDRNAME":"Acme","THIRDPARTYREVNUM":1000001},'
    b'{"TRDRID":"C2","TRDRNAME":"Beta","THIRDPARTYREVNUM":1000002}'
)


@dataclass(frozen=True)
class Bad:
    """A raw response and what the one-line message must say about it."""

    status: int
    content_type: str
    body: bytes
    says: str


BAD: dict[str, Bad] = {
    "html_page_200": Bad(200, "text/html; charset=utf-8", _HTML, "not JSON"),
    "html_page_500": Bad(500, "text/html", _HTML, "HTTP 500"),
    "truncated_json": Bad(200, "application/json", b'{"Items":[' + _ROWS[:70], "truncated"),
    "no_items": Bad(200, "application/json", b'{"Results":[],"Total":0}', "no Items array"),
    "items_not_a_list": Bad(200, "application/json", b'{"Items":{"TRDRID":"C1"}}', "no Items"),
    "items_not_objects": Bad(200, "application/json", b'{"Items":[1,2,3]}', "not an object"),
    "error_body_200": Bad(
        200,
        "application/json",
        b'{"ResponseStatus":{"ErrorCode":"SqlException","Message":"Timeout expired."}}',
        "SqlException",
    ),
    "rows_then_error_200": Bad(
        200,
        "application/json",
        b'{"Items":[' + _ROWS + b'],"ResponseStatus":{"ErrorCode":"SqlException",'
        b'"Message":"Transaction (Process ID 61) was deadlocked"}}',
        "SqlException",
    ),
}


class RawView:
    """Answers GETs of one view with a fixed raw response; everything else goes to `app`."""

    def __init__(self, app: ASGIApp, view: str, bad: Bad) -> None:
        self.app = app
        self.suffix = f"/custom/{view.lower()}"
        self.bad = bad
        self.served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].lower().endswith(self.suffix):
            self.served += 1
            response = Response(
                self.bad.body, status_code=self.bad.status, media_type=self.bad.content_type
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _assert_nothing_written(env: FaultEnv) -> None:
    assert env.zoho.records("Accounts") == []
    assert env.zoho.records("Contacts") == []
    assert env.zoho.stats()["calls"]["upsert"] == 0
    store = open_sqlite_store(env.state_db)
    try:
        assert store.get_watermark("customers") is None
        assert store.get_watermark("contacts") is None
        assert store.ledger_list() == []
    finally:
        store.close()


@pytest.mark.parametrize("view", [CUSTOMERS_VIEW, AFFILIATES_VIEW])
@pytest.mark.parametrize("case", sorted(BAD))
def test_a_malformed_view_response_aborts_with_a_clear_error_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, view: str, case: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no `.env` from the working tree
    wrappers: list[RawView] = []

    def wrap(app: ASGIApp) -> ASGIApp:
        wrappers.append(RawView(app, view, BAD[case]))
        return wrappers[0]

    with fault_env(tmp_path, customers=120, seed=5, galaxy_wrap=wrap) as env:
        result = CliRunner().invoke(
            cli_app, ["run", "--json", "--quiet"], env=subprocess_env(env), catch_exceptions=False
        )
        env.settle()
        assert result.exit_code == 3, result.output
        report = json.loads(result.stdout)
        assert report["status"] == "aborted"
        message = report["message"]
        assert "\n" not in message
        assert f"Galaxy view {view}" in message, message
        assert BAD[case].says in message, message
        assert "Traceback" not in result.stderr
        assert message in result.stderr  # the operator sees the same line
        assert wrappers[0].served >= 1
        _assert_nothing_written(env)


def test_gzsync_run_exits_3_on_an_html_page_as_a_real_process(tmp_path: Path) -> None:
    def wrap(app: ASGIApp) -> ASGIApp:
        return RawView(app, CUSTOMERS_VIEW, BAD["html_page_200"])

    with fault_env(tmp_path, customers=50, seed=5, galaxy_wrap=wrap) as env:
        done = run_gzsync(env, "run", "--quiet", cwd=tmp_path)
        env.settle()
        assert done.returncode == 3
        lines = [line for line in done.stderr.decode().splitlines() if line.strip()]
        assert len(lines) == 1, lines  # one line, no traceback
        assert f"Galaxy view {CUSTOMERS_VIEW}" in lines[0]
        assert "not JSON" in lines[0]
        _assert_nothing_written(env)


# -- bad rows ------------------------------------------------------------------------------

_EMOJI_NAME = "Καφές ☕ & Σία 🚀 Ο.Ε."


def _customer(trdrid: object, rev: object, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "TRDRID": trdrid,
        "TRDRNAME": f"Customer {trdrid}",
        "TIN": "094259216",
        "TRDSPHONE1": "210 123 4567",
        "TRDSSTREET": "Odos 1",
        "CNTRCODE": "GR",
        "BALANCE": 10.5,
        "MAXBALANCE": 100,
        "THIRDPARTYREVNUM": rev,
        "ZH_CUSTOMERS_MEMBER_CARDNO": "",
    }
    row.update(values)
    return row


def _contact(contact_id: object, trdrid: object, rev: int, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "CONTACTID": contact_id,
        "TRDRID": trdrid,
        "FIRSTNAME": "Maria",
        "LASTNAME": f"Contact {contact_id}",
        "EMAIL": "maria@example.gr",
        "CONTACTS_REVNUM": rev,
    }
    row.update(values)
    return row


CUSTOMER_ROWS = [
    _customer("G1", 3000001, ZH_CUSTOMERS_MEMBER_CARDNO="CARD-1"),  # with affiliate A1
    _customer("G2", 3000002, TRDRNAME=_EMOJI_NAME, TRDSSTREET="Ερμού 12 🏠"),
    _customer("G3", 3000003, TRDSSTREET="s" * 100_000, SALESNAME="x" * 5_000),  # huge optional
    _customer("G4", 3000004, TRDSPHONE1=["210", "1234567"]),  # a list as a phone
    _customer("G5", 3000005, TIN=94259216, CNTRCODE=7),  # numbers where text is expected
    _customer("G6", 3000006, TRDRNAME={"el": "x"}, COMPTITLE="Fallback A.E."),  # dict as name
    _customer("g7 ", 3000007),  # lower case and a space: the key is G7
    _customer("G8", 3000008, ZH_CUSTOMERS_MEMBER_CARDNO="CARD-8"),  # its affiliate is bad
    _customer(None, 3000010),  # no TRDRID at all
    _customer("   ", 3000011),  # a blank TRDRID
    _customer("B1", 3000012, TRDRNAME=None, COMPTITLE="", CUSTCODE="  ", TRDRCODE=None),
    _customer("B2", 3000013, TRDRNAME="N" * 300),
    _customer("B3", 3000014, BALANCE="N/A"),
    _customer("B4", 3000015, TURNOVER_YTD=[1, 2]),
    _customer("B5", 3000016, MAXBALANCE=True),
    _customer("B6", 3000017, BALANCE="1e400"),
    _customer("B7", "abc"),  # a revision that is not a number
]
AFFILIATE_ROWS = [
    {"AFFILIATES_TRDRID": "A1", "AFF_NAME": "Affiliate 1", "AFF_TIN": "090000045",
     "AFFILIATES_REVNUM": 3000001},
    {"AFFILIATES_TRDRID": "A8", "AFF_NAME": "", "AFF_TIN": None, "AFFILIATES_REVNUM": 3000008},
]  # fmt: skip
CONTACT_ROWS = [
    _contact("K1", "G1", 3000101),
    _contact(None, "G1", 3000102),  # no id
    _contact("K3", None, 3000103),  # no customer
    _contact("K4", "B1", 3000104),  # its customer is rejected: it waits
    _contact("K5", "G2", 3000105, EMAIL="not-an-address@"),  # bad e-mail: dropped
    _contact("K6", "G2", 3000106, LASTNAME=""),
    _contact("K7", "G3", 3000107, LASTNAME="Παπαδόπουλος 👋", FIRSTNAME=["a"], PHONE={"x": 1}),
    _contact("K8", "G4", 3000108, LASTNAME="L" * 300),
]

# A bad optional value never keeps a record out (issue 11): B2-B6 and K6, K8 sync.
GOOD_ACCOUNTS = {"G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "A1"} | {
    "B2",
    "B3",
    "B4",
    "B5",
    "B6",
}
GOOD_CONTACTS = {"K1", "K5", "K6", "K7", "K8"}
EXPECTED_LEDGER = {
    ("customers", "?rev=3000010", "rejected", "missing_trader_id"),
    ("customers", "?rev=3000011", "rejected", "missing_trader_id"),
    ("customers", "B1", "rejected", "missing_name"),
    ("customers", "B7", "rejected", "invalid_revision"),
    ("affiliates", "A8", "rejected", "missing_name"),
    ("contacts", "?rev=3000102", "rejected", "missing_contact_id"),
    ("contacts", "K3", "rejected", "missing_parent_key"),
    ("contacts", "K4", "waiting_parent", "parent_not_in_zoho"),
}


def test_rows_of_every_bad_kind_are_ledgered_and_the_good_ones_synced(tmp_path: Path) -> None:
    with fault_env(tmp_path, customers=10, seed=3) as env:
        env.galaxy.put_rows("zh_Customers_fin", CUSTOMER_ROWS)
        env.galaxy.put_rows("ZH_AFFILIATE", AFFILIATE_ROWS)
        env.galaxy.put_rows("ZH_CONTACTS", CONTACT_ROWS)

        report = sync(env)
        assert report.status == "incomplete", report.message
        assert report.customers.fetched == len(CUSTOMER_ROWS)
        assert ledger_keys(env) == EXPECTED_LEDGER
        assert ledger_keys(env) == expected_ledger(env)  # the oracle the storms use agrees
        accounts = accounts_by_key(env)
        assert set(accounts) == GOOD_ACCOUNTS
        assert {c["Galaxy_Contact_ID"] for c in env.zoho.records("Contacts")} == GOOD_CONTACTS
        assert accounts["G2"]["Account_Name"] == _EMOJI_NAME
        assert accounts["G2"]["Billing_Street"] == "Ερμού 12 🏠"
        assert accounts["G3"]["Billing_Street"] == "s" * 255  # too long for Zoho: cut
        assert accounts["G3"]["SALESNAME"] == "x" * 255
        assert accounts["G4"].get("Phone") is None
        assert accounts["G6"]["Account_Name"] == "Fallback A.E."
        assert accounts["G1"]["Affiliate_To"]["id"] == accounts["A1"]["id"]
        assert accounts["G8"].get("Affiliate_To") is None  # its affiliate was rejected
        assert report.customers.warnings >= 3  # the dropped street, phone and name values
        assert accounts["B2"]["Account_Name"] == "N" * 255
        for key in ("B3", "B6"):
            assert accounts[key].get("Credit_Limit") is None  # left out: Zoho had none
        by_reason = report.customers.warnings_by_reason
        assert by_reason["name_truncated"] == 1
        assert by_reason["value_truncated"] == 3  # G3's street (billing, shipping), SALESNAME
        assert by_reason["invalid_number"] == 4  # B3, B4, B5, B6
        contacts = {c["Galaxy_Contact_ID"]: c for c in env.zoho.records("Contacts")}
        assert contacts["K6"]["Last_Name"] == "Maria"
        assert contacts["K8"]["Last_Name"] == "L" * 80  # Zoho's Contacts length
        assert_parity(env)

        again = sync(env)  # nothing changed: the rejected rows are not resent
        assert again.status == "incomplete", again.message
        assert again.customers.fetched == 0
        assert ledger_keys(env) == EXPECTED_LEDGER
        assert_parity(env)
