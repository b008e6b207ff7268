"""Idempotent bulk writes of column batches: SQLite ``executemany`` upserts, PostgreSQL binary COPY.

A batch is a mapping of column name -> NumPy array (one value per row) or ``str`` (the same text on
every row, such as the symbol). SQLite gets one ``INSERT .. ON CONFLICT`` statement run over all rows
in C; PostgreSQL gets the rows as a binary COPY payload built by NumPy (big-endian record array, no
per-row Python), copied straight into the table when no key clashes (the common case: new ticks
after old ones), else into a temporary staging table, then ``INSERT .. SELECT .. ON CONFLICT``.
Either way a row whose key exists is skipped (``update=False``) or overwritten only when it differs
(``update=True``), so replaying a batch changes nothing and counts nothing.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
import sqlalchemy as sa
from numpy.typing import NDArray

__all__ = ["STORE_ERRORS", "ColumnBatch", "driver_connection", "upsert_batch"]

ColumnBatch = Mapping[str, "NDArray[Any] | str"]

# What a failing database raises: SQLAlchemy's wrapper, or the drivers' own errors from the fast
# paths that use the DB-API connection directly.
STORE_ERRORS: tuple[type[Exception], ...] = (sa.exc.DBAPIError, sqlite3.Error, psycopg.Error)

_PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PGCOPY_TRAILER = b"\xff\xff"


def driver_connection(connection: sa.Connection) -> Any:
    """The DB-API connection (sqlite3 / psycopg) under a SQLAlchemy connection, for the fast paths."""
    raw = connection.connection.driver_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    return raw


def upsert_batch(
    connection: sa.Connection,
    table: sa.Table,
    batch: ColumnBatch,
    *,
    update: bool = False,
) -> int:
    """Write ``batch`` into ``table``; rows whose primary key exists are skipped or, with ``update``,
    overwritten when different. Returns the number of rows inserted or changed."""
    rows = _batch_length(batch)
    if rows == 0:
        return 0
    if connection.dialect.name == "postgresql":
        return _pg_copy_upsert(connection, table, batch, rows, update=update)
    return _sqlite_upsert(connection, table, batch, rows, update=update)


def _batch_length(batch: ColumnBatch) -> int:
    lengths = {len(value) for value in batch.values() if not isinstance(value, str)}
    if len(lengths) != 1:
        raise ValueError(f"a batch needs at least one array column and equal lengths, got {lengths}")
    return lengths.pop()


def _conflict_clause(table: sa.Table, columns: Sequence[str], *, update: bool) -> str:
    key = [column.name for column in table.primary_key.columns]
    target = ", ".join(f'"{name}"' for name in key)
    if not update:
        return f"ON CONFLICT ({target}) DO NOTHING"
    changing = [name for name in columns if name not in key]
    assignments = ", ".join(f'"{name}" = excluded."{name}"' for name in changing)
    differs = " OR ".join(f'{table.name}."{name}" IS DISTINCT FROM excluded."{name}"' for name in changing)
    return f"ON CONFLICT ({target}) DO UPDATE SET {assignments} WHERE {differs}"


def _column_list(columns: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in columns)


def _sqlite_upsert(
    connection: sa.Connection, table: sa.Table, batch: ColumnBatch, rows: int, *, update: bool
) -> int:
    names = list(batch)
    # SQLite spells IS DISTINCT FROM as IS NOT
    conflict = _conflict_clause(table, names, update=update).replace("IS DISTINCT FROM", "IS NOT")
    sql = (
        f"INSERT INTO {table.name} ({_column_list(names)}) VALUES ({', '.join('?' * len(names))}) {conflict}"
    )
    values = (
        itertools.repeat(value, rows) if isinstance(value, str) else value.tolist()
        for value in batch.values()
    )
    raw = driver_connection(connection)
    before = raw.total_changes
    raw.executemany(sql, zip(*values, strict=False))
    return int(raw.total_changes - before)


# Binary COPY formats of the column types the store uses.
_PG_BINARY_FORMATS: dict[type[sa.types.TypeEngine[Any]], str] = {
    sa.BigInteger: ">i8",
    sa.Integer: ">i4",
    sa.Double: ">f8",
}


def _pg_binary_payload(table: sa.Table, batch: ColumnBatch, rows: int) -> bytes:
    fields: list[tuple[str, str]] = [("field_count", ">i2")]
    for index, (name, value) in enumerate(batch.items()):
        if isinstance(value, str):
            fmt = f"S{len(value.encode())}"
        else:
            fmt = _PG_BINARY_FORMATS[type(table.c[name].type)]
        fields += [(f"length_{index}", ">i4"), (f"value_{index}", fmt)]
    record = np.empty(rows, dtype=np.dtype(fields))
    record["field_count"] = len(batch)
    for index, value in enumerate(batch.values()):
        encoded = value.encode() if isinstance(value, str) else value
        record[f"length_{index}"] = record.dtype[f"value_{index}"].itemsize
        record[f"value_{index}"] = encoded
    return _PGCOPY_HEADER + record.tobytes() + _PGCOPY_TRAILER


def _pg_copy_upsert(
    connection: sa.Connection, table: sa.Table, batch: ColumnBatch, rows: int, *, update: bool
) -> int:
    names = list(batch)
    columns = _column_list(names)
    stage = f"stage_{table.name}"
    payload = _pg_binary_payload(table, batch, rows)
    raw = driver_connection(connection)
    with raw.cursor() as cursor:
        # Appending new rows is the usual case and a direct COPY is several times faster than going
        # through a staging table; a key clash rolls the attempt back and takes the conflict-aware path.
        cursor.execute("SAVEPOINT bulk_copy")
        try:
            with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(payload)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT bulk_copy")
        else:
            return rows  # the savepoint goes with the commit: no round trip to release it
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table.name} INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {stage} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(payload)
        cursor.execute(
            f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {stage} "
            + _conflict_clause(table, names, update=update)
        )
        written = cursor.rowcount
        # a second batch in the same transaction must not see this one's rows
        cursor.execute(f"TRUNCATE {stage}")
    return int(written)
