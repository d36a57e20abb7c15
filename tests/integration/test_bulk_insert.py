"""The SQLite bulk insert stores each instant as its own UTC time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import create_async_engine

from service.planrows import sqlite_instant
from service.store.models import UTCDateTime
from service.store.statements import bulk_insert_ignore

BERLIN = ZoneInfo("Europe/Berlin")


async def test_the_two_readings_of_a_fall_back_hour_are_stored_apart(tmp_path: Path) -> None:
    table = Table(
        "t", MetaData(), Column("key", String, primary_key=True), Column("at", UTCDateTime)
    )
    # 02:30 is read twice in Berlin on 2027-10-31: at 00:30 and at 01:30 UTC.
    first = datetime(2027, 10, 31, 2, 30, tzinfo=BERLIN)
    second = first.replace(fold=1)
    assert first == second  # one zone: compared by the wall-clock reading
    rows = [{"key": "a", "at": first}, {"key": "b", "at": second}, {"key": "c", "at": None}]
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            await bulk_insert_ignore(conn, "sqlite", table, rows)
            stored = dict((await conn.execute(select(table.c.key, table.c.at))).all())
    finally:
        await engine.dispose()
    assert stored["a"] != stored["b"]
    assert [stored["a"].isoformat(), stored["b"].isoformat()] == [
        "2027-10-31T00:30:00+00:00",
        "2027-10-31T01:30:00+00:00",
    ]
    assert stored["c"] is None
    assert sqlite_instant(second) == "2027-10-31 01:30:00.000000"
