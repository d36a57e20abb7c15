"""The queue: claims, leases, fencing, coalescing, retries and batch marking."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text, update

from service.store import Claim, SentInfo, Store
from service.store.models import reminders
from service.store.queue import DEADLINE_PASSED, SUPERSEDED
from tests.fixtures.db import person_toml, plan_of

START, END = date(2027, 1, 1), date(2027, 12, 31)
PLANNED_AT = datetime(2027, 1, 1, tzinfo=UTC)
#: 2027-03-09 09:00 in Seoul: the 7-day reminder of a 2027-03-16 deadline.
WEEK_BEFORE = datetime(2027, 3, 9, 0, 0, tzinfo=UTC)


async def seed_people(store: Store, count: int) -> list[str]:
    """``count`` people, each with one deadline on 2027-03-16 (reminders P7D and P1D)."""
    ids = [f"p{i:02d}" for i in range(count)]
    toml = "".join(person_toml(p, {"visa": ("2027-03-16", ["P7D", "P1D"], [])}) for p in ids)
    await store.reconcile(plan_of(toml, START, END), people=ids, window_start=START, now=PLANNED_AT)
    return ids


async def expire_leases(store: Store) -> None:
    """End every lease, as if its holder died long ago (on either clock)."""
    async with store.engine.begin() as conn:
        await conn.execute(
            update(reminders)
            .where(reminders.c.claimed_until.is_not(None))
            .values(claimed_until=datetime(2000, 1, 1, tzinfo=UTC))
        )


def sent(claims: list[Claim], at: datetime) -> list[tuple[Claim, SentInfo]]:
    return [(c, SentInfo(at=at, transport="maildir", message_id=f"<{c.key}>")) for c in claims]


async def test_claims_are_ordered_and_never_shared(store: Store) -> None:
    ids = await seed_people(store, 5)
    assert await store.claim_due(WEEK_BEFORE - timedelta(seconds=1), "a") == []
    first = await store.claim_due(WEEK_BEFORE, "a", limit=2)
    rest = await store.claim_due(WEEK_BEFORE, "b", limit=10)
    assert await store.claim_due(WEEK_BEFORE, "c") == []
    keys = [c.key for c in first + rest]
    assert keys == [f"{p}/visa/2027-03-16/P7D" for p in ids]
    assert len({c.claim_token for c in first}) == 1
    assert {c.claim_token for c in first}.isdisjoint({c.claim_token for c in rest})
    claim = first[0]
    assert (claim.person, claim.deadline, claim.kind, claim.offset) == (
        "p00",
        "visa",
        "custom",
        "P7D",
    )
    assert (claim.occurrence, claim.occurrence_date) == ("p00/visa/2027-03-16", date(2027, 3, 16))
    assert (claim.due, claim.attempts, claim.overdue) == (WEEK_BEFORE, 0, False)
    assert claim.ends == datetime(2027, 3, 16, 15, 0, tzinfo=UTC)
    rows = {r.key: r for r in await store.reminders()}
    assert rows[claim.key].claimed_by == "a"
    assert rows[rest[0].key].claimed_by == "b"


async def test_concurrent_claimants_split_the_work(store: Store, db_url: str) -> None:
    await seed_people(store, 30)
    other = await Store.open(db_url)
    try:
        batches = await asyncio.gather(
            *(
                s.claim_due(WEEK_BEFORE, name, limit=4)
                for _ in range(5)
                for s, name in ((store, "a"), (other, "b"))
            )
        )
    finally:
        await other.close()
    keys = [c.key for batch in batches for c in batch]
    assert len(keys) == len(set(keys)) == 30


async def test_expired_lease_is_taken_over_and_the_late_write_fenced(store: Store) -> None:
    await seed_people(store, 1)
    [stale] = await store.claim_due(WEEK_BEFORE, "a", lease_seconds=60)
    assert await store.claim_due(WEEK_BEFORE, "b") == []
    await expire_leases(store)
    [fresh] = await store.claim_due(WEEK_BEFORE, "b")
    assert fresh.key == stale.key
    assert fresh.claim_token != stale.claim_token

    # "a" wakes up and reports: nothing changes.
    assert await store.mark_sent(sent([stale], WEEK_BEFORE)) == 0
    assert not await store.mark_retry(
        stale, at=WEEK_BEFORE, next_attempt=WEEK_BEFORE, error="451", code=451, transport="smtp"
    )
    assert not await store.mark_failed(
        stale, at=WEEK_BEFORE, error="550", code=550, transport="smtp"
    )
    assert await store.release([stale]) == 0
    [row] = [r for r in await store.reminders() if r.key == stale.key]
    assert (row.status, row.claimed_by, row.claim_token) == ("pending", "b", fresh.claim_token)
    assert await store.deliveries(stale.key) == []

    assert await store.mark_sent(sent([fresh], WEEK_BEFORE + timedelta(seconds=5))) == 1
    [delivery] = await store.deliveries(fresh.key)
    assert (delivery.result, delivery.transport, delivery.message_id) == (
        "sent",
        "maildir",
        f"<{fresh.key}>",
    )
    [row] = [r for r in await store.reminders() if r.key == stale.key]
    assert (row.status, row.sent_at, row.attempts) == (
        "sent",
        WEEK_BEFORE + timedelta(seconds=5),
        1,
    )
    assert (row.claimed_by, row.claimed_until, row.claim_token) == (None, None, None)


async def test_sqlite_lease_runs_on_the_callers_clock(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'lease.db'}")
    try:
        await seed_people(store, 1)
        [held] = await store.claim_due(WEEK_BEFORE, "a", lease_seconds=60)
        assert await store.claim_due(WEEK_BEFORE + timedelta(seconds=59), "b") == []
        [taken] = await store.claim_due(WEEK_BEFORE + timedelta(seconds=61), "b")
        assert taken.key == held.key
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgresql_lease_runs_on_the_database_clock(pg_database: str) -> None:
    store = await Store.open(pg_database)
    try:
        await _lease_on_database_clock(store)
    finally:
        await store.close()


async def _lease_on_database_clock(store: Store) -> None:
    await seed_people(store, 1)
    # The test's instants (2027) are ahead of the database clock: a skewed host.
    [claim] = await store.claim_due(WEEK_BEFORE, "a", lease_seconds=60)
    async with store.engine.connect() as conn:
        db_now = (await conn.execute(text("SELECT now()"))).scalar_one()
    [row] = [r for r in await store.reminders() if r.key == claim.key]
    assert row.claimed_until is not None
    assert abs(row.claimed_until - (db_now + timedelta(seconds=60))) < timedelta(seconds=10)
    # An hour later on the skewed host clock the lease is still held: the database says so.
    assert await store.claim_due(WEEK_BEFORE + timedelta(hours=1), "b") == []


async def test_retry_waits_then_failure_is_recorded(store: Store) -> None:
    await seed_people(store, 1)
    [claim] = await store.claim_due(WEEK_BEFORE, "a")
    retry_at = WEEK_BEFORE + timedelta(minutes=10)
    assert await store.mark_retry(
        claim,
        at=WEEK_BEFORE + timedelta(seconds=3),
        next_attempt=retry_at,
        error="451 4.3.0 try again later",
        code=451,
        transport="smtp",
    )
    assert await store.claim_due(retry_at - timedelta(seconds=1), "a") == []
    assert await store.next_due_at() == retry_at
    [again] = await store.claim_due(retry_at, "a")
    assert (again.key, again.attempts) == (claim.key, 1)
    assert await store.mark_failed(
        again, at=retry_at, error="550 5.1.1 no such user", code=550, transport="smtp"
    )
    [failure] = await store.failures()
    assert (failure.key, failure.status, failure.reason) == (
        claim.key,
        "failed",
        "550 5.1.1 no such user",
    )
    assert failure.attempts == 2
    assert [(d.result, d.code, d.reply) for d in await store.deliveries(claim.key)] == [
        ("retry", 451, "451 4.3.0 try again later"),
        ("failed", 550, "550 5.1.1 no such user"),
    ]
    counts = await store.counts()
    assert (counts["failed"], counts["pending"]) == (1, 1)


async def test_release_makes_rows_claimable_again(store: Store) -> None:
    await seed_people(store, 3)
    claims = await store.claim_due(WEEK_BEFORE, "a")
    assert await store.release(claims) == 3
    assert await store.release([]) == 0
    again = await store.claim_due(WEEK_BEFORE, "b")
    assert [c.key for c in again] == [c.key for c in claims]
    assert {r.attempts for r in await store.reminders()} == {0}


async def test_missed_reminders_coalesce_to_the_latest(store: Store) -> None:
    toml = person_toml(
        "ana",
        {
            "visa": ("2027-03-16", ["P30D", "P7D", "P1D", "PT0S"], ["P1D", "P3D"]),
            "sim": ("2027-03-20", ["P14D", "P3D"], []),
        },
    )
    await store.reconcile(
        plan_of(toml, START, END), people=["ana"], window_start=START, now=PLANNED_AT
    )
    # Down from before the 30-day reminder until 2027-03-15 12:00 in Seoul.
    back = datetime(2027, 3, 15, 3, 0, tzinfo=UTC)
    claims = await store.claim_due(back, "a")
    assert [c.key for c in claims] == ["ana/sim/2027-03-20/P14D", "ana/visa/2027-03-16/P1D"]
    rows = {r.key: r for r in await store.reminders()}
    for key in ("ana/visa/2027-03-16/P30D", "ana/visa/2027-03-16/P7D"):
        assert (rows[key].status, rows[key].reason) == ("skipped", SUPERSEDED)
    await store.mark_sent(sent(claims, back))

    # Down again until after the deadline and both overdue repeats.
    later = datetime(2027, 3, 21, tzinfo=UTC)
    claims = await store.claim_due(later, "a")
    assert [c.key for c in claims] == ["ana/visa/2027-03-16/-P3D"]
    assert claims[0].overdue
    rows = {r.key: r for r in await store.reminders()}
    assert (rows["ana/visa/2027-03-16/PT0S"].status, rows["ana/visa/2027-03-16/PT0S"].reason) == (
        "skipped",
        DEADLINE_PASSED,
    )
    assert (rows["ana/visa/2027-03-16/-P1D"].reason, rows["ana/sim/2027-03-20/P3D"].reason) == (
        SUPERSEDED,
        DEADLINE_PASSED,
    )
    assert rows["ana/visa/2027-03-16/P1D"].status == "sent"


async def test_deadline_passed_while_down(store: Store) -> None:
    await seed_people(store, 2)
    after = datetime(2027, 3, 17, tzinfo=UTC)
    assert await store.claim_due(after, "a") == []
    rows = await store.reminders()
    assert {(r.offset, r.status, r.reason) for r in rows} == {
        ("P7D", "skipped", DEADLINE_PASSED),
        ("P1D", "skipped", DEADLINE_PASSED),
    }
    assert await store.next_due_at() is None


@contextmanager
def count_transactions(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def on_begin(conn: Any) -> None:
        seen.append("begin")

    def on_commit(conn: Any) -> None:
        seen.append("commit")

    event.listen(store.engine.sync_engine, "begin", on_begin)
    event.listen(store.engine.sync_engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "begin", on_begin)
        event.remove(store.engine.sync_engine, "commit", on_commit)


async def test_mark_sent_of_2000_is_one_transaction(store: Store) -> None:
    base = plan_of(person_toml("p", {"visa": ("2027-03-16", ["P7D"], [])}), START, END)
    people = [f"person-{i:04d}" for i in range(2000)]
    occurrences = []
    for pid in people:
        for o in base:
            found = tuple(
                dataclasses.replace(r, key=pid + r.key[1:], person=pid) for r in o.reminders
            )
            occurrences.append(dataclasses.replace(o, person=pid, reminders=found))
    await store.reconcile(occurrences, people=people, window_start=START, now=PLANNED_AT)
    claims = await store.claim_due(WEEK_BEFORE, "a", limit=2000)
    assert len(claims) == 2000
    with count_transactions(store) as transactions:
        marked = await store.mark_sent(sent(claims, WEEK_BEFORE + timedelta(seconds=30)))
    assert marked == 2000
    assert transactions == ["begin", "commit"]
    counts = await store.counts()
    assert (counts["sent"], counts["pending"]) == (2000, 0)
    assert [d.result for d in await store.deliveries(claims[-1].key)] == ["sent"]
