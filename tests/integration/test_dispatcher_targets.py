"""One bad reminder never stops a batch; recipients get their own copy (real SMTP, both stores)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from service.config import Config
from service.offices import digest_content
from service.publish import secret_of
from service.status import public_health, status_snapshot
from service.tokens import verify_action
from tests.integration.test_dispatcher import (
    DAY,
    Rig,
    deadline,
    person,
    planned,
    rig_factory,
    seoul_nine,
)

__all__ = ["rig_factory"]  # the fixture, shared with test_dispatcher


def _with_person(config: Config, pid: str, **update: Any) -> Config:
    """``config`` with one person's fields replaced, below validation (as a bug could)."""
    people = [p.model_copy(update=update) if p.id == pid else p for p in config.people]
    crafted = config.model_copy(update={"people": type(config.people)(people)})
    crafted.__dict__.pop("_people_index", None)
    return crafted


OFFICE = """
[[office]]
id = "intl"
name = "International Office"
email = ["office@uni.example.org"]
people = ["*"]
digest = "daily"
"""


async def test_a_reminder_that_cannot_be_rendered_fails_alone(
    rig_factory: Callable[..., Rig],
) -> None:
    people = "".join(
        person(pid, deadline("visa", DAY, ["P7D", "P1D"])) for pid in ("ana", "bob", "cai", "dan")
    )
    rig = rig_factory(people)
    await planned(rig)
    # "Bob <bob@corp.local>" is what an old check let through: Address() raises on it.
    rig.use(_with_person(rig.config, "bob", email=("Bob <bob@corp.local>",)))
    rig.clock.set(seoul_nine(DAY - timedelta(days=7)))

    stats = await rig.dispatcher.run_once()

    assert sorted(rig.keys_received()) == [
        "ana/visa/2027-03-16/P7D",
        "cai/visa/2027-03-16/P7D",
        "dan/visa/2027-03-16/P7D",
    ]
    assert (stats.sent, stats.failed) == (3, 1)
    statuses = await rig.statuses()
    status, reason = statuses["bob/visa/2027-03-16/P7D"]
    assert status == "failed"
    assert reason is not None
    assert reason.startswith("could not render: ")
    assert all(statuses[f"{p}/visa/2027-03-16/P7D"][0] == "sent" for p in ("ana", "cai", "dan"))

    # Nothing goes out twice, and the failure shows where people look.
    assert (await rig.dispatcher.run_once()).sent == 0
    assert len(rig.keys_received()) == 3
    snapshot = await status_snapshot(rig.path, config=rig.config, store=rig.store, clock=rig.clock)
    assert public_health({**snapshot, "db": True})["failed"] == 1
    [failure] = snapshot["failures"]
    assert failure["key"] == "bob/visa/2027-03-16/P7D"
    assert failure["reason"].startswith("could not render: ")
    assert failure["channels"] == [{"channel": "email", "status": "failed"}]

    # The daemon goes on: the next reminders are sent when due, bob's included once fixed.
    rig.use(_with_person(rig.config, "bob", email=("bob@example.org",)))
    rig.clock.set(seoul_nine(DAY - timedelta(days=1)))
    later = await rig.dispatcher.run_once()
    assert sorted(later.keys) == [f"{p}/visa/2027-03-16/P1D" for p in ("ana", "bob", "cai", "dan")]


async def test_an_unexpected_send_error_fails_that_reminder_only(
    rig_factory: Callable[..., Rig],
) -> None:
    people = "".join(person(pid, deadline("visa", DAY, ["P7D"])) for pid in ("ana", "bob"))
    rig = rig_factory(people)
    await planned(rig)
    transport = rig.dispatcher.transport
    real_send = transport.send

    async def send(message: Any) -> Any:
        if str(message["X-Staywatch-Key"]).startswith("bob/"):
            raise RuntimeError("connection object in a bad state")
        return await real_send(message)

    transport.send = send  # type: ignore[method-assign]
    rig.clock.set(seoul_nine(DAY - timedelta(days=7)))
    stats = await rig.dispatcher.run_once()
    assert rig.keys_received() == ["ana/visa/2027-03-16/P7D"]
    assert (stats.sent, stats.failed) == (1, 1)
    status, reason = (await rig.statuses())["bob/visa/2027-03-16/P7D"]
    assert status == "failed"
    assert reason == "could not send: RuntimeError: connection object in a bad state"


async def test_recipients_get_their_own_copy_without_the_calendar(
    rig_factory: Callable[..., Rig],
) -> None:
    visa = (
        deadline("visa", DAY, ["P7D"]) + '  recipients = ["hr@corp.example", "ops@corp.example"]\n'
    )
    rig = rig_factory(person("ana", visa) + OFFICE)
    await planned(rig)
    rig.clock.set(seoul_nine(DAY - timedelta(days=7)))
    key = "ana/visa/2027-03-16/P7D"

    stats = await rig.dispatcher.run_once()
    assert stats.keys == [key]
    assert rig.server is not None
    by_rcpt = {m.rcpt_tos: m.message for m in rig.server.messages}
    assert set(by_rcpt) == {("ana@example.org",), ("hr@corp.example",), ("ops@corp.example",)}
    own = by_rcpt[("ana@example.org",)]
    assert own["Cc"] is None
    assert own["Message-ID"] == f"<{key}@example.org>"
    ids = set()
    for rcpt in ("hr@corp.example", "ops@corp.example"):
        copy = by_rcpt[(rcpt,)]
        assert [a.addr_spec for a in copy["To"].addresses] == [rcpt]
        assert copy["Cc"] is None
        assert str(copy["Message-ID"]).startswith(f"<{key}+cc-")
        ids.add(str(copy["Message-ID"]))
        body = copy.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "/calendar/" not in text
        assert "webcal://" not in text
        # Its acknowledge link names the recipient.
        signed = text.split("/act/")[1].split()[0]
        secret = secret_of(rig.config)
        claim = verify_action(secret, signed, rig.clock.now())
        assert claim.by == rcpt
    assert len(ids) == 2
    own_body = own.get_body(("plain",))
    assert own_body is not None
    assert "/calendar/" in own_body.get_content()

    assert (await rig.store.channels([key]))[key] == [
        {"channel": "email", "status": "sent"},
        {"channel": "email", "status": "sent", "target": "hr@corp.example"},
        {"channel": "email", "status": "sent", "target": "ops@corp.example"},
    ]
    assert {(d.target, d.result) for d in await rig.store.deliveries(key)} == {
        ("", "sent"),
        ("hr@corp.example", "sent"),
        ("ops@corp.example", "sent"),
    }
    assert (await rig.dispatcher.run_once()).sent == 0
    assert len(rig.server.messages) == 3


async def test_a_refused_recipient_copy_does_not_fail_the_reminder(
    rig_factory: Callable[..., Rig],
) -> None:
    from tests.fixtures.smtp import Script

    visa = deadline("visa", DAY, ["P7D"]) + '  recipients = ["gone@corp.example"]\n'
    script = Script(refuse={"gone@corp.example": "550 5.1.1 No such user here"})
    rig = rig_factory(person("ana", visa), script=script)
    await planned(rig)
    rig.clock.set(seoul_nine(DAY - timedelta(days=7)))
    key = "ana/visa/2027-03-16/P7D"
    stats = await rig.dispatcher.run_once()
    assert (stats.sent, stats.failed) == (1, 1)
    assert (await rig.statuses())[key][0] == "sent"
    assert (await rig.store.channels([key]))[key] == [
        {"channel": "email", "status": "sent"},
        {"channel": "email", "status": "failed", "target": "gone@corp.example"},
    ]


async def test_a_temporary_failure_of_one_copy_retries_only_that_copy(
    rig_factory: Callable[..., Rig],
) -> None:
    from tests.fixtures.smtp import Script

    visa = deadline("visa", DAY, ["P7D"]) + '  recipients = ["hr@corp.example"]\n'
    script = Script(refuse={"hr@corp.example": "451 4.3.0 Try again later"})
    rig = rig_factory(person("ana", visa), script=script)
    await planned(rig)
    rig.clock.set(seoul_nine(DAY - timedelta(days=7)))
    key = "ana/visa/2027-03-16/P7D"
    stats = await rig.dispatcher.run_once()
    assert (stats.sent, stats.retried) == (1, 1)
    assert (await rig.statuses())[key][0] == "pending"
    assert rig.server is not None
    script.refuse.clear()
    rig.clock.set(rig.clock.now() + timedelta(hours=2))
    again = await rig.dispatcher.run_once()
    assert (again.sent, again.retried) == (1, 0)
    assert (await rig.statuses())[key][0] == "sent"
    received = [m.rcpt_tos for m in rig.server.messages]
    assert sorted(received) == [("ana@example.org",), ("hr@corp.example",)]


async def test_the_digest_lists_a_reminder_that_could_not_be_rendered(
    rig_factory: Callable[..., Rig],
) -> None:
    people = "".join(person(pid, deadline("visa", DAY, ["P7D"])) for pid in ("ana", "bob"))
    rig = rig_factory(people + OFFICE)
    await planned(rig)
    rig.use(_with_person(rig.config, "bob", email=("Bob <bob@corp.local>",)))
    rig.clock.set(seoul_nine(DAY - timedelta(days=7)))
    await rig.dispatcher.run_once()
    office = rig.config.offices[0]
    content = await digest_content(
        rig.config, rig.store, office, period=rig.clock.now(), since=None, now=rig.clock.now()
    )
    assert [r.key for r in content.failures] == ["bob/visa/2027-03-16/P7D"]


async def test_a_message_rendered_ahead_still_leaves_the_copies_to_be_rendered(
    rig_factory: Callable[..., Rig],
) -> None:
    visa = deadline("visa", DAY, ["P7D"]) + '  recipients = ["hr@corp.example"]\n'
    rig = rig_factory(person("ana", visa))
    await planned(rig)
    due = seoul_nine(DAY - timedelta(days=7))
    rig.clock.set(due - timedelta(minutes=1))
    assert await rig.dispatcher.prepare(due + timedelta(minutes=1)) == 1
    rig.clock.set(due)
    stats = await rig.dispatcher.run_once()
    assert (stats.sent, stats.failed) == (2, 0)
    assert rig.server is not None
    assert sorted(m.rcpt_tos for m in rig.server.messages) == [
        ("ana@example.org",),
        ("hr@corp.example",),
    ]
