"""Reads that may come from a PostgreSQL replica (README: "Past one server").

With DATABASE_REPLICA_URL set, settings.READ_REPLICA names a second database alias, a streaming replica of the
primary. Code that only reads, and can live with the replica's lag of a moment (the dashboards, the drill-downs, the
figures of a report run), says so at the call site with ``with replica_reads():``; everything else, every write
included, stays on the primary. No guessing from the query: a read that must see its own write (a report run's own
row, a page right after a save) is simply never wrapped. Without the setting the block changes nothing: one alias.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Within the block, reads (the ORM's, and read_connection()'s raw SQL) go to the replica when there is one."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def read_alias() -> str:
    """The alias a read at this point goes to: the replica inside replica_reads() when one is configured."""
    if _replica_reads.get() and settings.READ_REPLICA:
        return str(settings.READ_REPLICA)
    return DEFAULT_DB_ALIAS


def read_connection() -> BaseDatabaseWrapper:
    """The connection for raw SQL that only reads (see read_alias())."""
    return connections[read_alias()]


@contextmanager
def read_snapshot() -> Iterator[None]:
    """One consistent view for a long read made of many queries (an export's files agree with each other): a
    read-only REPEATABLE READ transaction on read_alias(), unless inside a transaction already (a shell's or a
    test's), whose view it then is."""
    connection = read_connection()
    outer = connection.in_atomic_block
    with transaction.atomic(using=read_alias()):
        if not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


class PrimaryReplicaRouter:
    """settings.DATABASE_ROUTERS: writes and migrations on the primary only; reads on the replica only inside
    replica_reads(), elsewhere Django's own choice (the primary, or the database an instance was read from)."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return read_alias() if _replica_reads.get() else None

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same rows on both: a replica is a copy of the primary

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
