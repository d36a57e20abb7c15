"""Reminders through channels, end to end: plan -> store -> claim -> Apprise -> HTTP.

A real aiohttp receiver stands behind ``json://127.0.0.1:PORT/hook/{to}``; mail
goes to a real aiosmtpd server; the store runs on SQLite and PostgreSQL; time is
a FixedClock moved by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from service.offices import digest_content, office_rows
from service.plan import plan
from service.render import plain_text, render_digest
from service.sync import replan
from tests.fixtures.receiver import Receiver
from tests.integration.test_dispatcher import (
    DAY,
    Rig,
    deadline,
    person,
    rig_factory,
    seoul_nine,
)

__all__ = ["rig_factory"]  # the fixture, used by name below


def hook(port: int, *, extra: str = "") -> str:
    return f'\n[[channel]]\nid = "hook"\nurl = "json://127.0.0.1:{port}/hook/{{to}}"\n{extra}'


def wang(
    port: int, *, email_reminders: bool = False, remind: tuple[str, ...] = ("P7D", "P1D")
) -> str:
    body = (
        'language = "zh"\nnotify = { hook = "wang" }\n'
        f"email_reminders = {'true' if email_reminders else 'false'}\n"
    )
    return hook(port) + person("wang", body + deadline("visa", DAY, list(remind), title="签证"))


async def test_webhook_only_person_gets_each_reminder_once_on_time_in_their_language(
    rig_factory: Callable[..., Rig], receiver: Receiver
) -> None:
    rig = rig_factory(wang(receiver.port))
    await replan(rig.config, rig.store, rig.clock.now())
    for lead in (timedelta(days=7), timedelta(days=1)):
        rig.clock.set(seoul_nine(DAY) - lead - timedelta(seconds=1))
        assert (await rig.dispatcher.run_once()).sent == 0
        rig.clock.set(seoul_nine(DAY) - lead)
        stats = await rig.dispatcher.run_once()
        assert stats.sent == 1
        # Nothing more to send, however often the dispatcher runs.
        assert (await rig.dispatcher.run_once()).sent == 0
    assert receiver.paths() == ["/hook/wang", "/hook/wang"]
    first, second = (r.body for r in receiver.requests)
    assert first["title"] == "【还剩7天】签证：3月16日（周二）截止"
    assert second["title"] == "【还剩1天】签证：3月16日（周二）截止"
    lines = first["message"].split("\n")
    assert lines[0] == "签证的截止日期是2027年3月16日（星期二）。距今还有7天。"
    assert lines[1].startswith("已经办好了吗？请在这里告诉我们：http://127.0.0.1:8780/act/")
    assert "/calendar/" in first["message"]  # the subscribe page, in the first message only
    assert "/calendar/" not in second["message"]
    assert rig.server is not None
    assert rig.server.messages == []  # never by email
    statuses = await rig.statuses()
    assert statuses["wang/visa/2027-03-16/P7D"] == ("sent", None)
    channels = await rig.store.channels(["wang/visa/2027-03-16/P7D"])
    assert channels["wang/visa/2027-03-16/P7D"] == [
        {"channel": "hook", "status": "sent", "target": "wang"}
    ]
    [delivery] = await rig.store.deliveries("wang/visa/2027-03-16/P7D")
    assert (delivery.result, delivery.transport) == ("sent", "apprise")


async def test_500_is_retried_with_backoff_then_delivered(
    rig_factory: Callable[..., Rig], receiver: Receiver
) -> None:
    rig = rig_factory(wang(receiver.port, remind=("P7D",)))
    key = "wang/visa/2027-03-16/P7D"
    await replan(rig.config, rig.store, rig.clock.now())
    receiver.script("/hook/wang", 500, 500)
    due = seoul_nine(DAY) - timedelta(days=7)
    rig.clock.set(due)
    assert (await rig.dispatcher.run_once()).retried == 1
    [row] = await rig.store.targets(key)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt == due + timedelta(seconds=30)
    assert "error=500" in (row.last_error or "")

    rig.clock.set(due + timedelta(seconds=29))
    assert (await rig.dispatcher.run_once()).retried == 0
    assert len(receiver.requests) == 1  # not before its backoff

    rig.clock.set(due + timedelta(seconds=30))
    assert (await rig.dispatcher.run_once()).retried == 1
    [row] = await rig.store.targets(key)
    assert row.next_attempt == due + timedelta(seconds=30 + 60)

    rig.clock.set(due + timedelta(seconds=90))
    assert (await rig.dispatcher.run_once()).sent == 1
    assert [r.status for r in receiver.requests] == [500, 500, 200]
    assert (await rig.statuses())[key] == ("sent", None)
    assert (await rig.dispatcher.run_once()).sent == 0
    assert len(receiver.requests) == 3


async def test_404_fails_the_channel_while_email_still_goes_out(
    rig_factory: Callable[..., Rig], receiver: Receiver
) -> None:
    rig = rig_factory(wang(receiver.port, email_reminders=True, remind=("P7D",)))
    key = "wang/visa/2027-03-16/P7D"
    await replan(rig.config, rig.store, rig.clock.now())
    receiver.script("/hook/wang", 404)
    rig.clock.set(seoul_nine(DAY) - timedelta(days=7))
    await rig.dispatcher.run_once()
    assert len(receiver.requests) == 1
    assert rig.keys_received() == [key]
    assert (await rig.statuses())[key][0] == "sent"
    channels = {c["channel"]: c["status"] for c in (await rig.store.channels([key]))[key]}
    assert channels == {"email": "sent", "hook": "failed"}
    hook_row = next(r for r in await rig.store.targets(key) if r.channel == "hook")
    assert "error=404" in (hook_row.reason or hook_row.last_error or "")
    # Failed for good: never tried again.
    rig.clock.set(seoul_nine(DAY) - timedelta(days=6))
    await rig.dispatcher.run_once()
    assert len(receiver.requests) == 1


async def test_exactly_one_request_per_reminder_and_target(
    rig_factory: Callable[..., Rig], receiver: Receiver
) -> None:
    people = hook(receiver.port) + "".join(
        person(
            f"p{i}",
            f'notify = {{ hook = "p{i}" }}\nemail_reminders = false\n'
            + deadline("visa", DAY, ["P7D"]),
        )
        for i in range(20)
    )
    rig = rig_factory(people)
    await replan(rig.config, rig.store, rig.clock.now())
    rig.clock.set(seoul_nine(DAY) - timedelta(days=7))
    assert (await rig.dispatcher.run_once()).sent == 20
    assert (await rig.dispatcher.run_once()).sent == 0
    assert sorted(receiver.paths()) == sorted(f"/hook/p{i}" for i in range(20))


async def test_email_rendered_ahead_and_the_channel_both_go_out(
    rig_factory: Callable[..., Rig], receiver: Receiver
) -> None:
    rig = rig_factory(wang(receiver.port, email_reminders=True, remind=("P7D",)))
    key = "wang/visa/2027-03-16/P7D"
    await replan(rig.config, rig.store, rig.clock.now())
    due = seoul_nine(DAY) - timedelta(days=7)
    rig.clock.set(due - timedelta(minutes=1))
    assert await rig.dispatcher.prepare(due + timedelta(minutes=1)) == 1
    rig.clock.set(due)
    await rig.dispatcher.run_once()
    assert rig.keys_received() == [key]
    assert receiver.paths() == ["/hook/wang"]
    channels = {c["channel"]: c["status"] for c in (await rig.store.channels([key]))[key]}
    assert channels == {"email": "sent", "hook": "sent"}


OFFICE = """
[[office]]
id = "hr"
name = "HR"
email = ["hr@example.org"]
people = ["*"]
digest = "daily 09:00"
digest_empty = true
notify = {{ hr = "" }}
"""


async def test_office_gets_escalations_and_digests_in_its_channel(
    rig_factory: Callable[..., Rig], receiver: Receiver
) -> None:
    channel = (
        f'\n[[channel]]\nid = "hr"\nurl = "json://127.0.0.1:{receiver.port}/hr"\nformat = "full"\n'
    )
    body = deadline("visa", DAY, ["P7D"]).replace(
        'roll = "none"\n', 'roll = "none"\n  escalate = "P3D"\n'
    )
    rig = rig_factory(channel + OFFICE.format() + person("ana", body))
    await replan(rig.config, rig.store, rig.clock.now())
    [occurrence] = [o for o in plan(rig.config, DAY, DAY) if o.person == "ana"]
    [escalation] = occurrence.escalations
    rig.clock.set(escalation.due)
    await rig.dispatcher.run_once()
    assert f"{escalation.key}" in rig.keys_received()
    hr = [r for r in receiver.requests if r.path == "/hr"]
    assert len(hr) == 1
    assert "Person ana" in hr[0].body["message"]  # the escalation email's text
    channels = {
        c["channel"]: c["status"]
        for c in (await rig.store.channels([escalation.key]))[escalation.key]
    }
    assert channels == {"email": "sent", "hr": "sent"}

    rig.clock.set(seoul_nine(DAY))
    assert await rig.dispatcher.send_digests() == 1
    hr = [r for r in receiver.requests if r.path == "/hr"]
    assert len(hr) == 2
    assert hr[1].body["title"]
    # Once per period.
    assert await rig.dispatcher.send_digests() == 0
    assert len([r for r in receiver.requests if r.path == "/hr"]) == 2


async def test_the_digest_lists_a_channel_that_failed_behind_a_sent_email(
    rig_factory: Callable[..., Rig], receiver: Receiver
) -> None:
    office = OFFICE.format().replace('notify = { hr = "" }\n', "")
    rig = rig_factory(wang(receiver.port, email_reminders=True, remind=("P7D",)) + office)
    key = "wang/visa/2027-03-16/P7D"
    await replan(rig.config, rig.store, rig.clock.now())
    receiver.script("/hook/wang", 403)
    rig.clock.set(seoul_nine(DAY) - timedelta(days=7))
    await rig.dispatcher.run_once()
    assert (await rig.statuses())[key][0] == "sent"  # the email went out

    hr = rig.config.office("hr")
    assert hr is not None
    now = rig.clock.now()
    content = await digest_content(rig.config, rig.store, hr, period=now, since=None, now=now)
    [failure] = content.failures
    assert failure.key == key
    assert failure.reason is not None
    assert failure.reason.startswith("hook wang: json://127.0.0.1: ")
    assert "error=403" in failure.reason
    text = plain_text(render_digest(rig.config, content, now=now, dashboard_url=None)).body
    assert "error=403" in text
    # The dashboard's row of that date says which channel did not deliver.
    rows = await office_rows(rig.config, rig.store, hr, now.date())
    [row] = [r for r in rows if r.deadline == "visa"]
    assert (row.status, row.failed_channels) == ("sent", ("hook",))
    # Only failures after the last digest.
    later = await digest_content(
        rig.config, rig.store, hr, period=now, since=now + timedelta(seconds=1), now=now
    )
    assert later.failures == []
