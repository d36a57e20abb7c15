"""Planning ahead in a child process: the same store as planning in-process, or a fallback."""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.basis import plan_basis
from service.config import Config, load_config
from service.plan import plan, store_window
from service.planahead import CHILD_BATCH, FIRST_BATCH, MIN_PEOPLE, PlanAhead, PlanAheadError
from service.rules import BusinessCalendar
from service.store import FreshRows, PlannedRows, Store, fresh_for, planned_for
from service.sync import PLAN_BATCH, replan

#: Enough people for a small first batch and several more, the last one short.
PEOPLE = FIRST_BATCH + 2 * PLAN_BATCH + 37


def write_config(folder: Path, people: int = PEOPLE, *, database: str | None = None) -> Path:
    lines = [
        "[service]",
        'timezone = "Asia/Seoul"',
        f'database = "{database or f"sqlite:///{folder}/staywatch.db"}"',
        "horizon_days = 400",
    ]
    for n in range(people):
        lines += [
            "[[person]]",
            f'id = "p{n:04d}"',
            f'name = "Person {n}"',
            f'email = ["p{n}@example.org"]',
            "  [[person.deadline]]",
            '  id = "visa"',
            '  kind = "stay_expiry"',
            f"  date = 2027-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "  [[person.deadline]]",
            '  id = "nhis"',
            '  kind = "nhis_premium"',
            "  start = 2026-12-01",
        ]
    path = folder / "staywatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def today_of(config: Config) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(config.service.timezone)).date()


def stored(database: Path) -> list[tuple[object, ...]]:
    """Every reminder and plan fingerprint, with the storage class of each value."""
    conn = sqlite3.connect(database)
    columns = [
        '"key"',
        "person",
        "deadline",
        "kind",
        "occurrence",
        "occurrence_date",
        '"offset"',
        "due",
        "ends",
        "overdue",
        "closed_notice",
        "status",
        "attempts",
        "reason",
        "next_attempt",
    ]
    typed = ", ".join(f"{c}, typeof({c})" for c in columns)
    try:
        return (
            conn.execute(f'SELECT {typed} FROM reminders ORDER BY "key"').fetchall()
            + conn.execute(
                "SELECT person, fingerprint FROM person_plans ORDER BY person"
            ).fetchall()
        )
    finally:
        conn.close()


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAYWATCH_CACHE_DIR", str(tmp_path / "cache"))


def test_the_child_plans_what_a_full_replan_plans_here(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    config = load_config(path)
    today = today_of(config)
    ahead = PlanAhead.start(path)
    assert ahead is not None
    try:
        assert ahead.read_basis() == plan_basis(config, today)
        start, end = store_window(config, today)
        calendar = BusinessCalendar.for_config(config)
        ids = [p.id for p in config.people]
        rest = PEOPLE - FIRST_BATCH
        sizes = [FIRST_BATCH] + [CHILD_BATCH] * (rest // CHILD_BATCH) + [rest % CHILD_BATCH]
        assert sizes[-1] == 37
        for n, size in enumerate(sizes):
            batch = ids[sum(sizes[:n]) : sum(sizes[:n]) + size]
            here = plan(config, start, end, people=batch, singles_unbounded=True, calendar=calendar)
            # The store has no reminders yet: each batch comes ready for one statement.
            assert ahead.read_batch() == fresh_for(here, batch)
        assert ahead.read_batch() is None
    finally:
        ahead.close()


async def test_a_replan_from_the_child_stores_what_planning_here_stores(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    stores = {}
    for name, use_child in (("a", True), ("b", False)):
        path = write_config(tmp_path / name)
        config = load_config(path)
        ahead = PlanAhead.start(path) if use_child else None
        store = await Store.open(config.database_url)
        try:
            stats = await replan(config, store, datetime.now(UTC), skip_unchanged=True, ahead=ahead)
        finally:
            await store.close()
            if ahead is not None:
                ahead.close()
        assert stats.changed == PEOPLE
        stores[name] = stored(tmp_path / name / "staywatch.db")
        # The plan is now the config's of today: a child started again does not plan.
        again = PlanAhead.start(path)
        assert again is not None
        try:
            assert again.read_basis() is None
            assert again.declined == "the store has the plan of this config and day"
        finally:
            again.close()
    assert stores["a"] == stores["b"]
    assert len(stores["a"]) > PEOPLE * 20


async def test_a_child_that_fails_part_way_leaves_the_rest_to_this_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    results = []
    for fail, path in _both_ways(tmp_path):
        config = load_config(path)
        ahead = None
        if fail:
            # The basis and the first batch arrive, then the child is gone.
            ahead, _ = _after_first_batch(path, config)
            ahead.child.kill()
            ahead.child.wait()
        store = await Store.open(config.database_url)
        try:
            with caplog.at_level(logging.WARNING, logger="service.sync"):
                await replan(config, store, datetime.now(UTC), ahead=ahead)  # type: ignore[arg-type]
        finally:
            await store.close()
        results.append(stored(path.parent / "staywatch.db"))
    assert results[0] == results[1]
    assert "planning ahead failed (the planning process ended early" in caplog.text


def _both_ways(tmp_path: Path, people: int = PEOPLE) -> Iterator[tuple[bool, Path]]:
    """A config to plan with a child (True), then the same one to plan here (False)."""
    for name, with_child in (("a", True), ("b", False)):
        (tmp_path / name).mkdir()
        yield with_child, write_config(tmp_path / name, people)


def _after_first_batch(path: Path, config: Config) -> tuple[_Replayed, PlannedRows | FreshRows]:
    """A child planning ``path`` whose basis and first batch are read, and that batch."""
    ahead = PlanAhead.start(path)
    assert ahead is not None
    basis = ahead.read_basis()
    assert basis == plan_basis(config, today_of(config))
    first = ahead.read_batch()
    assert first is not None
    return _Replayed(ahead, basis, first), first


class _Replayed:
    """A child's end that gives back what was read already, then reads on."""

    def __init__(self, ahead: PlanAhead, basis: str, first: object) -> None:
        self._ahead, self._basis, self._first = ahead, basis, first
        self.child = ahead._process

    def read_basis(self) -> str:
        return self._basis

    def read_batch(self) -> object:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return self._ahead.read_batch()

    def close(self) -> None:
        self._ahead.close()


async def test_a_child_of_another_config_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path)
    ahead = PlanAhead.start(path)
    assert ahead is not None
    # The file changes after the child read it (its basis is on the way): one person less.
    assert select.select([ahead._pipe], [], [], 60)[0]
    write_config(tmp_path, PEOPLE - 1)
    config = load_config(path)
    store = await Store.open(config.database_url)
    try:
        with caplog.at_level(logging.INFO, logger="service.sync"):
            stats = await replan(config, store, datetime.now(UTC), ahead=ahead)
    finally:
        await store.close()
        ahead.close()
    assert stats.changed == PEOPLE - 1
    assert "the plan made ahead is of another config or day: planning here" in caplog.text
    assert f"p{PEOPLE - 1:04d}" not in {row[0] for row in stored(tmp_path / "staywatch.db")}


def test_a_child_that_cannot_read_the_config_says_why(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    ahead = PlanAhead.start(path.with_name("missing.toml"))
    assert ahead is not None
    try:
        with pytest.raises(PlanAheadError, match=r"missing\.toml"):
            ahead.read_basis()
    finally:
        ahead.close()
    assert ahead._process.returncode is not None


def declined(path: Path) -> str | None:
    """What a child started on ``path`` says instead of a basis (None: it plans)."""
    ahead = PlanAhead.start(path)
    assert ahead is not None
    try:
        return None if ahead.read_basis() is not None else ahead.declined
    finally:
        ahead.close()


def test_only_a_sqlite_store_without_todays_plan_of_enough_people_is_planned_ahead(
    tmp_path: Path,
) -> None:
    assert declined(write_config(tmp_path)) is None
    assert declined(write_config(tmp_path, MIN_PEOPLE - 1)) == f"fewer than {MIN_PEOPLE} people"
    postgres = write_config(tmp_path, database="postgresql+asyncpg://postgres@127.0.0.1/test")
    assert declined(postgres) == "not a SQLite store"


async def test_a_child_that_declines_leaves_the_plan_to_this_process(tmp_path: Path) -> None:
    path = write_config(tmp_path, MIN_PEOPLE - 1)
    config = load_config(path)
    ahead = PlanAhead.start(path)
    assert ahead is not None
    store = await Store.open(config.database_url)
    try:
        stats = await replan(config, store, datetime.now(UTC), skip_unchanged=True, ahead=ahead)
    finally:
        await store.close()
    assert stats.changed == MIN_PEOPLE - 1
    # Stopped and reaped before replan returned.
    assert ahead._process.returncode is not None


async def test_a_start_with_nothing_to_plan_stops_the_child(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    config = load_config(path)
    store = await Store.open(config.database_url)
    try:
        await replan(config, store, datetime.now(UTC))
        ahead = PlanAhead.start(path)
        assert ahead is not None
        stats = await replan(config, store, datetime.now(UTC), skip_unchanged=True, ahead=ahead)
    finally:
        await store.close()
    assert stats.unchanged == PEOPLE
    assert ahead._process.returncode is not None


def test_a_child_stopped_and_continued_while_the_pipe_is_full_sends_every_byte(
    tmp_path: Path,
) -> None:
    # A batch is far larger than a pipe holds: the child blocks in write, and each
    # stop and continue (job control, a debugger, a cgroup freeze) cuts that write short.
    path = write_config(tmp_path)
    config = load_config(path)
    today = today_of(config)
    start, end = store_window(config, today)
    calendar = BusinessCalendar.for_config(config)
    ids = [p.id for p in config.people]
    ahead = PlanAhead.start(path)
    assert ahead is not None
    pid = ahead._process.pid
    done = threading.Event()

    def stop_and_continue() -> None:
        while not done.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                done.wait(0.001)
                os.kill(pid, signal.SIGCONT)
            done.wait(0.002)

    storm = threading.Thread(target=stop_and_continue, daemon=True)
    storm.start()
    try:
        assert ahead.read_basis() == plan_basis(config, today)
        first = 0
        while True:
            # The reader lags, so that the pipe stays full while the child writes.
            done.wait(0.05)
            rows = ahead.read_batch()
            if rows is None:
                break
            batch = list(rows.prints)
            assert batch == ids[first : first + len(batch)]
            here = plan(config, start, end, people=batch, singles_unbounded=True, calendar=calendar)
            assert rows == fresh_for(here, batch)
            first += len(batch)
        assert first == len(ids)
    finally:
        done.set()
        storm.join()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        ahead.close()


def _frame(kind: bytes, payload: bytes, size: int | None = None) -> bytes:
    return kind + (len(payload) if size is None else size).to_bytes(8, "big") + payload


def _garbled(basis: bytes) -> dict[str, bytes]:
    """What a child might send that is not a plan, after a good basis frame."""
    good = _frame(b"B", basis)
    real = pickle.dumps(planned_for([], ["p0000"]), protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "not a pickle": good + _frame(b"R", bytes(range(256)) * 40),
        "a cut pickle": good + _frame(b"R", real[: len(real) // 2]) + _frame(b"Z", b""),
        "a pickle of another type": good + _frame(b"R", pickle.dumps({"p0000": "x"})),
        "a frame longer than any batch": good + _frame(b"R", b"", size=1 << 40),
        "a garbled basis": _frame(b"B", "기준".encode()),
        "an unknown frame": good + _frame(b"Q", b"?"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not a pickle",
        "a cut pickle",
        "a pickle of another type",
        "a frame longer than any batch",
        "a garbled basis",
        "an unknown frame",
    ],
)
async def test_whatever_garbled_frame_a_child_sends_the_plan_is_made_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    results = []
    for garbled, path in _both_ways(tmp_path, 5):
        config = load_config(path)
        ahead = None
        if garbled:
            sent = tmp_path / "sent.bin"
            sent.write_bytes(_garbled(plan_basis(config, today_of(config)).encode())[case])
            ahead = _stand_in(sent)
        store = await Store.open(config.database_url)
        try:
            with caplog.at_level(logging.WARNING, logger="service.sync"):
                stats = await replan(config, store, datetime.now(UTC), ahead=ahead)
        finally:
            await store.close()
        assert stats.changed == 5
        results.append(stored(path.parent / "staywatch.db"))
    assert results[0] == results[1]
    assert "planning ahead failed" in caplog.text


def _stand_in(sent: Path) -> PlanAhead:
    """A child's end whose child only writes the bytes of ``sent``."""
    return PlanAhead(
        subprocess.Popen([sys.executable, "-c", CAT, str(sent)], stdout=subprocess.PIPE)
    )


#: A stand-in child: writes a file's bytes to its standard output, then waits to be stopped.
CAT = (
    "import sys, time; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read()); "
    "sys.stdout.flush(); time.sleep(60)"
)


async def test_a_child_of_a_store_with_reminders_sends_rows_to_compare(tmp_path: Path) -> None:
    results = []
    for use_child, path in _both_ways(tmp_path):
        config = load_config(path)
        store = await Store.open(config.database_url)
        try:
            await replan(config, store, datetime.now(UTC))
            # Everyone's premiums start a month later: nobody's plan is the stored one.
            path.write_text(path.read_text().replace("2026-12-01", "2027-01-01"))
            config = load_config(path)
            ahead = None
            if use_child:
                ahead, first = _after_first_batch(path, config)
                assert isinstance(first, PlannedRows)
            stats = await replan(config, store, datetime.now(UTC), ahead=ahead)  # type: ignore[arg-type]
        finally:
            await store.close()
        assert stats.changed == PEOPLE
        assert stats.skipped > 0  # December's premium is no longer planned
        results.append(stored(path.parent / "staywatch.db"))
    assert results[0] == results[1]


async def test_rows_stored_meanwhile_are_compared_not_inserted_again(tmp_path: Path) -> None:
    results = []
    for use_child, path in _both_ways(tmp_path):
        config = load_config(path)
        ahead = None
        if use_child:
            # The child saw an empty store, then someone's reminders arrive.
            ahead, first = _after_first_batch(path, config)
            assert isinstance(first, FreshRows)
        store = await Store.open(config.database_url)
        try:
            await replan(config, store, datetime.now(UTC), people=["p0001"])
            stats = await replan(config, store, datetime.now(UTC), ahead=ahead)  # type: ignore[arg-type]
        finally:
            await store.close()
        assert (stats.changed, stats.unchanged) == (PEOPLE - 1, 1)
        results.append(stored(path.parent / "staywatch.db"))
    assert results[0] == results[1]
