"""The dispatcher end to end in one process: plan -> store -> claim -> render -> send.

Time is a FixedClock moved by hand; the store runs on SQLite and PostgreSQL; mail
goes to a real aiosmtpd server through SmtpTransport (or into a Maildir).
"""

from __future__ import annotations

import email
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest

from service import dispatcher
from service.clock import FixedClock
from service.config import Config, load_config
from service.dispatcher import Dispatcher
from service.status import status_snapshot
from service.store import Store
from service.store.queue import DEADLINE_PASSED, SUPERSEDED
from service.store.reconcile import NO_LONGER_PLANNED, PERSON_REMOVED
from service.sync import replan
from service.transport import MaildirTransport, SendResult, SmtpTransport, Transport
from tests.fixtures.smtp import Script, SmtpServer

Start = Callable[..., SmtpServer]

#: When the daemon first planned everything (2027-03-01 09:00 in Seoul).
PLANNED_AT = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
DAY = date(2027, 3, 16)


def seoul_nine(day: date) -> datetime:
    """09:00 in Seoul on ``day``."""
    return datetime(day.year, day.month, day.day, 0, 0, tzinfo=UTC)


def person(pid: str, deadlines: str, emails: tuple[str, ...] | None = None) -> str:
    addresses = ", ".join(f'"{a}"' for a in (emails or (f"{pid}@example.org",)))
    return f'\n[[person]]\nid = "{pid}"\nname = "Person {pid}"\nemail = [{addresses}]\n' + deadlines


def deadline(
    did: str, day: date, remind: list[str], overdue: list[str] | None = None, title: str = ""
) -> str:
    leads = ", ".join(f'"{r}"' for r in remind)
    after = "[" + ", ".join(f'"{o}"' for o in overdue) + "]" if overdue else "false"
    return (
        f'\n  [[person.deadline]]\n  id = "{did}"\n  kind = "custom"\n'
        f'  title = "{title or did}"\n  date = {day.isoformat()}\n'
        f'  remind = [{leads}]\n  overdue = {after}\n  roll = "none"\n'
    )


def write_config(path: Path, people: str, mail: str = "") -> Config:
    path.write_text(
        '[service]\ntimezone = "Asia/Seoul"\nsend_time = "09:00"\n'
        'secret_file = "var/secret"\n' + (mail or '[mail]\ntransport = "maildir"\n') + people,
        encoding="utf-8",
    )
    return load_config(path)


def smtp_mail(server: SmtpServer) -> str:
    return (
        '[mail]\ntransport = "smtp"\nfrom = "staywatch <staywatch@example.org>"\n'
        f'host = "{server.host}"\nport = {server.port}\nsecurity = "none"\ntimeout = 5\n'
    )


@dataclass
class Rig:
    """A dispatcher over a real store and a real SMTP server, on a hand-moved clock."""

    path: Path
    config: Config
    store: Store
    clock: FixedClock
    server: SmtpServer | None
    dispatcher: Dispatcher

    def use(self, config: Config) -> None:
        """Swap the config the dispatcher sees (as a reload would)."""
        self.config = config

    async def statuses(self) -> dict[str, tuple[str, str | None]]:
        return {r.key: (r.status, r.reason) for r in await self.store.reminders()}

    def keys_received(self) -> list[str]:
        assert self.server is not None
        return [str(m.message["X-Staywatch-Key"]) for m in self.server.messages]


@pytest.fixture
async def rig_factory(
    store: Store, smtp_server: Start, tmp_path: Path
) -> AsyncIterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(people: str, *, script: Script | None = None, maildir: bool = False) -> Rig:
        path = tmp_path / "staywatch.toml"
        server = None if maildir else smtp_server("none", script=script)
        config = write_config(path, people, "" if server is None else smtp_mail(server))
        clock = FixedClock(PLANNED_AT)
        transport: Transport
        if server is None:
            transport = MaildirTransport(config.resolve(config.mail.maildir))
        else:
            transport = SmtpTransport(config.mail, None)
        holder: list[Rig] = []
        dispatcher = Dispatcher(
            store=store,
            transport=transport,
            config=lambda: holder[0].config,
            clock=clock,
            owner="test-owner",
        )
        rig = Rig(path, config, store, clock, server, dispatcher)
        holder.append(rig)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.dispatcher.close()


async def planned(rig: Rig) -> None:
    await replan(rig.config, rig.store, rig.clock.now())


def parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


# -- sending once --------------------------------------------------------------------


async def test_a_due_reminder_is_sent_once_with_its_key(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(person("ana", deadline("visa", DAY, ["P7D", "P1D"])))
    await planned(rig)
    key = "ana/visa/2027-03-16/P7D"

    rig.clock.set(seoul_nine(DAY) - timedelta(days=7, seconds=1))
    early = await rig.dispatcher.run_once()
    assert (early.sent, early.failed, early.retried) == (0, 0, 0)

    rig.clock.set(seoul_nine(DAY) - timedelta(days=7))
    stats = await rig.dispatcher.run_once()
    assert (stats.sent, stats.keys) == (1, [key])
    assert rig.server is not None
    [received] = rig.server.messages
    message = received.message
    assert message["Message-ID"] == f"<{key}@example.org>"
    assert message["X-Staywatch-Key"] == key
    assert received.rcpt_tos == ("ana@example.org",)
    assert received.mail_from == "staywatch@example.org"
    statuses = await rig.statuses()
    assert statuses[key] == ("sent", None)
    assert statuses["ana/visa/2027-03-16/P1D"] == ("pending", None)
    [row] = [r for r in await rig.store.reminders() if r.key == key]
    assert (row.sent_at, row.attempts, row.claimed_by) == (rig.clock.now(), 1, None)
    [delivery] = await rig.store.deliveries(key)
    assert (delivery.result, delivery.transport, delivery.code) == ("sent", "smtp", 250)
    assert delivery.message_id == f"<{key}@example.org>"
    assert delivery.at == rig.clock.now()

    again = await rig.dispatcher.run_once()
    assert (again.sent, again.failed, again.retried, again.released) == (0, 0, 0, 0)
    assert len(rig.server.messages) == 1
    assert len(await rig.store.deliveries(key)) == 1


async def test_maildir_delivery_records_the_same_facts(
    rig_factory: Callable[..., Rig], tmp_path: Path
) -> None:
    rig = rig_factory(person("ana", deadline("visa", DAY, ["PT0S"])), maildir=True)
    await planned(rig)
    key = "ana/visa/2027-03-16/PT0S"
    rig.clock.set(seoul_nine(DAY))
    assert (await rig.dispatcher.run_once()).keys == [key]
    assert (await rig.dispatcher.run_once()).sent == 0
    files = sorted((tmp_path / "var" / "mail" / "new").iterdir())
    assert len(files) == 1
    message = parse(files[0].read_bytes())
    assert message["X-Staywatch-Key"] == key
    assert message["Message-ID"] == "<ana/visa/2027-03-16/PT0S@localhost>"
    assert [a for _, a in getaddresses([str(message["To"])])] == ["ana@example.org"]
    [delivery] = await rig.store.deliveries(key)
    assert (delivery.result, delivery.transport) == ("sent", "maildir")
    assert (await rig.statuses())[key] == ("sent", None)


async def test_a_batch_is_rendered_as_send_slots_free_up(
    rig_factory: Callable[..., Rig], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A catch-up after downtime can claim hundreds of reminders at once; holding
    # every rendered message until its turn cost tens of MB.
    people = "".join(person(f"p{i:02}", deadline("visa", DAY, ["PT0S"])) for i in range(12))
    rig = rig_factory(people)
    await planned(rig)
    waiting = most = 0
    render = dispatcher.render_reminder

    def counted_render(*args: Any, **kwargs: Any) -> EmailMessage:
        nonlocal waiting, most
        waiting += 1
        most = max(most, waiting)
        return render(*args, **kwargs)

    inner = rig.dispatcher.transport

    class Counted:
        name = inner.name

        async def send(self, message: EmailMessage) -> SendResult:
            nonlocal waiting
            waiting -= 1
            return await inner.send(message)

        async def close(self) -> None:
            await inner.close()

    monkeypatch.setattr(dispatcher, "render_reminder", counted_render)
    rig.dispatcher.transport = Counted()
    rig.clock.set(seoul_nine(DAY))
    assert (await rig.dispatcher.run_once()).sent == 12
    assert rig.server is not None
    assert len(rig.server.messages) == 12
    assert most <= rig.config.mail.concurrency == 4


# -- missed while down ---------------------------------------------------------------


async def test_downtime_is_coalesced_to_the_latest_reminder_per_occurrence(
    rig_factory: Callable[..., Rig],
) -> None:
    people = person(
        "ana",
        deadline("visa", DAY, ["P14D", "P7D", "P3D", "P1D", "PT0S"])
        # Over before the daemon comes back, no overdue repeats: nothing at all.
        + deadline("gone", date(2027, 3, 10), ["P3D", "PT0S"])
        # Over too, but its overdue repeats are due: the latest of those goes out.
        + deadline("late", date(2027, 3, 12), ["P1D", "PT0S"], overdue=["P1D", "P2D", "P5D"]),
    )
    rig = rig_factory(people)
    await planned(rig)
    rig.clock.set(seoul_nine(DAY) - timedelta(days=14))
    assert (await rig.dispatcher.run_once()).keys == ["ana/visa/2027-03-16/P14D"]
    # Down from 2027-03-04 to 2027-03-14 10:00 (Seoul): ten days without a look.
    rig.clock.set(datetime(2027, 3, 4, 0, 0, tzinfo=UTC))
    assert (await rig.dispatcher.run_once()).sent == 0
    rig.clock.set(datetime(2027, 3, 14, 1, 0, tzinfo=UTC))

    stats = await rig.dispatcher.run_once()
    expected = {"ana/visa/2027-03-16/P3D", "ana/late/2027-03-12/-P2D"}
    assert set(stats.keys) == expected
    assert sorted(rig.keys_received()) == sorted({"ana/visa/2027-03-16/P14D", *expected})
    statuses = await rig.statuses()
    assert statuses["ana/visa/2027-03-16/P14D"] == ("sent", None)
    assert statuses["ana/visa/2027-03-16/P7D"] == ("skipped", SUPERSEDED)
    assert statuses["ana/visa/2027-03-16/P1D"] == ("pending", None)
    assert statuses["ana/visa/2027-03-16/PT0S"] == ("pending", None)
    for key in ("ana/gone/2027-03-10/P3D", "ana/gone/2027-03-10/PT0S"):
        assert statuses[key] == ("skipped", DEADLINE_PASSED)
    assert statuses["ana/late/2027-03-12/P1D"] == ("skipped", DEADLINE_PASSED)
    assert statuses["ana/late/2027-03-12/PT0S"] == ("skipped", DEADLINE_PASSED)
    assert statuses["ana/late/2027-03-12/-P1D"] == ("skipped", SUPERSEDED)
    assert statuses["ana/late/2027-03-12/-P5D"] == ("pending", None)

    # Nothing more until the next one falls due; then exactly that one.
    assert (await rig.dispatcher.run_once()).sent == 0
    rig.clock.set(seoul_nine(DAY) - timedelta(days=1))
    assert (await rig.dispatcher.run_once()).keys == ["ana/visa/2027-03-16/P1D"]
    assert len(rig.keys_received()) == 4


# -- temporary and permanent failures ------------------------------------------------


async def test_temporary_failures_retry_with_backoff(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(person("ana", deadline("visa", DAY, ["P7D"])), script=Script(fail_first=2))
    await planned(rig)
    key = "ana/visa/2027-03-16/P7D"
    first = seoul_nine(DAY) - timedelta(days=7)
    rig.clock.set(first)

    stats = await rig.dispatcher.run_once()
    assert (stats.sent, stats.retried, stats.failed) == (0, 1, 0)
    [row] = [r for r in await rig.store.reminders() if r.key == key]
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt == first + timedelta(seconds=30)
    assert row.last_error is not None
    assert "451" in row.last_error
    assert row.claimed_by is None
    assert await rig.store.next_due_at() == first + timedelta(seconds=30)

    # Not before the retry is due.
    rig.clock.set(first + timedelta(seconds=29))
    assert (await rig.dispatcher.run_once()).retried == 0
    rig.clock.set(first + timedelta(seconds=30))
    assert (await rig.dispatcher.run_once()).retried == 1
    [row] = [r for r in await rig.store.reminders() if r.key == key]
    assert row.next_attempt == first + timedelta(seconds=90)  # 30 s, then 60 s

    rig.clock.set(first + timedelta(seconds=90))
    stats = await rig.dispatcher.run_once()
    assert (stats.sent, stats.keys) == (1, [key])
    assert rig.server is not None
    assert rig.server.handler.data_commands == 3
    assert rig.keys_received() == [key]
    assert (await rig.statuses())[key] == ("sent", None)
    log = await rig.store.deliveries(key)
    assert [(d.result, d.code) for d in log] == [("retry", 451), ("retry", 451), ("sent", 250)]
    assert [d.at for d in log] == [first + timedelta(seconds=s) for s in (0, 30, 90)]
    assert all("451" in (d.reply or "") for d in log[:2])


async def test_temporary_failures_give_up_when_the_deadline_passes(
    rig_factory: Callable[..., Rig],
) -> None:
    script = Script(fail_first=1000)
    rig = rig_factory(person("ana", deadline("visa", DAY, ["PT0S"])), script=script)
    await planned(rig)
    key = "ana/visa/2027-03-16/PT0S"
    # 23:59:50 in Seoul on the day: the next attempt would be after the day ends.
    rig.clock.set(seoul_nine(DAY) + timedelta(hours=14, minutes=59, seconds=50))
    stats = await rig.dispatcher.run_once()
    assert (stats.sent, stats.retried, stats.failed) == (0, 0, 1)
    [row] = [r for r in await rig.store.reminders() if r.key == key]
    assert row.status == "failed"
    assert row.reason is not None
    assert row.reason.startswith("gave up when the deadline passed")


async def test_a_permanent_failure_is_tried_once_and_reported(
    rig_factory: Callable[..., Rig],
) -> None:
    script = Script(data_reply="550 5.7.1 Message rejected by policy")
    rig = rig_factory(person("ana", deadline("visa", DAY, ["P7D", "P1D"])), script=script)
    await planned(rig)
    key = "ana/visa/2027-03-16/P7D"
    rig.clock.set(seoul_nine(DAY) - timedelta(days=7))

    stats = await rig.dispatcher.run_once()
    assert (stats.sent, stats.retried, stats.failed) == (0, 0, 1)
    assert (await rig.dispatcher.run_once()).failed == 0
    rig.clock.set(rig.clock.now() + timedelta(hours=1))
    assert (await rig.dispatcher.run_once()).failed == 0
    assert rig.server is not None
    assert rig.server.handler.data_commands == 1
    assert rig.server.messages == []

    status, reason = (await rig.statuses())[key]
    assert status == "failed"
    assert reason is not None
    assert "550 5.7.1 Message rejected by policy" in reason
    [delivery] = await rig.store.deliveries(key)
    assert (delivery.result, delivery.code) == ("failed", 550)

    snapshot = await status_snapshot(rig.path, config=rig.config, store=rig.store, clock=rig.clock)
    assert (snapshot["failed"], snapshot["sent"], snapshot["pending"]) == (1, 0, 1)
    assert snapshot["config_ok"] is True
    [failure] = snapshot["failures"]
    assert failure["key"] == key
    assert "550 5.7.1 Message rejected by policy" in failure["reason"]


async def test_one_refused_recipient_does_not_stop_the_other(
    rig_factory: Callable[..., Rig],
) -> None:
    script = Script(refuse={"bad@example.org": "550 5.1.1 No such user here"})
    people = person(
        "ana", deadline("visa", DAY, ["P7D"]), emails=("bad@example.org", "good@example.org")
    )
    rig = rig_factory(people, script=script)
    await planned(rig)
    key = "ana/visa/2027-03-16/P7D"
    rig.clock.set(seoul_nine(DAY) - timedelta(days=7))

    stats = await rig.dispatcher.run_once()
    assert (stats.sent, stats.failed) == (1, 0)
    assert rig.server is not None
    [received] = rig.server.messages
    assert received.rcpt_tos == ("good@example.org",)
    assert (await rig.statuses())[key] == ("sent", None)
    [delivery] = await rig.store.deliveries(key)
    assert delivery.result == "sent"
    assert delivery.reply is not None
    assert "refused bad@example.org: 550" in delivery.reply
    assert "No such user here" in delivery.reply


# -- what must not be sent -----------------------------------------------------------


async def test_an_acknowledged_occurrence_gets_nothing(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(
        person("ana", deadline("visa", DAY, ["P7D", "P1D"]) + deadline("tax", DAY, ["P7D"]))
    )
    await planned(rig)
    stopped = await rig.store.acknowledge(
        "ana/visa/2027-03-16",
        person="ana",
        deadline="visa",
        occurrence_date=DAY,
        by="cli",
        at=rig.clock.now(),
    )
    assert stopped == 2
    rig.clock.set(seoul_nine(DAY))
    stats = await rig.dispatcher.run_once()
    assert stats.keys == ["ana/tax/2027-03-16/P7D"]
    assert rig.keys_received() == ["ana/tax/2027-03-16/P7D"]
    statuses = await rig.statuses()
    assert statuses["ana/visa/2027-03-16/P7D"][0] == "acknowledged"
    assert statuses["ana/visa/2027-03-16/P1D"][0] == "acknowledged"
    # A re-plan keeps them acknowledged.
    await planned(rig)
    assert (await rig.dispatcher.run_once()).sent == 0


async def test_rows_of_a_removed_person_are_skipped_after_one_round(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(
        person("ana", deadline("visa", DAY, ["P7D"]))
        + person("bob", deadline("visa", DAY, ["P7D", "P1D"]))
    )
    await planned(rig)
    # Bob leaves the config but nothing re-planned yet (a reload still on its way).
    rig.use(
        write_config(rig.path, person("ana", deadline("visa", DAY, ["P7D"])), smtp_mail_of(rig))
    )
    rig.clock.set(seoul_nine(DAY) - timedelta(days=7))

    stats = await rig.dispatcher.run_once()
    assert (stats.keys, stats.released) == (["ana/visa/2027-03-16/P7D"], 1)
    assert rig.keys_received() == ["ana/visa/2027-03-16/P7D"]
    statuses = await rig.statuses()
    assert statuses["bob/visa/2027-03-16/P7D"] == ("skipped", PERSON_REMOVED)
    assert statuses["bob/visa/2027-03-16/P1D"] == ("skipped", PERSON_REMOVED)

    again = await rig.dispatcher.run_once()
    assert (again.sent, again.released) == (0, 0)
    rig.clock.set(seoul_nine(DAY))
    assert (await rig.dispatcher.run_once()).released == 0
    assert len(rig.keys_received()) == 1


async def test_rows_of_a_removed_deadline_are_skipped_after_one_round(
    rig_factory: Callable[..., Rig],
) -> None:
    rig = rig_factory(person("ana", deadline("visa", DAY, ["P7D"]) + deadline("tax", DAY, ["P7D"])))
    await planned(rig)
    rig.use(
        write_config(rig.path, person("ana", deadline("visa", DAY, ["P7D"])), smtp_mail_of(rig))
    )
    rig.clock.set(seoul_nine(DAY) - timedelta(days=7))

    stats = await rig.dispatcher.run_once()
    assert (stats.keys, stats.released) == (["ana/visa/2027-03-16/P7D"], 1)
    assert (await rig.statuses())["ana/tax/2027-03-16/P7D"] == ("skipped", NO_LONGER_PLANNED)
    again = await rig.dispatcher.run_once()
    assert (again.sent, again.released) == (0, 0)
    assert rig.keys_received() == ["ana/visa/2027-03-16/P7D"]


def smtp_mail_of(rig: Rig) -> str:
    assert rig.server is not None
    return smtp_mail(rig.server)


async def test_stale_overdue_row_outside_the_store_window_is_not_claimed_again_and_again(
    rig_factory: Callable[..., Rig],
) -> None:
    late = date(2027, 3, 10)
    visa = deadline("visa", DAY, ["P1D"])
    rig = rig_factory(person("ana", visa + deadline("late", late, ["PT0S"], overdue=["P3D"])))
    await planned(rig)
    # 2027-03-13 10:00 in Seoul: the -P3D repeat of the 10th is due. The deadline is removed
    # and the reload re-plans ana (as Daemon._apply does) before the dispatcher looks.
    rig.clock.set(datetime(2027, 3, 13, 1, 0, tzinfo=UTC))
    rig.use(write_config(rig.path, person("ana", visa), smtp_mail_of(rig)))
    await replan(rig.config, rig.store, rig.clock.now(), people=["ana"])

    first = await rig.dispatcher.run_once()
    second = await rig.dispatcher.run_once()
    assert rig.keys_received() == []
    assert (first.released, second.released) == (1, 0), "claimed and released every round"
    status, _ = (await rig.statuses())["ana/late/2027-03-10/-P3D"]
    assert status == "skipped"
    next_due = await rig.store.next_due_at()
    assert next_due is None or next_due > rig.clock.now(), "the daemon would wake at once, forever"
