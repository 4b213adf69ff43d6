"""What the mapping changed or dropped on the way: one :class:`FieldWarning` per value.

A warning never keeps a record out of Zoho; it tells an ERP admin which value to fix at the
source. Reasons (short codes, counted in the report as ``warnings_by_reason``):

- ``invalid_number`` — a number field holding text that is no number (``N/A``): left out of
  the payload, so Zoho keeps what it has;
- ``invalid_phone``, ``invalid_email``, ``invalid_tin``, ``invalid_text`` — the same for the
  other optional fields; ``value_too_long`` — a TIN, phone or e-mail longer than the Zoho
  field holds (never cut: a cut one would be wrong);
- ``name_truncated`` — a name over its Zoho length cut on a word boundary;
- ``value_truncated`` — any other optional text (street, Industry, Title ...) over its Zoho
  length, cut the same way (see :mod:`gzsync.mapping.tables`);
- ``last_name_fallback`` — a contact without a last name got its first name or its e-mail's
  local part as ``Last_Name``;
- ``invalid_parent_key`` — an affiliate's unusable ``AFFILIATES_CUST_TRDRID``, ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["VALUE_SHOWN_MAX", "FieldWarning", "shown", "truncate_words"]

#: Longest value a warning keeps (the rest is cut with "…").
VALUE_SHOWN_MAX = 120


@dataclass(frozen=True, slots=True)
class FieldWarning:
    """One value the mapping dropped or changed: the Zoho field, why, and the value."""

    field: str  # the Zoho field (or the Galaxy column, for a parent key)
    reason: str  # short code, see the module docstring
    value: str  # the Galaxy value as text, cut to VALUE_SHOWN_MAX characters
    detail: str  # one sentence naming the Galaxy column

    def __str__(self) -> str:
        return self.detail

    def to_list(self) -> list[str]:
        """Compact form for the spool (JSON)."""
        return [self.field, self.reason, self.value, self.detail]

    @classmethod
    def from_list(cls, data: Any) -> FieldWarning:
        if isinstance(data, str):  # a plain sentence
            return cls("", "warning", "", data)
        field, reason, value, detail = data
        return cls(str(field), str(reason), str(value), str(detail))


def shown(value: Any) -> str:
    """A Galaxy value as warning text: strings as they are, anything else as its repr."""
    text = value if isinstance(value, str) else repr(value)
    text = text.strip()
    if len(text) > VALUE_SHOWN_MAX:
        text = text[: VALUE_SHOWN_MAX - 1] + "…"
    return text


_LAST_SPACE = re.compile(r"\s(?=\S*\Z)")


def truncate_words(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at the last whitespace when there is one."""
    if len(text) <= limit:
        return text
    if text[limit].isspace():
        return text[:limit].rstrip()
    cut = text[:limit]
    space = _LAST_SPACE.search(cut)
    if space is not None and cut[: space.start()].strip():
        cut = cut[: space.start()]
    return cut.rstrip()
