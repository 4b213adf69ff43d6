"""The configurable part of the mapping rules, and their version.

Two settings change what the mapping accepts:

- ``NUMBER_DECIMAL`` (``comma`` default, or ``dot``): how the one ambiguous number shape,
  ``1,234``, is read (see :func:`gzsync.mapping.normalize.parse_number`);
- ``CONTACT_NAME_FALLBACK`` (default ``first_name,email``): where a contact without a last
  name gets one, in order: ``first_name`` (the first name moves to ``Last_Name``) and
  ``email`` (the e-mail's local part); ``none`` restores the old rejection
  (``missing_last_name``).

:data:`RULES_VERSION` counts changes of the rules in code that accept records an earlier
version rejected. :attr:`MappingRules.fingerprint` (the version plus both settings) is kept
in the state store; when it differs, every ``rejected`` ledger entry is retried once
(:mod:`gzsync.sync.rules_upgrade`), so an upgrade or a settings change loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from gzsync.mapping.normalize import DecimalMark

__all__ = ["DEFAULT_RULES", "RULES_VERSION", "MappingRules", "NameSource", "parse_fallback"]

#: 1: numbers and too-long names rejected, contacts without a last name rejected.
#: 2: issue 11 — bad optional numbers dropped with a warning, names truncated, last-name
#:    fallback, more number formats.
#: 3: over-long optional texts cut (value_truncated), Title 100 and Industry 120 as Zoho holds.
RULES_VERSION = 3

NameSource = Literal["first_name", "email"]
_NAME_SOURCES: tuple[NameSource, ...] = ("first_name", "email")


def parse_fallback(text: str) -> tuple[NameSource, ...]:
    """``"first_name,email"`` → ``("first_name", "email")``; ``"none"`` → ``()``.

    Raises ValueError naming the unknown part.
    """
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    if parts == ["none"]:
        return ()
    unknown = [p for p in parts if p not in _NAME_SOURCES]
    if unknown or not parts:
        raise ValueError(f"unknown name source {', '.join(unknown) or repr(text)}")
    return tuple(dict.fromkeys(cast(list[NameSource], parts)))


@dataclass(frozen=True, slots=True)
class MappingRules:
    """The settings the mapping depends on (hashable: plans are cached per rules)."""

    number_decimal: DecimalMark = "comma"
    contact_name_fallback: tuple[NameSource, ...] = _NAME_SOURCES

    @classmethod
    def from_text(cls, number_decimal: str, contact_name_fallback: str) -> MappingRules:
        """Rules from the two settings' texts (the config validates them first)."""
        decimal: DecimalMark = "dot" if number_decimal.strip().lower() == "dot" else "comma"
        return cls(decimal, parse_fallback(contact_name_fallback))

    @property
    def fingerprint(self) -> str:
        """What the state store remembers: a change re-evaluates rejected records."""
        fallback = ",".join(self.contact_name_fallback) or "none"
        return f"v{RULES_VERSION};decimal={self.number_decimal};name_fallback={fallback}"


DEFAULT_RULES = MappingRules()
