"""The hash kept per quote: "is this offer what Zoho last confirmed?" (issue 14, on issue
15's unchanged-skip, :mod:`gzsync.mapping.payload_hash`).

A quote's payload holds Zoho ids (its Account, each row's Product) that cost calls to learn.
So the quote's hash is taken over what those ids stand for, which the run knows as soon as
the offer's lines are read and mapped:

- the mapped header (`Rev_Number` aside, as for every stream);
- the Account's key: the offer's `TRDRID`, or `tin:<digits>` when it has none;
- every mapped line, **in order**: the quote row's fields (quantity, price, discount,
  description, taxes) and its Product's payload (code, name, unit price).

A header change, a line added, removed, reordered or changed, another customer or a product
renamed each change the hash; a revision bump alone does not. The stream can then tell an
unchanged offer before it resolves products and Accounts: it costs no Zoho call at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from gzsync.mapping.payload_hash import payload_hash
from gzsync.mapping.quotes import MappedLine, MappedQuote

__all__ = ["quote_hash"]


def quote_hash(quote: MappedQuote, parent: str, lines: Sequence[MappedLine]) -> str:
    """The hash of `quote` on the Account keyed `parent` with `lines` (Galaxy's order)."""
    return payload_hash(
        {
            **quote.payload,
            "Account_Name": {"key": parent},
            "Quoted_Items": [{**line.item, "Product_Name": line.product} for line in lines],
        }
    )
