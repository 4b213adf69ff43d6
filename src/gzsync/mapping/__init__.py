"""Galaxy rows into Zoho records: pure functions over plain data (no I/O).

`map_customer`, `map_affiliate` and `map_contact` return a `Mapped` record ready to upsert
or a `Rejected` one with its reason; the mappings themselves are data in `tables.py`.
"""

from gzsync.mapping.records import Mapped, Rejected, map_affiliate, map_contact, map_customer

__all__ = ["Mapped", "Rejected", "map_affiliate", "map_contact", "map_customer"]
