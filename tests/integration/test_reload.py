"""Config reload: what changed, broken edits rejected with every error, the file watcher."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from service.config import Config, load_config, parse_config
from service.errors import StaywatchError, StoreError
from service.reload import ConfigChange, Reloader, diff_configs

#: How long the watcher may take to notice a change (debounce is 0.2 s).
NOTICE_TIMEOUT = 10.0

HEADER = '[service]\ntimezone = "Asia/Seoul"\nsend_time = "09:00"\n'


def person(pid: str, *deadlines: tuple[str, str]) -> str:
    out = f'\n[[person]]\nid = "{pid}"\nname = "Person {pid}"\nemail = ["{pid}@example.org"]\n'
    for did, day in deadlines:
        out += (
            f'\n  [[person.deadline]]\n  id = "{did}"\n  kind = "custom"\n  title = "{did}"\n'
            f"  date = {day}\n"
        )
    return out


def config(*people: str, header: str = HEADER) -> Config:
    return parse_config(header + "".join(people))


BASE = (
    person("ana", ("visa", "2027-03-16"), ("tax", "2027-01-15")),
    person("bob", ("visa", "2027-05-01")),
    person("cho", ("visa", "2027-06-01")),
)


# -- diff_configs ------------------------------------------------------------------


def test_identical_configs_differ_in_nothing() -> None:
    change = diff_configs(config(*BASE), config(*BASE))
    assert change.empty
    assert change.summary() == "no change"
    assert change.people(config(*BASE)) == []
    assert change.restart_needed == []


def test_people_and_deadlines_added_changed_and_removed() -> None:
    old = config(*BASE)
    new = config(
        # ana: tax removed, visa moved, passport added
        person("ana", ("visa", "2027-04-16"), ("passport", "2030-01-01")),
        # bob: unchanged; cho: removed; dan: new
        person("bob", ("visa", "2027-05-01")),
        person("dan", ("visa", "2027-07-01")),
    )
    change = diff_configs(old, new)
    assert (change.added, change.removed, change.changed) == (["dan"], ["cho"], ["ana"])
    assert change.deadlines_added == ["ana/passport"]
    assert change.deadlines_removed == ["ana/tax"]
    assert change.deadlines_changed == ["ana/visa"]
    assert not change.global_change
    assert not change.empty
    assert change.people(new) == ["ana", "cho", "dan"]
    assert change.summary() == (
        "people added: dan; people removed: cho; people changed: ana; "
        "deadlines added: ana/passport; deadlines removed: ana/tax; deadlines changed: ana/visa"
    )


def test_a_new_email_address_changes_the_person_but_no_deadline() -> None:
    old = config(*BASE)
    text = HEADER + "".join(BASE)
    new = parse_config(text.replace('["bob@example.org"]', '["bob@example.org", "b@x.org"]'))
    change = diff_configs(old, new)
    assert change.changed == ["bob"]
    assert (change.deadlines_added, change.deadlines_removed, change.deadlines_changed) == (
        [],
        [],
        [],
    )
    assert change.summary() == "people changed: bob"


def test_send_time_is_a_global_change() -> None:
    old = config(*BASE)
    new = config(*BASE, header=HEADER.replace('"09:00"', '"08:30"'))
    change = diff_configs(old, new)
    assert change.global_change
    assert (change.added, change.removed, change.changed) == ([], [], [])
    assert not change.empty
    assert change.people(new) is None  # everyone
    assert change.summary() == "service settings changed: everyone re-planned"
    assert change.restart_needed == []


def test_default_lead_times_are_a_global_change() -> None:
    new = config(*BASE, header=HEADER + "[reminders]\ncustom = [10, 0]\n")
    assert diff_configs(config(*BASE), new).global_change


def test_database_and_listen_need_a_restart() -> None:
    new = config(
        *BASE,
        header=HEADER + 'database = "sqlite:///elsewhere.db"\n[feed]\nlisten = "127.0.0.1:9999"\n',
    )
    change = diff_configs(config(*BASE), new)
    assert change.restart_needed == ["service.database", "feed.listen"]
    assert not change.global_change  # the database is not a planning input


# -- Reloader.reload ------------------------------------------------------------------


@dataclass
class Calls:
    """What the reloader told its owner."""

    current: Config
    valid: list[tuple[Config, ConfigChange]] = field(default_factory=list)
    invalid: list[list[str]] = field(default_factory=list)
    event: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_valid(self, new: Config, change: ConfigChange) -> None:
        self.valid.append((new, change))
        self.current = new
        self.event.set()

    async def on_invalid(self, problems: list[str]) -> None:
        self.invalid.append(problems)
        self.event.set()

    async def next_call(self, action: Callable[[], Awaitable[None] | None]) -> None:
        """Run ``action`` and wait for the reloader to report once."""
        self.event.clear()
        result = action()
        if result is not None:
            await result
        await asyncio.wait_for(self.event.wait(), NOTICE_TIMEOUT)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "staywatch.toml"
    path.write_text(HEADER + "".join(BASE), encoding="utf-8")
    return path


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def reloader_for(path: Path) -> tuple[Reloader, Calls]:
    calls = Calls(load_config(path))
    return Reloader(path, lambda: calls.current, calls.on_valid, calls.on_invalid), calls


async def test_a_valid_edit_is_applied_with_its_diff(config_file: Path) -> None:
    reloader, calls = reloader_for(config_file)
    write(config_file, read(config_file) + person("dan", ("visa", "2027-07-01")))
    assert await reloader.reload("SIGHUP") is True
    [(new, change)] = calls.valid
    assert [p.id for p in new.people] == ["ana", "bob", "cho", "dan"]
    assert change.added == ["dan"]
    assert calls.invalid == []


async def test_a_broken_edit_reports_every_error_and_keeps_the_old_config(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reloader, calls = reloader_for(config_file)
    good = calls.current
    lines = (HEADER + "".join(BASE)).splitlines()
    broken = [
        line.replace('"09:00"', '"9.00"').replace("2027-05-01", "2027-02-30") for line in lines
    ]
    broken.insert(lines.index('id = "cho"') + 1, 'nmae = "typo"')
    write(config_file, "\n".join(broken) + "\n")

    assert await reloader.reload("file changed") is False
    assert calls.valid == []
    assert calls.current is good
    [problems] = calls.invalid
    name = str(config_file)
    line_of = {text: number for number, text in enumerate(broken, start=1)}
    send_time, bad_date, typo = (
        line_of[text] for text in ('send_time = "9.00"', "  date = 2027-02-30", 'nmae = "typo"')
    )
    assert problems == [
        f"{name}:{send_time}: [service]: send_time '9.00' is not a time of day; write it as "
        'HH:MM, e.g. "09:00"',
        f"{name}:{bad_date}: person 'bob' deadline 'visa': date 2027-02-30 is not a date; "
        "write a real calendar date as YYYY-MM-DD",
        f"{name}:{typo}: person 'cho': unknown key 'nmae'; did you mean 'name'?",
    ]
    logged = [r.getMessage() for r in caplog.records if r.name == "service.reload"]
    assert logged[0] == "config reload (file changed) failed; still running on the last good config"
    assert logged[1:] == problems


async def test_invalid_toml_is_reported_with_its_line(config_file: Path) -> None:
    reloader, calls = reloader_for(config_file)
    text = read(config_file)
    write(config_file, text + "\n[[person]\n")
    assert await reloader.reload("SIGHUP") is False
    [[problem]] = calls.invalid
    line = len((text + "\n[[person]\n").splitlines())
    assert problem.startswith(f"{config_file}:{line}:")


# -- Reloader.watch --------------------------------------------------------------------


@pytest.fixture
async def watching(config_file: Path) -> AsyncIterator[tuple[Reloader, Calls]]:
    reloader, calls = reloader_for(config_file)
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.watch(stop))
    try:
        yield reloader, calls
    finally:
        stop.set()
        await asyncio.wait_for(task, NOTICE_TIMEOUT)


async def until_noticed(calls: Calls, write: Callable[[], None]) -> None:
    """Write, and write again, until the watcher (which starts in the background) reacts."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + NOTICE_TIMEOUT
    calls.event.clear()
    await asyncio.sleep(0)  # let the watcher task start
    while not calls.event.is_set():
        assert loop.time() < deadline, "the watcher never noticed the change"
        write()
        try:
            await asyncio.wait_for(calls.event.wait(), 2.0)
        except TimeoutError:
            continue


async def test_watch_picks_up_in_place_writes_and_rename_replace(
    config_file: Path, watching: tuple[Reloader, Calls]
) -> None:
    _, calls = watching
    base = read(config_file)

    # 1. Rewritten in place (an editor that truncates and writes).
    with_dan = base + person("dan", ("visa", "2027-07-01"))
    await until_noticed(calls, lambda: write(config_file, with_dan))
    assert [p.id for p in calls.current.people] == ["ana", "bob", "cho", "dan"]
    assert calls.valid[-1][1].added == ["dan"]
    seen = len(calls.valid)

    # 2. Replaced by rename (staywatch add/set/remove, vim, sed -i): the watcher is live.
    with_eve = with_dan + person("eve", ("visa", "2027-08-01"))

    def replace() -> None:
        temporary = config_file.with_name(".staywatch.toml.tmp")
        temporary.write_text(with_eve, encoding="utf-8")
        os.replace(temporary, config_file)

    await calls.next_call(replace)
    assert len(calls.valid) == seen + 1
    assert calls.valid[-1][1].added == ["eve"]
    assert [p.id for p in calls.current.people][-1] == "eve"

    # 3. A broken write is reported, and the next good one applied again.
    await calls.next_call(lambda: write(config_file, with_eve + "[["))
    assert len(calls.invalid) == 1
    assert [p.id for p in calls.current.people][-1] == "eve"
    await calls.next_call(lambda: write(config_file, base))
    assert calls.valid[-1][1].removed == ["dan", "eve"]
    assert calls.invalid == [calls.invalid[0]]


async def test_watch_ignores_other_files_in_the_folder(
    config_file: Path, watching: tuple[Reloader, Calls]
) -> None:
    _, calls = watching
    base = read(config_file)
    # Make sure the watcher is live first.
    await until_noticed(calls, lambda: write(config_file, base))
    count = len(calls.valid) + len(calls.invalid)
    calls.event.clear()
    (config_file.parent / "other.toml").write_text("[[", encoding="utf-8")
    (config_file.parent / "staywatch.toml.bak").write_text("[[", encoding="utf-8")
    # A change to the config itself after the noise: exactly one more report, and valid.
    await calls.next_call(lambda: write(config_file, base + person("dan", ("v", "2027-07-01"))))
    assert len(calls.valid) + len(calls.invalid) == count + 1
    assert calls.invalid == []


async def test_watch_survives_a_failure_to_apply_a_config(config_file: Path) -> None:
    calls = Calls(load_config(config_file))
    failures = [StoreError("database /x failed: disk I/O error")]

    async def on_valid(new: Config, change: ConfigChange) -> None:
        if failures:
            calls.event.set()
            raise failures.pop()
        await calls.on_valid(new, change)

    reloader = Reloader(config_file, lambda: calls.current, on_valid, calls.on_invalid)
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.watch(stop))
    try:
        base = read(config_file)
        await until_noticed(
            calls, lambda: write(config_file, base + person("dan", ("visa", "2027-07-01")))
        )
        assert failures == []
        calls.event.clear()
        write(config_file, base + person("eve", ("visa", "2027-08-01")))
        waiter = asyncio.create_task(calls.event.wait())
        done, _ = await asyncio.wait(
            {task, waiter}, timeout=NOTICE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        assert task not in done, f"watch() ended with {task.exception()!r}"
        assert waiter in done
        assert calls.valid[-1][1].added == ["eve"]
    finally:
        stop.set()
        with contextlib.suppress(StaywatchError):
            await asyncio.wait_for(task, NOTICE_TIMEOUT)


async def test_watch_survives_any_error_and_reports_it(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls = Calls(load_config(config_file))
    failures: list[Exception] = [RuntimeError("plan exploded"), RecursionError("deep")]

    async def on_valid(new: Config, change: ConfigChange) -> None:
        if failures:
            raise failures.pop(0)
        await calls.on_valid(new, change)

    reloader = Reloader(config_file, lambda: calls.current, on_valid, calls.on_invalid)
    stop = asyncio.Event()
    task = asyncio.create_task(reloader.watch(stop))
    try:
        base = read(config_file)
        for n, name in enumerate(("dan", "eve", "fay")):
            text = base + person(name, ("visa", "2027-07-01"))
            if n == 0:
                await until_noticed(calls, lambda text=text: write(config_file, text))
            else:
                await calls.next_call(lambda text=text: write(config_file, text))
            assert not task.done(), task
        assert [p[0].split(": ", 1)[1] for p in calls.invalid] == [
            "the reload failed unexpectedly (RuntimeError: plan exploded); staywatch keeps the "
            "last good config; the log has the details",
            "the reload failed unexpectedly (RecursionError: deep); staywatch keeps the last "
            "good config; the log has the details",
        ]
        assert [p.id for p in calls.current.people][-1] == "fay"
        tracebacks = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
        assert len(tracebacks) == 2
        assert all(r.exc_info is not None for r in tracebacks)
    finally:
        stop.set()
        await asyncio.wait_for(task, NOTICE_TIMEOUT)
