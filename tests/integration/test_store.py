"""The store on SQLite and PostgreSQL: schema, opening, types, reads, acks, meta."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect
from sqlalchemy.exc import StatementError

from service.errors import StoreError
from service.store import Revision, SentInfo, Store
from service.store.db import (
    alembic_config,
    async_url,
    create_engine_for,
    mask_url,
    migrate,
    schema_is_current,
)
from service.store.models import metadata, reminders
from tests.fixtures.db import _admin, _clone, person_toml, plan_of

NOW = datetime(2027, 1, 10, 0, 0, tzinfo=UTC)
VISA = ("2027-03-16", ["P30D", "P7D", "P1D", "PT0S"], ["P1D"])


def _diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


async def test_migration_produces_the_models_schema(blank_db_url: str) -> None:
    store = await Store.open(blank_db_url, migrate=False)
    try:
        assert not await store.schema_is_current()
        # Every migration from the first (a new database gets the schema in one step).
        async with store.engine.connect() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
            await conn.commit()
        await migrate(store.engine)  # a second upgrade is a no-op
        assert await store.schema_is_current()
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert tables >= {
            "reminders",
            "acknowledgements",
            "deliveries",
            "person_plans",
            "feed_sequences",
            "meta",
            "alembic_version",
        }
    finally:
        await store.close()


def _schema(conn: Connection) -> list[tuple[object, ...]]:
    """Everything a schema is made of, as the database itself describes it."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).all()
        # SQLite keeps a table's CREATE text as written: a batch migration's copy says
        # CREATE TABLE "name", create_all says CREATE TABLE name.
        return [
            (kind, name, table, " ".join((sql or "").replace(f'"{name}"', name).split()))
            for kind, name, table, sql in rows
        ]
    columns = conn.exec_driver_sql(
        "SELECT table_name, ordinal_position, column_name, data_type, "
        "character_maximum_length, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "ORDER BY table_name, ordinal_position"
    ).all()
    indexes = conn.exec_driver_sql(
        "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = current_schema() ORDER BY indexname"
    ).all()
    constraints = conn.exec_driver_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = current_schema()::regnamespace ORDER BY conname"
    ).all()
    return [tuple(r) for r in (*columns, *indexes, *constraints)]


async def test_a_new_database_gets_the_schema_the_migrations_build(
    blank_db_url: str, tmp_path: Path
) -> None:
    migrated = await Store.open(blank_db_url, migrate=False)
    if migrated.dialect == "postgresql":
        other = await _clone(None)
        fresh_url = f"{blank_db_url.rsplit('/', 1)[0]}/{other}"
    else:
        fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    try:
        async with migrated.engine.connect() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "head"))
            await conn.commit()
            by_migrations = await conn.run_sync(_schema)
        fresh = await Store.open(fresh_url)
        try:
            async with fresh.engine.connect() as conn:
                in_one_step = await conn.run_sync(_schema)
            assert await fresh.schema_is_current()
        finally:
            await fresh.close()
    finally:
        await migrated.close()
        if migrated.dialect == "postgresql":
            await _admin(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')
    assert in_one_step == by_migrations
    assert len(by_migrations) > 20


async def test_a_database_of_a_newer_staywatch_says_to_upgrade(blank_db_url: str) -> None:
    from sqlalchemy import text

    store = await Store.open(blank_db_url)
    try:
        async with store.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        await store.close()
    with pytest.raises(StoreError, match=r"written by a newer staywatch, so upgrade staywatch"):
        await Store.open(blank_db_url)


async def test_open_migrates_by_default(blank_db_url: str) -> None:
    store = await Store.open(blank_db_url)
    try:
        assert await schema_is_current(store.engine)
        assert await store.ping()
        assert store.dialect in {"sqlite", "postgresql"}
    finally:
        await store.close()


def test_plain_urls_get_async_drivers() -> None:
    assert async_url("sqlite:////var/x.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+psycopg://u@h/db").drivername == "postgresql+asyncpg"
    with pytest.raises(StoreError, match="uses mysql, which staywatch does not support"):
        async_url("mysql://u:pw@h/db")
    with pytest.raises(StoreError, match="is not valid"):
        async_url("not a url")


def test_passwords_are_masked() -> None:
    assert mask_url("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    with pytest.raises(StoreError) as caught:
        async_url("mysql://u:s3cret@h/db")
    assert "s3cret" not in str(caught.value)


async def test_sqlite_pragmas_and_parent_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.db"
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        async with engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
            keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
    finally:
        await engine.dispose()
    assert (mode, busy, keys) == ("wal", 5000, 1)
    assert path.exists()


async def test_unopenable_sqlite_says_what_to_check(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker / 'state.db'}"
    with pytest.raises(StoreError) as caught:
        await Store.open(url)
    message = str(caught.value)
    assert message.startswith(f"cannot open database sqlite:///{blocker / 'state.db'}: ")
    assert "it is a file, not a folder" in message
    assert message.endswith("check the path and permissions")


async def test_sqlite_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"cannot open database .*check the path and permissions"):
        await Store.open(f"sqlite:///{tmp_path}")


async def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n" * 100)
    with pytest.raises(StoreError) as caught:
        await Store.open(f"sqlite:///{path}")
    assert str(caught.value) == (
        f"cannot open database sqlite:///{path}: file is not a database; "
        "check the path and permissions"
    )


async def test_unreachable_postgresql_is_a_clear_error() -> None:
    # Port 9 (discard) is closed on a test machine: the connection is refused at once.
    with pytest.raises(StoreError) as caught:
        await Store.open("postgresql://staywatch:s3cret@127.0.0.1:9/staywatch")
    message = str(caught.value)
    assert message.startswith("cannot connect to PostgreSQL at 127.0.0.1:9: ")
    assert message.endswith("; is it running?")
    assert "s3cret" not in message


@pytest.mark.postgres
async def test_missing_postgresql_database_is_named(pg_url: str) -> None:
    with pytest.raises(StoreError) as caught:
        await Store.open(f"{pg_url}/staywatch_no_such_db")
    assert "does not exist" in str(caught.value)
    assert "createdb staywatch_no_such_db" in str(caught.value)


async def test_naive_datetimes_are_rejected(store: Store) -> None:
    naive = datetime(2027, 1, 10, 9, 0)
    occurrences = plan_of(person_toml("ana", {"visa": VISA}), date(2027, 1, 1), date(2027, 12, 31))
    with pytest.raises(ValueError, match="naive datetime"):
        await store.reconcile(occurrences, people=["ana"], window_start=date(2027, 1, 1), now=naive)
    with pytest.raises(ValueError, match="naive datetime"):
        await store.reminders(start=naive)
    with pytest.raises(ValueError, match="naive datetime"):
        await store.claim_due(naive, "me")
    row = {
        "key": "ana/x/2027-01-01/P1D",
        "person": "ana",
        "deadline": "x",
        "kind": "custom",
        "occurrence": "ana/x/2027-01-01",
        "occurrence_date": date(2027, 1, 1),
        "offset": "P1D",
        "due": naive,
        "ends": NOW,
        "overdue": False,
        "closed_notice": False,
        "status": "pending",
        "attempts": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    with pytest.raises(StatementError, match="naive datetime"):
        async with store.engine.begin() as conn:
            await conn.execute(insert(reminders), row)
    assert await store.counts() == dict.fromkeys(
        ("pending", "sent", "failed", "acknowledged", "skipped"), 0
    )


async def test_instants_come_back_aware_utc(store: Store) -> None:
    seoul = timezone(timedelta(hours=9))
    occurrences = plan_of(person_toml("ana", {"visa": VISA}), date(2027, 1, 1), date(2027, 12, 31))
    await store.reconcile(occurrences, people=["ana"], window_start=date(2027, 1, 1), now=NOW)
    rows = await store.reminders(person="ana")
    planned = {r.key: r.due for o in occurrences for r in o.reminders}
    assert {r.key: r.due for r in rows} == planned
    assert all(r.due.tzinfo is UTC and r.created_at == NOW for r in rows)
    first = rows[0]
    assert first.due == datetime(2027, 2, 14, 9, 0, tzinfo=seoul)
    assert str(first.due) == "2027-02-14 00:00:00+00:00"
    # Bounds are half-open and may be given in any zone.
    start = datetime(2027, 3, 9, 9, 0, tzinfo=seoul)
    end = datetime(2027, 3, 16, 9, 0, tzinfo=seoul)
    window = await store.reminders(start=start, end=end, person="ana")
    assert [r.offset for r in window] == ["P7D", "P1D"]
    assert await store.reminders(person="nobody") == []


async def test_counts_statuses_and_next_due(store: Store) -> None:
    assert await store.next_due_at() is None
    occurrences = plan_of(person_toml("ana", {"visa": VISA}), date(2027, 1, 1), date(2027, 12, 31))
    await store.reconcile(occurrences, people=["ana"], window_start=date(2027, 1, 1), now=NOW)
    keys = [r.key for r in occurrences[0].reminders]
    counts = await store.counts()
    assert counts == {"pending": 5, "sent": 0, "failed": 0, "acknowledged": 0, "skipped": 0}
    assert await store.statuses([*keys, "ana/none/2027-01-01/P1D"]) == dict.fromkeys(
        keys, "pending"
    )
    assert await store.next_due_at() == datetime(2027, 2, 14, 0, 0, tzinfo=UTC)

    due = datetime(2027, 2, 14, 0, 0, tzinfo=UTC)
    [claim] = await store.claim_due(due, "me")
    # While leased, the row waits for its lease to end (on PostgreSQL the lease runs on
    # the database clock, which is earlier than this test's 2027 instants).
    lease_end = await _lease_end(store, claim.key)
    assert await store.next_due_at() == min(datetime(2027, 3, 9, tzinfo=UTC), max(due, lease_end))
    await store.mark_sent([(claim, SentInfo(at=due, transport="maildir", message_id="<m@x>"))])
    assert (await store.counts())["sent"] == 1
    assert await store.next_due_at() == datetime(2027, 3, 9, 0, 0, tzinfo=UTC)


async def _lease_end(store: Store, key: str) -> datetime:
    [row] = [r for r in await store.reminders() if r.key == key]
    assert row.claimed_until is not None
    return row.claimed_until


async def test_acknowledge_stops_pending_reminders(store: Store) -> None:
    occurrences = plan_of(person_toml("ana", {"visa": VISA}), date(2027, 1, 1), date(2027, 12, 31))
    await store.reconcile(occurrences, people=["ana"], window_start=date(2027, 1, 1), now=NOW)
    due = datetime(2027, 2, 14, 0, 0, tzinfo=UTC)
    [claim] = await store.claim_due(due, "me")
    await store.mark_sent([(claim, SentInfo(at=due, transport="maildir"))])

    occurrence = "ana/visa/2027-03-16"
    assert not await store.is_acknowledged(occurrence)
    stopped = await store.acknowledge(
        occurrence,
        person="ana",
        deadline="visa",
        occurrence_date=date(2027, 3, 16),
        by="cli",
        at=due + timedelta(days=1),
    )
    assert stopped == 4
    assert await store.is_acknowledged(occurrence)
    assert await store.acknowledged() == {occurrence}
    assert await store.acknowledged("ana") == {occurrence}
    assert await store.acknowledged("bob") == set()
    counts = await store.counts()
    assert (counts["sent"], counts["acknowledged"], counts["pending"]) == (1, 4, 0)
    # Acknowledging again is harmless and stops nothing more.
    again = await store.acknowledge(
        occurrence,
        person="ana",
        deadline="visa",
        occurrence_date=date(2027, 3, 16),
        by="link",
        at=due + timedelta(days=2),
    )
    assert again == 0
    with pytest.raises(ValueError, match="unknown acknowledgement source"):
        await store.acknowledge(
            occurrence,
            person="ana",
            deadline="visa",
            occurrence_date=date(2027, 3, 16),
            by="email",
            at=due,
        )

    # A new lead time for the acknowledged occurrence arrives acknowledged.
    more = ("2027-03-16", ["P30D", "P14D", "P7D", "P1D", "PT0S"], ["P1D"])
    replanned = plan_of(person_toml("ana", {"visa": more}), date(2027, 1, 1), date(2027, 12, 31))
    stats = await store.reconcile(
        replanned, people=["ana"], window_start=date(2027, 1, 1), now=due + timedelta(days=3)
    )
    assert stats.inserted == 1
    assert await store.statuses(["ana/visa/2027-03-16/P14D"]) == {
        "ana/visa/2027-03-16/P14D": "acknowledged"
    }
    assert await store.claim_due(datetime(2027, 4, 1, tzinfo=UTC), "me") == []


async def test_meta(store: Store) -> None:
    assert await store.get_meta("last_plan") is None
    await store.set_meta("last_plan", "2027-01-10T00:00:00+00:00")
    await store.set_meta("last_plan", "2027-01-11T00:00:00+00:00")
    assert await store.get_meta("last_plan") == "2027-01-11T00:00:00+00:00"


async def test_feed_revisions_move_only_on_change(store: Store) -> None:
    t0, t1, t2 = NOW, NOW + timedelta(hours=1), NOW + timedelta(days=2, microseconds=7)

    assert await store.feed_revisions({}, t0) == {}
    first = await store.feed_revisions({"a": "f1", "b": "f1"}, t0)
    assert first == {"a": Revision(0, t0), "b": Revision(0, t0)}
    # Unchanged: same SEQUENCE, same instant, however late it is asked.
    assert await store.feed_revisions({"a": "f1", "b": "f1"}, t1) == first
    changed = await store.feed_revisions({"a": "f2", "b": "f1", "c": "f9"}, t1)
    assert changed == {"a": Revision(1, t1), "b": Revision(0, t0), "c": Revision(0, t1)}
    assert await store.feed_revisions({"a": "f3"}, t2) == {
        "a": Revision(2, t2.replace(microsecond=0))
    }
    assert await store.feed_revisions({"a": "f3", "b": "f1"}, t2) == {
        "a": Revision(2, t2.replace(microsecond=0)),
        "b": Revision(0, t0),
    }
    # A fingerprint that comes back is a change too: SEQUENCE never goes down.
    assert (await store.feed_revisions({"a": "f1"}, t2))["a"].sequence == 3


async def test_calendars_built_at_once_agree_on_each_revision(store: Store) -> None:
    # A person's calendar and an office's, rebuilt together after the same change.
    uids = {f"u{i}": "f1" for i in range(50)}
    await store.feed_revisions(uids, NOW)
    changed = dict.fromkeys(uids, "f2")

    answers = await asyncio.gather(
        *(store.feed_revisions(changed, NOW + timedelta(seconds=s)) for s in range(1, 9))
    )

    assert all(answer == answers[0] for answer in answers)
    assert {r.sequence for r in answers[0].values()} == {1}
    assert await store.feed_revisions(changed, NOW + timedelta(days=1)) == answers[0]


async def test_migration_gives_existing_feed_revisions_an_instant(blank_db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    from service.store.db import alembic_config

    store = await Store.open(blank_db_url, migrate=False)
    try:
        async with store.engine.connect() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0002"))
            await conn.execute(
                text("INSERT INTO feed_sequences (uid, fingerprint, sequence) VALUES ('u', 'f', 4)")
            )
            await conn.commit()
        before = datetime.now(UTC).replace(microsecond=0)
        await migrate(store.engine)
        revisions = await store.feed_revisions({"u": "f"}, NOW)
        assert revisions["u"].sequence == 4
        assert before <= revisions["u"].changed_at <= datetime.now(UTC)
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await store.close()
