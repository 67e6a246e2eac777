"""Open the ledger's store a location names."""

from __future__ import annotations

from pathlib import Path

from rewardgym.errors import ConfigError
from rewardgym.ledger.records import Records, Retention

__all__ = ["open_records"]


def open_records(url: str | Path, retention: Retention | None = None) -> Records:
    """The store at ``url``: Redis (``redis://``, ``rediss://``, ``unix://``), PostgreSQL
    (``postgresql://``, ``postgres://``) or a SQLite file."""
    retention = retention or Retention()
    text = str(url)
    if text.startswith(("redis://", "rediss://", "unix://")):
        try:
            from rewardgym.ledger.redis_records import RedisRecords
        except ImportError as exc:
            raise ConfigError(
                f"a Redis ledger needs the redis package: pip install 'rewardgym[redis]' ({exc})"
            ) from exc
        return RedisRecords(text, retention)
    if text.startswith(("postgresql://", "postgres://")):
        try:
            from rewardgym.ledger.postgres_records import PostgresRecords
        except ImportError as exc:
            raise ConfigError(
                f"a PostgreSQL ledger needs psycopg: pip install 'rewardgym[postgres]' ({exc})"
            ) from exc
        return PostgresRecords(text, retention)
    from rewardgym.ledger.sqlite_records import SqliteRecords

    return SqliteRecords(text, retention)
