"""`gzsync check` for phase 2 (issue 14): the Quotes and Products fields the quotes stream
writes, whether its two upsert keys can be upsert keys, and `ZOHO_TAX_NAMES` against the
org's taxes (`GET /crm/v8/org/taxes`).

- `ERP_ID_Offer` (Quotes) and `Product_Code` (Products) are upsert keys: Zoho takes a field
  in `duplicate_check_fields` only when it is marked unique ("Do not allow duplicate
  values") or is an External ID field. The check says which of the two each one is (its
  detail line), and a problem when it is neither or is missing.
- The Quote fields the mapping fills must exist (`Subject`, `Quoted_Items`, the lookup
  `Account_Name`, `Rev_Number` and the header fields of SPEC §7).
- Every `ZOHO_TAX_NAMES` entry must name an org tax of the same rate
  (:func:`gzsync.zoho.inventory.tax_problems`).

Read-only: three metadata reads and one taxes read.
"""

from __future__ import annotations

from typing import Any

from gzsync.config import Settings
from gzsync.errors import ZohoError
from gzsync.http import RetryPolicy
from gzsync.mapping.quote_tables import OFFER_FIELDS
from gzsync.zoho.client import ZohoClient
from gzsync.zoho.inventory import tax_problems, upsert_key_kind

__all__ = ["QUOTE_FIELDS", "check_quotes", "probe_quotes"]

#: Quote fields the quotes stream writes.
QUOTE_FIELDS: tuple[str, ...] = (
    "Subject",
    "Quoted_Items",
    "Account_Name",
    "ERP_ID_Offer",
    "ERP_Offer_Number",
    "Rev_Number",
    *OFFER_FIELDS,
)
_SETUP = "In Zoho CRM, Setup > Modules and Fields > {module}"
_KEY_WORDS = {"unique": "marked unique", "external": "an External ID field"}

Check = tuple[str, bool, str]


async def probe_quotes(
    settings: Settings, store: Any, retry: RetryPolicy
) -> tuple[list[Check], list[Any]]:
    """:func:`check_quotes` with a client of its own (the token is cached in `store`)."""
    from gzsync.clients import token_source, zoho_client

    tokens = token_source(settings, store, retry=retry)
    client = zoho_client(settings, tokens, retry=retry)
    try:
        return await check_quotes(settings, client)
    finally:
        await client.aclose()
        await tokens.aclose()


async def check_quotes(settings: Settings, client: ZohoClient) -> tuple[list[Check], list[Any]]:
    """(checks, problems) of the Quotes/Products fields and the org's taxes."""
    from gzsync.ops.check import Problem

    problems: list[Problem] = []
    checks: list[Check] = []
    try:
        quotes = await client.fields("Quotes")
        products = await client.fields("Products")
        taxes = await client.org_taxes()
    except ZohoError as exc:
        problem = Problem(
            "Quotes",
            f"the Quotes/Products metadata or the org's taxes could not be read: {exc}",
            "Check that the refresh token has the scopes ZohoCRM.modules.ALL, "
            "ZohoCRM.settings.fields.READ and ZohoCRM.org.READ.",
        )
        return [("Zoho Quotes and Products", False, problem.problem)], [problem]
    names = {str(f.get("api_name")) for f in quotes}
    for name in QUOTE_FIELDS:
        if name not in names:
            problems.append(
                Problem(
                    f"Quotes.{name}",
                    "does not exist in Zoho, so the quotes stream cannot write it",
                    f"{_SETUP.format(module='Quotes')}: add the field {name}.",
                )
            )
    details = []
    for module, fields, key in (
        ("Quotes", quotes, "ERP_ID_Offer"),
        ("Products", products, "Product_Code"),
    ):
        kind = upsert_key_kind(fields, key)
        if kind in _KEY_WORDS:
            details.append(f"{module}.{key} is {_KEY_WORDS[kind]}")
            continue
        what = "does not exist" if kind == "missing" else "is neither unique nor an External ID"
        problems.append(
            Problem(
                f"{module}.{key}",
                f"{what}: Zoho refuses it as the upsert key of {module}",
                f"{_SETUP.format(module=module)}: mark {key} "
                "'Do not allow duplicate values' (or make it an External ID field).",
            )
        )
    for sentence in tax_problems(settings.zoho_tax_names, taxes):
        problems.append(
            Problem(
                "ZOHO_TAX_NAMES",
                sentence,
                "Set ZOHO_TAX_NAMES to the org's tax names (Setup > Taxes) per VAT rate.",
            )
        )
    tax_detail = f"{len(settings.zoho_tax_names)} VAT rates map to org taxes"
    detail = "; ".join([*details, tax_detail]) if not problems else f"{len(problems)} problem(s)"
    checks.append(("Zoho Quotes, Products and taxes", not problems, detail))
    return checks, problems
