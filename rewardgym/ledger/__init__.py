"""The reward ledger: every result under a content address (item + reward implementation),
in SQLite, Redis or PostgreSQL, with retention; the judgment cache is its ``judgments`` table."""

from rewardgym.ledger.address import address, implementation_digest, item_content
from rewardgym.ledger.ledger import Ledger
from rewardgym.ledger.records import Records, Retention, Row
from rewardgym.ledger.stores import open_records

__all__ = [
    "Ledger",
    "Records",
    "Retention",
    "Row",
    "address",
    "implementation_digest",
    "item_content",
    "open_records",
]
