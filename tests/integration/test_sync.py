"""service.sync.replan: config -> plan -> store, incremental per person, history kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service import sync
from service.config import Config, parse_config
from service.reload import diff_configs
from service.store import SentInfo, Store
from service.store.reconcile import NO_LONGER_PLANNED, PERSON_REMOVED
from service.sync import replan
from tests.fixtures.db import count_writes

NOW = datetime(2027, 1, 10, tzinfo=UTC)
HEADER = '[service]\ntimezone = "Asia/Seoul"\nsend_time = "09:00"\nhorizon_days = 365\n'


def person(pid: str, visa: str = "2027-03-16", remind: str = '"P30D", "P7D", "PT0S"') -> str:
    return (
        f'\n[[person]]\nid = "{pid}"\nname = "Person {pid}"\nemail = ["{pid}@example.org"]\n'
        f'\n  [[person.deadline]]\n  id = "visa"\n  kind = "custom"\n  title = "Visa"\n'
        f'  date = {visa}\n  remind = [{remind}]\n  roll = "none"\n'
        f'\n  [[person.deadline]]\n  id = "sim"\n  kind = "custom"\n  title = "Top up SIM"\n'
        f'  rrule = "FREQ=MONTHLY;BYMONTHDAY=1"\n  start = 2027-01-01\n  until = 2027-06-30\n'
        f'  remind = ["P3D"]\n  roll = "none"\n'
    )


def config_of(tmp_path: Path, *people: str) -> Config:
    return parse_config(HEADER + "".join(people), tmp_path / "staywatch.toml")


def rows_per_person(keys: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in keys:
        out[key.split("/")[0]] = out.get(key.split("/")[0], 0) + 1
    return out


async def test_first_plan_inserts_everyone_and_a_second_writes_nothing(
    store: Store, tmp_path: Path
) -> None:
    config = config_of(tmp_path, person("ana"), person("bob"), person("cho"))
    stats = await replan(config, store, NOW)
    rows = await store.reminders()
    per_person = rows_per_person({r.key for r in rows})
    assert set(per_person) == {"ana", "bob", "cho"}
    # Visa: three reminders; SIM: one for each 1st from February to June (January's
    # is over before the store window starts).
    assert set(per_person.values()) == {3 + 5}
    assert stats.inserted == len(rows)
    assert (stats.changed, stats.unchanged) == (3, 0)
    assert stats.rows_written == len(rows) + 3  # plus one plan fingerprint per person
    assert {r.status for r in rows} == {"pending"}
    assert await store.get_meta("last_plan") == NOW.isoformat()

    with count_writes(store.engine) as writes:
        again = await replan(config, store, NOW + timedelta(minutes=5))
    assert (again.rows_written, again.changed, again.unchanged) == (0, 0, 3)
    # Only the bookkeeping fact "last_plan" is written.
    assert all("meta" in s for s in writes.statements)


async def test_a_plan_reconciled_in_parts_stores_what_one_part_would(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full re-plan goes in parts of PLAN_BATCH people to bound memory; the
    # parts together must store the same rows and report the sum of counts.
    monkeypatch.setattr(sync, "PLAN_BATCH", 2)
    ids = ["ana", "bob", "cho", "dan", "eun"]
    config = config_of(tmp_path, *(person(i) for i in ids))
    stats = await replan(config, store, NOW)
    rows = await store.reminders()
    assert rows_per_person({r.key for r in rows}) == dict.fromkeys(ids, 3 + 5)
    assert (stats.inserted, stats.changed, stats.rows_written) == (40, 5, 45)
    again = await replan(config, store, NOW + timedelta(minutes=5))
    assert (again.rows_written, again.changed, again.unchanged) == (0, 0, 5)


async def test_editing_one_person_replans_only_their_rows(store: Store, tmp_path: Path) -> None:
    before = config_of(tmp_path, person("ana"), person("bob"), person("cho"))
    await replan(before, store, NOW)
    untouched = {r.key: r for r in await store.reminders() if r.person != "bob"}

    # Bob's visa moves a week later and gains a P1D lead time.
    after = config_of(
        tmp_path,
        person("ana"),
        person("bob", visa="2027-03-23", remind='"P30D", "P7D", "P1D", "PT0S"'),
        person("cho"),
    )
    later = NOW + timedelta(hours=1)
    with count_writes(store.engine) as writes:
        stats = await replan(after, store, later)
    assert (stats.changed, stats.unchanged) == (1, 2)
    # Bob's four new visa reminders inserted, the three old ones skipped, his plan row.
    assert (stats.inserted, stats.updated, stats.skipped) == (4, 0, 3)
    assert stats.rows_written == 4 + 3 + 1
    # The stats tell the truth: the rows the database saw written, plus "last_plan"
    # and the plan basis (what a restart compares to skip re-planning).
    assert writes.rows == stats.rows_written + 2

    rows = {r.key: r for r in await store.reminders()}
    for key, row in untouched.items():
        assert rows[key] == row, f"{key} was rewritten"
    bob = {k: r for k, r in rows.items() if r.person == "bob" and r.deadline == "visa"}
    assert {k for k, r in bob.items() if r.status == "pending"} == {
        f"bob/visa/2027-03-23/{o}" for o in ("P30D", "P7D", "P1D", "PT0S")
    }
    for offset in ("P30D", "P7D", "PT0S"):
        old = bob[f"bob/visa/2027-03-16/{offset}"]
        assert (old.status, old.reason, old.updated_at) == ("skipped", NO_LONGER_PLANNED, later)

    # The same edit through the reload path (only the changed people re-planned) is a no-op.
    change = diff_configs(before, after)
    assert change.people(after) == ["bob"]
    assert (await replan(after, store, later, people=change.people(after))).rows_written == 0


async def test_removing_a_person_skips_their_pending_rows_and_keeps_history(
    store: Store, tmp_path: Path
) -> None:
    config = config_of(tmp_path, person("ana"), person("bob"))
    await replan(config, store, NOW)
    # Bob's first SIM reminder went out (2027-01-29 09:00 in Seoul).
    sent_at = datetime(2027, 1, 29, 0, 0, tzinfo=UTC)
    claims = await store.claim_due(sent_at, "test")
    assert {c.key for c in claims} == {"ana/sim/2027-02-01/P3D", "bob/sim/2027-02-01/P3D"}
    await store.mark_sent([(c, SentInfo(at=sent_at, transport="maildir")) for c in claims])

    without_bob = config_of(tmp_path, person("ana"))
    stats = await replan(without_bob, store, sent_at)
    assert stats.changed == 0  # ana's plan is unchanged
    rows = {r.key: r for r in await store.reminders()}
    bob = [r for r in rows.values() if r.person == "bob"]
    assert rows["bob/sim/2027-02-01/P3D"].status == "sent"
    assert len(await store.deliveries("bob/sim/2027-02-01/P3D")) == 1
    others = [r for r in bob if r.key != "bob/sim/2027-02-01/P3D"]
    assert others
    assert {(r.status, r.reason) for r in others} == {("skipped", PERSON_REMOVED)}
    assert {r.status for r in rows.values() if r.person == "ana"} == {"pending", "sent"}

    # The reload path: a diff that names bob as removed does the same, idempotently.
    change = diff_configs(config, without_bob)
    assert change.removed == ["bob"]
    await replan(without_bob, store, sent_at, people=change.people(without_bob))
    assert {r.key: r for r in await store.reminders()} == rows

    # Bob comes back: what is still ahead is pending again; history is still history.
    back = NOW + timedelta(days=20)
    stats = await replan(config, store, back)
    assert stats.restored == len(others)
    rows = {r.key: r for r in await store.reminders()}
    assert rows["bob/sim/2027-02-01/P3D"].status == "sent"
    assert {rows[r.key].status for r in others} == {"pending"}


async def test_history_survives_an_edit_that_drops_the_sent_reminder(
    store: Store, tmp_path: Path
) -> None:
    config = config_of(tmp_path, person("ana"))
    await replan(config, store, NOW)
    due = datetime(2027, 2, 14, 0, 0, tzinfo=UTC)  # P30D of 2027-03-16, 09:00 in Seoul
    claims = [c for c in await store.claim_due(due, "test") if c.deadline == "visa"]
    assert [c.key for c in claims] == ["ana/visa/2027-03-16/P30D"]
    await store.mark_sent([(claims[0], SentInfo(at=due, transport="smtp", code=250))])

    # The visa is renewed: a new date, new reminders; the sent one stays sent.
    renewed = config_of(tmp_path, person("ana", visa="2028-03-16"))
    stats = await replan(renewed, store, due)
    assert stats.skipped == 2  # P7D and PT0S of the old date
    rows = {r.key: r for r in await store.reminders()}
    assert rows["ana/visa/2027-03-16/P30D"].status == "sent"
    assert rows["ana/visa/2027-03-16/P30D"].sent_at == due
    assert rows["ana/visa/2028-03-16/P30D"].status == "pending"
    # Planning far back does not resurrect or rewrite it either.
    await replan(config, store, due + timedelta(days=1))
    rows = {r.key: r for r in await store.reminders()}
    assert rows["ana/visa/2027-03-16/P30D"].status == "sent"
    assert rows["ana/visa/2027-03-16/P7D"].status == "pending"
