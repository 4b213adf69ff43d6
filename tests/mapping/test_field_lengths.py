"""Every mapped text field fits the length Zoho (the sandbox, after zoho-crm-api.md) holds.

The audit of issue "a record stays out of Zoho only when Zoho cannot hold it": a mapping
that allows more than the CRM field takes makes Zoho refuse the whole record.
"""

from __future__ import annotations

import pytest

from gzsync.mapping.records import Mapped, map_contact
from gzsync.mapping.tables import AFFILIATE, CONTACT, CUSTOMER, FieldRule, Table
from gzsync.mapping.validate import validate_payload
from gzsync.sandbox.zoho_records import FIELDS

_LENGTHED = ("text", "id", "digits", "phone", "email")


def _text_rules() -> list[tuple[Table, FieldRule]]:
    return [
        (table, rule)
        for table in (CUSTOMER, AFFILIATE, CONTACT)
        for rule in table.rules
        if rule.kind in _LENGTHED
    ]


@pytest.mark.parametrize(
    ("table", "rule"),
    _text_rules(),
    ids=[f"{t.entity}.{r.zoho_field}" for t, r in _text_rules()],
)
def test_the_mapping_never_allows_more_than_the_crm_field_holds(
    table: Table, rule: FieldRule
) -> None:
    spec = {f.api_name: f for f in FIELDS[table.module]}[rule.zoho_field]
    assert rule.max_length is not None
    assert rule.max_length <= spec.length, (
        f"{table.module}.{rule.zoho_field}: mapping allows {rule.max_length}, "
        f"Zoho holds {spec.length}"
    )
    # optional texts are cut, not dropped or refused; identifiers, phones, e-mails never cut
    assert rule.truncate == (rule.kind == "text" and rule is not table.key)


def test_a_long_title_is_cut_to_what_zoho_holds_on_a_word_boundary() -> None:
    title = "Senior Regional Director of Procurement, " * 5  # 205 characters
    row = {
        "CONTACTID": "K1",
        "CONTACTS_REVNUM": 7,
        "LASTNAME": "Papadopoulos",
        "TRDRID": "C1",
        "JOBTITLE": title,
    }
    result = map_contact(row)
    assert isinstance(result, Mapped)
    cut = result.payload["Title"]
    assert len(cut) <= 100
    assert title.startswith(cut)
    assert title[len(cut)] == " "
    assert [(w.field, w.reason) for w in result.warnings] == [("Title", "value_truncated")]
    assert validate_payload(CONTACT, result.payload) == []
