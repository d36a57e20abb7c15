"""Per-target deliveries on SQLite and PostgreSQL: the migration, open, record, settle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from alembic import command
from sqlalchemy import Connection, text

from service.store import Outcome, Store
from service.store.db import alembic_config, migrate
from service.store.models import EMAIL, OWN
from tests.fixtures.db import person_toml, plan_of
from tests.integration.test_store import _diff

NOW = datetime(2027, 1, 10, 0, 0, tzinfo=UTC)
VISA = ("2027-03-16", ["P30D", "P7D", "P1D", "PT0S"], [])
DUE = datetime(2027, 2, 14, 0, 0, tzinfo=UTC)

_REMINDER = (
    "INSERT INTO reminders (key, person, deadline, kind, occurrence, occurrence_date,"
    ' "offset", due, ends, overdue, closed_notice, status, reason, attempts, next_attempt,'
    " last_error, sent_at, created_at, updated_at) VALUES (:key, 'ana', 'visa', 'custom',"
    " 'ana/visa/2027-03-16', :day, :offset, :due, :ends, :f, :f, :status, :reason,"
    " :attempts, :next, :error, :sent, :due, :due)"
)
_ATTEMPT = (
    "INSERT INTO deliveries (key, at, transport, result, code, reply, message_id)"
    " VALUES (:key, :at, 'smtp', :result, :code, :reply, :mid)"
)


def _at(conn: Connection, when: datetime | None) -> object:
    if when is None:
        return None
    # What UTCDateTime stores: naive UTC text on SQLite, timestamptz on PostgreSQL.
    return when.replace(tzinfo=None) if conn.dialect.name == "sqlite" else when


def _old_history(conn: Connection) -> None:
    """Reminders and attempts as schema 0003 held them: sent, failed, retrying, pending."""
    command.upgrade(alembic_config(conn), "0003_feed_changed_at")
    day = date(2027, 3, 16)
    ends = _at(conn, datetime(2027, 3, 17, tzinfo=UTC))
    rows = [
        ("ana/visa/2027-03-16/P30D", "P30D", "sent", None, 2, None, None, DUE),
        ("ana/visa/2027-03-16/P7D", "P7D", "failed", "550 no such user", 1, None, "550", None),
        ("ana/visa/2027-03-16/P1D", "P1D", "pending", None, 3, DUE, "421 busy", None),
        ("ana/visa/2027-03-16/PT0S", "PT0S", "pending", None, 0, None, None, None),
    ]
    for key, offset, status, reason, attempts, nxt, error, sent in rows:
        conn.execute(
            text(_REMINDER),
            {
                "key": key,
                "day": day,
                "offset": offset,
                "due": _at(conn, DUE),
                "ends": ends,
                "f": False,
                "status": status,
                "reason": reason,
                "attempts": attempts,
                "next": _at(conn, nxt),
                "error": error,
                "sent": _at(conn, sent),
            },
        )
    attempts = [
        ("ana/visa/2027-03-16/P30D", DUE - timedelta(minutes=5), "retry", 421, "busy", None),
        ("ana/visa/2027-03-16/P30D", DUE, "sent", 250, "250 ok", "<P30D@x>"),
        ("ana/visa/2027-03-16/P7D", DUE, "failed", 550, "550 no such user", None),
        ("ana/visa/2027-03-16/P1D", DUE, "retry", 421, "421 busy", None),
    ]
    for key, at, result, code, reply, mid in attempts:
        conn.execute(
            text(_ATTEMPT),
            {
                "key": key,
                "at": _at(conn, at),
                "result": result,
                "code": code,
                "reply": reply,
                "mid": mid,
            },
        )
    conn.execute(
        text(
            "INSERT INTO acknowledgements (occurrence, person, deadline, occurrence_date, at, by)"
            " VALUES ('ana/other/2027-03-16', 'ana', 'other', :day, :at, 'link')"
        ),
        {"day": day, "at": _at(conn, DUE)},
    )


async def test_migration_moves_history_to_email_deliveries(blank_db_url: str) -> None:
    store = await Store.open(blank_db_url, migrate=False)
    try:
        async with store.engine.connect() as conn:
            await conn.run_sync(_old_history)
            await conn.commit()
        before = {r.key: r for r in await _raw_reminders(store)}
        await migrate(store.engine)
        async with store.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []

        # The reminders themselves are untouched.
        assert {r.key: r for r in await _raw_reminders(store)} == before
        sent = await store.targets("ana/visa/2027-03-16/P30D")
        assert [(t.channel, t.target, t.status, t.attempts) for t in sent] == [
            (EMAIL, OWN, "sent", 2)
        ]
        assert sent[0].message_id == "<P30D@x>"
        assert sent[0].sent_at == DUE
        [failed] = await store.targets("ana/visa/2027-03-16/P7D")
        assert (failed.status, failed.reason) == ("failed", "550 no such user")
        [retrying] = await store.targets("ana/visa/2027-03-16/P1D")
        assert (retrying.status, retrying.attempts, retrying.next_attempt) == ("pending", 3, DUE)
        assert retrying.last_error == "421 busy"
        assert await store.targets("ana/visa/2027-03-16/PT0S") == []

        # Every logged attempt is kept, as an attempt of the person's email.
        log = await store.deliveries("ana/visa/2027-03-16/P30D")
        assert [(d.result, d.channel, d.target) for d in log] == [
            ("retry", EMAIL, OWN),
            ("sent", EMAIL, OWN),
        ]
        assert len(await store.deliveries("ana/visa/2027-03-16/P1D")) == 1
        channels = await store.channels(list(before))
        assert channels["ana/visa/2027-03-16/P30D"] == [{"channel": "email", "status": "sent"}]
        assert channels["ana/visa/2027-03-16/P7D"] == [{"channel": "email", "status": "failed"}]
        assert "ana/visa/2027-03-16/PT0S" not in channels
        assert await store.acknowledged_since(None) == [("ana/other/2027-03-16", DUE, "link")]
        # The old status counts are what they were.
        assert (await store.counts())["sent"] == 1
        assert (await store.counts())["failed"] == 1
    finally:
        await store.close()


async def _raw_reminders(store: Store) -> list[object]:
    return list(await store.reminders())


async def _one_claim(store: Store) -> Store:
    occurrences = plan_of(person_toml("ana", {"visa": VISA}), date(2027, 1, 1), date(2027, 12, 31))
    await store.reconcile(occurrences, people=["ana"], window_start=date(2027, 1, 1), now=NOW)
    return store


def _outcome(claim: object, target: str, result: str, **kw: object) -> Outcome:
    from service.store import Claim

    assert isinstance(claim, Claim)
    return Outcome(
        claim=claim,
        channel=EMAIL,
        target=target,
        result=result,
        at=DUE,
        transport="smtp",
        reply=kw.pop("reply", None),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


async def test_a_reminder_is_sent_when_one_target_was_and_the_rest_failed(store: Store) -> None:
    await _one_claim(store)
    [claim] = await store.claim_due(DUE, "me")
    wanted = {claim.key: [(EMAIL, OWN), (EMAIL, "hr@example.org")]}
    opened = await store.open_targets([claim], wanted, DUE, "me")
    assert [(t.target, t.status) for t in opened[claim.key]] == [
        (OWN, "pending"),
        ("hr@example.org", "pending"),
    ]
    recorded, settled = await store.record_outcomes(
        [
            _outcome(claim, OWN, "sent", message_id="<k@x>", reply="250 ok"),
            _outcome(claim, "hr@example.org", "failed", reply="550 no such user"),
        ],
        [(claim, True)],
        now=DUE,
    )
    assert recorded == 2
    assert [(s.key, s.status) for s in settled] == [(claim.key, "sent")]
    assert (await store.statuses([claim.key]))[claim.key] == "sent"
    assert (await store.channels([claim.key]))[claim.key] == [
        {"channel": "email", "status": "sent"},
        {"channel": "email", "status": "failed", "target": "hr@example.org"},
    ]
    log = await store.deliveries(claim.key)
    assert [(d.target, d.result) for d in log] == [(OWN, "sent"), ("hr@example.org", "failed")] or [
        (d.target, d.result) for d in log
    ] == [("hr@example.org", "failed"), (OWN, "sent")]


async def test_a_retrying_target_keeps_the_reminder_pending_and_only_it_is_sent_again(
    store: Store,
) -> None:
    await _one_claim(store)
    [claim] = await store.claim_due(DUE, "me")
    wanted = {claim.key: [(EMAIL, OWN), (EMAIL, "hr@example.org")]}
    await store.open_targets([claim], wanted, DUE, "me")
    retry_at = DUE + timedelta(minutes=5)
    _, settled = await store.record_outcomes(
        [
            _outcome(claim, OWN, "sent", message_id="<k@x>"),
            _outcome(claim, "hr@example.org", "retry", reply="421 busy", next_attempt=retry_at),
        ],
        [(claim, True)],
        now=DUE,
    )
    assert [s.status for s in settled] == ["pending"]
    assert await store.claim_due(retry_at - timedelta(seconds=1), "me") == []
    [again] = await store.claim_due(retry_at, "me")
    opened = await store.open_targets([again], wanted, retry_at, "me")
    ready = [t.target for t in opened[again.key] if t.due_now]
    assert ready == ["hr@example.org"]
    # The first claim's token no longer counts: its late report changes nothing.
    assert await store.record_outcomes([_outcome(claim, "hr@example.org", "sent")], now=DUE) == (
        0,
        [],
    )
    _, settled = await store.record_outcomes(
        [_outcome(again, "hr@example.org", "failed", reply="550 gone")],
        [(again, True)],
        now=retry_at,
    )
    assert [s.status for s in settled] == ["sent"]
    [row] = [r for r in await store.reminders() if r.key == claim.key]
    assert row.attempts == 2
    assert row.claim_token is None


async def test_a_reminder_none_of_whose_targets_arrived_is_failed_with_their_reasons(
    store: Store,
) -> None:
    await _one_claim(store)
    [claim] = await store.claim_due(DUE, "me")
    wanted = {claim.key: [(EMAIL, OWN), (EMAIL, "hr@example.org")]}
    await store.open_targets([claim], wanted, DUE, "me")
    _, settled = await store.record_outcomes(
        [
            _outcome(claim, OWN, "failed", reply="could not render: ValueError: bad"),
            _outcome(claim, "hr@example.org", "failed", reply="550 gone"),
        ],
        [(claim, True)],
        now=DUE,
    )
    assert settled[0].status == "failed"
    [row] = await store.failures()
    assert (
        row.reason == "email: could not render: ValueError: bad; email cc hr@example.org: 550 gone"
    )


async def test_a_removed_recipient_that_was_not_sent_yet_is_dropped(store: Store) -> None:
    await _one_claim(store)
    [claim] = await store.claim_due(DUE, "me")
    await store.open_targets([claim], {claim.key: [(EMAIL, OWN), (EMAIL, "hr@x.org")]}, DUE, "me")
    await store.release([claim])
    [again] = await store.claim_due(DUE, "me")
    opened = await store.open_targets([again], {again.key: [(EMAIL, OWN)]}, DUE, "me")
    assert [t.target for t in opened[again.key]] == [OWN]


async def test_an_escalation_history_shows_the_persons_own_deliveries(store: Store) -> None:
    await _one_claim(store)
    [claim] = await store.claim_due(DUE, "me")
    await store.open_targets([claim], {claim.key: [(EMAIL, OWN), (EMAIL, "hr@x.org")]}, DUE, "me")
    await store.record_outcomes(
        [_outcome(claim, OWN, "sent"), _outcome(claim, "hr@x.org", "failed", reply="550")],
        [(claim, True)],
        now=DUE,
    )
    history = await store.deliveries_of_occurrence("ana/visa/2027-03-16")
    assert [(d.target, d.result) for d in history] == [(OWN, "sent")]
