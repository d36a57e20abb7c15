"""Claim due reminders, render them, send them, record the outcome.

The database is the queue: a reminder is sent when its row is claimed, and it
is marked sent only after the transport accepted it. A crash in between leaves
the row claimed; when the lease runs out it is sent again with the same
Message-ID (at-least-once, never lost).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from service.backoff import next_attempt
from service.channels import ChannelMessage, ChannelResult, ChannelSender
from service.clock import Clock, SystemClock, to_utc
from service.config import Config, Office, Person
from service.errors import PermanentDeliveryError, TransientDeliveryError
from service.keys import base_occurrence, escalation_office
from service.metrics import DISPATCH_LAG, SENDS
from service.offices import digest_content, latest_digest_time
from service.outcomes import OutcomeWriter
from service.plan import Occurrence, Reminder, plan
from service.publish import ack_url, calendar_url, dashboard_url, generation_key, secret_of
from service.render import (
    ShortText,
    office_short,
    plain_text,
    render_digest,
    render_escalation,
    render_reminder,
    render_reminder_short,
    render_test,
)
from service.store import Claim, Outcome, ReminderRow, Store, TargetRow
from service.store.deliveries import after
from service.store.models import EMAIL, OWN
from service.sync import replan
from service.targets import channel_targets, targets_of
from service.tokens import feed_token
from service.transport import Outgoing, Sealed, Transport, make_transport, message_id_of, seal

log = logging.getLogger(__name__)

NO_LONGER_PLANNED = "no longer planned (config changed)"
#: Rows claimed per round trip; large enough for bursts, small enough for a lease.
BATCH = 200
#: Reminders due this soon are rendered while the loop is idle, so that a burst
#: (everybody's 09:00) only has to be sent: rendering costs more than sending.
PREPARE_AHEAD = timedelta(minutes=2)
#: The most messages kept rendered ahead.
PREPARE_MAX = 5000
#: A message rendered ahead (dated at its due instant) is used only this soon after it.
PREPARED_FRESH = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A reminder email rendered before it was due, and what it was rendered from."""

    config: Config
    due: datetime
    generation: int
    message: Sealed


def owner_id() -> str:
    """A name for this process in claim rows: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DispatchStats:
    """What one dispatch round did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    keys: list[str] = field(default_factory=list)


class Dispatcher:
    """Sends every due reminder once; safe to run in several processes on PostgreSQL."""

    def __init__(
        self,
        *,
        store: Store,
        transport: Transport,
        config: Callable[[], Config],
        clock: Clock | None = None,
        owner: str | None = None,
        channels: ChannelSender | None = None,
    ) -> None:
        self.store = store
        self.transport = transport
        #: Chat, push and SMS channels (Apprise), one call per (channel, target).
        self.channels = channels or ChannelSender(config)
        self._config = config
        self.clock = clock or SystemClock()
        self.owner = owner or owner_id()
        self.stopping = False
        self._secret: bytes | None = None
        self._prepared: dict[str, _Prepared] = {}
        self._preparing: asyncio.Task[int] | None = None
        #: The longest wait (seconds) of an outcome between the reply and its commit.
        self.max_commit_lag = 0.0
        self._warm = False

    @property
    def send_timeout(self) -> float:
        """The longest one send may take: the mail timeout or a channel's, whichever is longer."""
        config = self._config()
        return max([config.mail.timeout, *(c.timeout for c in config.channels)])

    @property
    def lease_seconds(self) -> float:
        """Long enough for one send attempt to finish or time out."""
        return self.send_timeout * 2 + 30

    async def run_once(self) -> DispatchStats:
        """Send everything that is due now; return what happened."""
        stats = DispatchStats()
        if not self._warm:
            # Compiled now, not between the first replies of a burst and their commit.
            await self.store.warm_up_deliveries()
            self._warm = True
        while not self.stopping:
            now = self.clock.now()
            # No send starts once the lease may be over (e.g. after SIGSTOP or a stall):
            # another instance may own the row by then. Measured before the claim, on
            # the monotonic clock, leaving each send two timeouts to finish in.
            send_by = time.monotonic() + self.lease_seconds - 2 * self.send_timeout
            claims = await self.store.claim_due(
                now, self.owner, lease_seconds=self.lease_seconds, limit=BATCH
            )
            if not claims:
                break
            await self._send_batch(claims, stats, send_by)
            if len(claims) < BATCH:
                break
        return stats

    def targets_of(self, config: Config, claim: Claim | ReminderRow) -> list[tuple[str, str]]:
        """The (channel, target) pairs a reminder goes to (see :mod:`service.targets`)."""
        return targets_of(config, claim.person, claim.deadline, claim.occurrence)

    async def _send_batch(
        self, claims: list[Claim], stats: DispatchStats, send_by: float = float("inf")
    ) -> None:
        """Send every due target of the claims; nothing about one reminder stops another."""
        config = self._config()
        if self._secret is None:
            self._secret = secret_of(config)
        generations = await self._generations()

        def ready(claim: Claim) -> Sealed | None:
            """The message rendered ahead for this claim, if it is still right."""
            prepared = self._prepared.pop(claim.key, None)
            if (
                prepared is not None
                and prepared.config is config
                and prepared.due == claim.due
                and prepared.generation == generations.get(claim.person, 0)
                and self.clock.now() - claim.due <= PREPARED_FRESH
            ):
                return prepared.message
            return None

        messages = {c.key: m for c in claims if (m := ready(c)) is not None}
        wanted = {c.key: self.targets_of(config, c) for c in claims}
        # A message rendered ahead is the person's own email; recipients' copies and
        # channel texts need the plan.
        occurrences, unplannable = self._occurrences_isolated(
            config,
            [
                c
                for c in claims
                if c.key not in messages or len(wanted[c.key]) > 1 or _has_channels(config, c)
            ],
        )
        feed_urls: dict[str, str] = {}
        for person in {c.person for c in claims}:
            gen = generations.get(person, 0)
            feed_urls[person] = calendar_url(config, feed_token(self._secret, person, gen))

        # The transport's own limit, taken here so that the lease is checked when a
        # send really starts, not when it joins the queue.
        slots = asyncio.Semaphore(config.mail.concurrency)
        dashboards: dict[str, str] = {}
        for office_id in {escalation_office(c.occurrence) for c in claims} - {None}:
            assert office_id is not None
            try:
                dashboards[office_id] = await dashboard_url(
                    config, self.store, self._secret, office_id
                )
            except Exception:  # the escalation goes out without the link
                log.exception("no dashboard link for office %s", office_id)

        def gone(claim: Claim) -> bool:
            """The config no longer plans this reminder (person, occurrence or office gone)."""
            if claim.person in unplannable:
                return False
            person = config.person(claim.person)
            if person is None:
                return True
            if base_occurrence(claim.occurrence) not in occurrences:
                return claim.key not in messages
            office_id = escalation_office(claim.occurrence)
            if office_id is None:
                return False
            office = config.office(office_id)
            return office is None or not office.covers(person)

        unknown = [c for c in claims if gone(c)]
        live = [c for c in claims if not gone(c)]
        opened = await self.store.open_targets(live, wanted, self.clock.now(), self.owner)

        async def escalation(
            claim: Claim, occurrence: Occurrence, person: Person, office_id: str, now: datetime
        ) -> EmailMessage:
            """The escalation of the claim to office ``office_id``, with the person's history."""
            office = config.office(office_id)
            assert office is not None  # checked by gone()
            return render_escalation(
                config,
                office,
                person,
                occurrence,
                _reminder_of(claim),
                now=now,
                history=await self.store.deliveries_of_occurrence(occurrence.key),
                ack_url=ack_url(config, self._secret or b"", occurrence, now),
                dashboard_url=dashboards.get(office_id),
            )

        async def render(claim: Claim, target: str) -> Outgoing:
            """The message of one target of the claim (raises when it cannot be made)."""
            if claim.person in unplannable:
                raise unplannable[claim.person]
            if target == OWN and (message := messages.pop(claim.key, None)) is not None:
                return message  # rendered ahead, see prepare()
            occurrence = occurrences[base_occurrence(claim.occurrence)]
            person = config.person(claim.person)
            assert person is not None  # checked by gone()
            now = self.clock.now()
            office_id = escalation_office(claim.occurrence)
            secret = self._secret or b""
            if office_id is None:
                return render_reminder(
                    config,
                    person,
                    occurrence,
                    _reminder_of(claim),
                    now=now,
                    ack_url=ack_url(config, secret, occurrence, now, by=target or None),
                    feed_url=None if target else feed_urls.get(claim.person),
                    recipient=target or None,
                )
            return await escalation(claim, occurrence, person, office_id, now)

        def failure(claim: Claim, row: TargetRow, error: Exception) -> Outcome:
            """The outcome of an attempt that raised: retry with backoff, or failed."""
            now = self.clock.now()
            code = getattr(error, "code", None)
            text = str(error)[:1000]
            if isinstance(error, (TransientDeliveryError, PermanentDeliveryError)):
                result = "failed"
                retry_at = None
                if isinstance(error, TransientDeliveryError):
                    retry_at = next_attempt(row.attempts + 1, now, claim.ends)
                    if retry_at is None:
                        text = f"gave up when the deadline passed; last error: {text}"[:1000]
                    else:
                        result = "retry"
            else:
                # Not a delivery error: a bug or a value rendering cannot use. Retrying
                # would fail the same way, so this target fails now, with the reason.
                result, retry_at = "failed", None
                text = f"could not send: {type(error).__name__}: {error}"[:1000]
            return Outcome(
                claim=claim,
                channel=row.channel,
                target=row.target,
                result=result,
                at=now,
                transport=self.transport.name,
                code=code if isinstance(code, int) else None,
                reply=text,
                next_attempt=retry_at,
            )

        def hand_in(outcome: Outcome) -> Outcome:
            writer.put(outcome)
            return outcome

        async def channel_text(claim: Claim, row: TargetRow) -> ShortText:
            """What one channel target of the claim says (raises when it cannot be made)."""
            if claim.person in unplannable:
                raise unplannable[claim.person]
            channel = config.channel(row.channel)
            if channel is None:
                raise PermanentDeliveryError(f"channel '{row.channel}' is no longer in the config")
            occurrence = occurrences[base_occurrence(claim.occurrence)]
            person = config.person(claim.person)
            assert person is not None  # checked by gone()
            now = self.clock.now()
            office_id = escalation_office(claim.occurrence)
            secret = self._secret or b""
            if office_id is None and channel.format == "short":
                return render_reminder_short(
                    config,
                    person,
                    occurrence,
                    _reminder_of(claim),
                    now=now,
                    ack_url=ack_url(config, secret, occurrence, now),
                    feed_url=feed_urls.get(claim.person),
                )
            if office_id is None:
                return plain_text(
                    render_reminder(
                        config,
                        person,
                        occurrence,
                        _reminder_of(claim),
                        now=now,
                        ack_url=ack_url(config, secret, occurrence, now),
                        feed_url=feed_urls.get(claim.person),
                    )
                )
            office = config.office(office_id)
            assert office is not None  # checked by gone()
            message = await escalation(claim, occurrence, person, office_id, now)
            if channel.format == "full":
                return plain_text(message)
            return office_short(message, office.language, dashboards.get(office_id))

        async def one_channel(claim: Claim, row: TargetRow) -> Outcome | None:
            """Send one channel target and hand its outcome in; None when it was not started."""
            # Rendering holds the event loop: let the replies already in commit first.
            await writer.drain()
            try:
                text = await channel_text(claim, row)
            except Exception as exc:  # one bad row must not stop the rest
                if not isinstance(exc, PermanentDeliveryError):
                    log.exception("could not render %s", claim.key, extra={"action": "failed"})
                outcome = failure(claim, row, exc)
                return hand_in(replace(outcome, transport=self.channels.name))
            result = await self.channels.send(
                row.channel, row.target, ChannelMessage(text.title, text.body), start_by=send_by
            )
            if result.outcome == "not_started":
                return None
            return hand_in(self._channel_outcome(claim, row, result))

        async def one_target(claim: Claim, row: TargetRow) -> Outcome | None:
            """Send one target and hand its outcome in; None when it was not started."""
            if row.channel != EMAIL:
                return await one_channel(claim, row)
            async with slots:
                if row.target != OWN or claim.key not in messages:
                    # Rendering holds the event loop: let the replies already in commit first.
                    await writer.drain()
                try:
                    message = await render(claim, row.target)
                except Exception as exc:  # one bad row must not stop the rest
                    log.exception("could not render %s", claim.key, extra={"action": "failed"})
                    outcome = failure(claim, row, exc)
                    reason = f"could not render: {type(exc).__name__}: {exc}"[:1000]
                    return hand_in(replace(outcome, reply=reason))
                if time.monotonic() > send_by:
                    return None
                try:
                    result = await self.transport.send(message)
                except (TransientDeliveryError, PermanentDeliveryError) as exc:
                    return hand_in(failure(claim, row, exc))
                except Exception as exc:  # isolated like a rendering error
                    log.exception("could not send %s", claim.key, extra={"action": "failed"})
                    return hand_in(failure(claim, row, exc))
            refused = "; ".join(f"{a}: {c} {t}" for a, (c, t) in result.refused.items())
            reply = f"{result.code} {result.text}".strip()
            if refused:
                reply = f"{reply}; refused {refused}"
            at = self.clock.now()
            if row.target == OWN:
                DISPATCH_LAG.observe(max(0.0, (at - claim.due).total_seconds()))
            return hand_in(
                Outcome(
                    claim=claim,
                    channel=row.channel,
                    target=row.target,
                    result="sent",
                    at=at,
                    transport=self.transport.name,
                    code=result.code,
                    reply=reply[:1000],
                    message_id=message_id_of(message),
                )
            )

        async def one(claim: Claim) -> None:
            """Every due target of one claim, then close the claim."""
            rows = opened.get(claim.key)
            if rows is None:
                return  # taken over by another instance: its sender reports
            due = [r for r in rows if r.due_now]
            started: list[Outcome | BaseException | None]
            if len(due) == 1:  # the common case, without a task of its own
                try:
                    started = [await one_target(claim, due[0])]
                except Exception as exc:  # reported below, like gather's
                    started = [exc]
            else:
                started = list(
                    await asyncio.gather(
                        *(one_target(claim, r) for r in due), return_exceptions=True
                    )
                )
            outcomes = {}
            for row, item in zip(due, started, strict=True):
                if isinstance(item, BaseException):
                    log.error("sending %s failed: %r", claim.key, item)
                elif item is not None:
                    outcomes[(row.channel, row.target)] = item
            if len(outcomes) < len(due):
                late.append(claim)
            final = [after(r, outcomes.get((r.channel, r.target))) for r in rows]
            # A target that raised unexpectedly is not known: read it back instead.
            known = final if not any(isinstance(i, BaseException) for i in started) else None
            writer.close(claim, bool(outcomes), known)

        late: list[Claim] = []
        writer = _CountingWriter(self.store, self.clock, stats)
        try:
            results = await asyncio.gather(*(one(c) for c in live), return_exceptions=True)
            for claim, item in zip(live, results, strict=True):
                if isinstance(item, BaseException):
                    # Unreachable by design (each target is isolated); if it happens the
                    # claim's lease runs out and the reminder goes out again, once.
                    log.error("dispatching %s failed: %r", claim.key, item)
        finally:
            await writer.flush()
            self.max_commit_lag = max(self.max_commit_lag, writer.max_lag)
        if late:
            log.warning("the lease ran out before %d reminders were sent; released", len(late))
            stats.released += len(late)
        if unknown:
            # The config no longer plans these rows. Re-plan their people (which skips
            # such rows inside the store window) and skip the rest here, so that no row
            # is claimed again and again.
            await replan(config, self.store, self.clock.now(), people={c.person for c in unknown})
            await self.store.skip(unknown, NO_LONGER_PLANNED, self.clock.now())
            stats.released += len(unknown)

    async def _digest_to_channels(
        self, config: Config, office: Office, message: EmailMessage, link: str | None
    ) -> int:
        """Send an office's digest to the channels in its ``notify``; return how many took it.

        Sent once the email is settled, within the digest's claim: a channel that
        fails is logged, and the next digest brings the news again.
        """
        delivered = 0
        for cid, target in channel_targets(config, office.notify):
            channel = config.channel(cid)
            assert channel is not None
            text = (
                plain_text(message)
                if channel.format == "full"
                else office_short(message, office.language, link)
            )
            result = await self.channels.send(cid, target, ChannelMessage(text.title, text.body))
            if result.delivered:
                delivered += 1
                log.info("sent digest for %s to %s", office.id, cid, extra={"action": "digest"})
            else:
                log.warning(
                    "digest for %s not sent to %s: %s",
                    office.id,
                    cid,
                    result.reason,
                    extra={"action": "failed"},
                )
        return delivered

    def _channel_outcome(self, claim: Claim, row: TargetRow, result: ChannelResult) -> Outcome:
        """A channel send's result as the target's outcome: sent, retry with backoff, failed."""
        now = self.clock.now()
        outcome = Outcome(
            claim=claim,
            channel=row.channel,
            target=row.target,
            result="sent",
            at=now,
            transport=self.channels.name,
            code=result.code,
            reply=result.reason[:1000],
        )
        if result.outcome == "delivered":
            DISPATCH_LAG.observe(max(0.0, (now - claim.due).total_seconds()))
            return outcome
        if result.outcome == "permanent":
            return replace(outcome, result="failed")
        retry_at = next_attempt(row.attempts + 1, now, claim.ends)
        if retry_at is None:
            reply = f"gave up when the deadline passed; last error: {result.reason}"[:1000]
            return replace(outcome, result="failed", reply=reply)
        return replace(outcome, result="retry", next_attempt=retry_at)

    async def send_digests(self) -> int:
        """Send every office digest whose scheduled time has come; return how many went out.

        Each digest period is claimed in the store first, so one instance sends it
        (after a crash the claim's lease runs out and the digest goes out then).
        """
        config = self._config()
        sent = 0
        for office in config.offices:
            if self.stopping:
                break
            now = self.clock.now()
            period = latest_digest_time(config, office, now)
            if period is None:
                continue
            key = to_utc(period).isoformat()
            state = await self.store.digest_state(office.id)
            if state.get("period", "") >= key and state.get("state") != "claimed":
                continue
            if not await self.store.claim_digest(
                office.id,
                period=key,
                owner=self.owner,
                now=now,
                lease_until=now + timedelta(seconds=self.lease_seconds),
            ):
                continue
            since = datetime.fromisoformat(state["last_sent"]) if state.get("last_sent") else None
            content = await digest_content(
                config, self.store, office, period=period, since=since, now=now
            )
            if content.empty and not office.digest_empty:
                await self.store.finish_digest(office.id, period=key, state="skipped", at=now)
                log.info("digest for %s is empty; not sent", office.id, extra={"action": "digest"})
                continue
            if self._secret is None:
                self._secret = secret_of(config)
            link = await dashboard_url(config, self.store, self._secret, office.id)
            message = render_digest(config, content, now=now, dashboard_url=link)
            try:
                await self.transport.send(message)
            except TransientDeliveryError as exc:
                # The claim stays until its lease ends; the next tick after that retries.
                log.warning("digest for %s not sent yet: %s", office.id, exc)
                continue
            except PermanentDeliveryError as exc:
                channels = await self._digest_to_channels(config, office, message, link)
                await self.store.finish_digest(
                    office.id, period=key, state="sent" if channels else "failed", at=now
                )
                log.error("digest for %s refused: %s", office.id, exc, extra={"action": "failed"})
                continue
            await self._digest_to_channels(config, office, message, link)
            await self.store.finish_digest(office.id, period=key, state="sent", at=self.clock.now())
            log.info("sent digest for %s", office.id, extra={"action": "digest"})
            sent += 1
        return sent

    async def _generations(self) -> dict[str, int]:
        """Every person's feed token generation, in one query."""
        prefix = generation_key("")
        stored = await self.store.meta_with_prefix(prefix)
        return {key[len(prefix) :]: int(value or 0) for key, value in stored.items()}

    def prepare_soon(self, next_due: datetime | None) -> None:
        """Render, in the background, the reminders due in the next PREPARE_AHEAD.

        Called whenever the dispatcher goes idle until ``next_due``. Sending then
        finds most messages ready; whatever is not ready is rendered as usual.
        """
        if next_due is None or self.stopping:
            return
        if self._preparing is not None and not self._preparing.done():
            return
        now = self.clock.now()
        if next_due - now > PREPARE_AHEAD:
            return
        self._preparing = asyncio.create_task(self.prepare(now + PREPARE_AHEAD))
        self._preparing.add_done_callback(_log_prepare_failure)

    async def prepare(self, until: datetime) -> int:
        """Render the pending reminders due before ``until``; return how many."""
        config = self._config()
        now = self.clock.now()
        for key in [k for k, p in self._prepared.items() if now - p.due > PREPARED_FRESH]:
            del self._prepared[key]
        rows = [
            row
            for row in await self.store.reminders(start=now, end=until)
            if row.status == "pending"
            and row.next_attempt is None
            and row.claimed_until is None
            and row.key not in self._prepared
            and escalation_office(row.occurrence) is None
        ][: max(0, PREPARE_MAX - len(self._prepared))]
        if not rows:
            return 0
        if self._secret is None:
            self._secret = secret_of(config)
        secret = self._secret
        occurrences = self._occurrences(config, rows)
        generations = await self._generations()
        done = 0
        for row in rows:
            if self.stopping or self._config() is not config:
                break
            occurrence = occurrences.get(row.occurrence)
            person = config.person(row.person)
            if occurrence is None or person is None or not person.email_reminders:
                continue
            gen = generations.get(row.person, 0)
            try:
                message = seal(
                    render_reminder(
                        config,
                        person,
                        occurrence,
                        _reminder_of(row),
                        now=row.due,
                        ack_url=ack_url(config, secret, occurrence, row.due),
                        feed_url=calendar_url(config, feed_token(secret, row.person, gen)),
                    )
                )
            except Exception:  # rendered again when due, where the failure is recorded
                log.debug("could not render %s ahead", row.key, exc_info=True)
                continue
            self._prepared[row.key] = _Prepared(config, row.due, gen, message)
            done += 1
            if done % 20 == 0:
                await asyncio.sleep(0)  # let due sends and HTTP requests in
        log.debug("rendered %d reminders ahead", done)
        return done

    def _occurrences_isolated(
        self, config: Config, claims: Sequence[Claim]
    ) -> tuple[dict[str, Occurrence], dict[str, Exception]]:
        """Plan the claims' people one by one: (occurrences, person -> the error planning hit)."""
        found: dict[str, Occurrence] = {}
        errors: dict[str, Exception] = {}
        by_person: dict[str, list[Claim]] = {}
        for claim in claims:
            by_person.setdefault(claim.person, []).append(claim)
        for person, items in by_person.items():
            try:
                found.update(self._occurrences(config, items))
            except Exception as exc:  # that person's reminders fail, not the batch
                log.exception("could not plan %s", person)
                errors[person] = RuntimeError(f"could not plan: {type(exc).__name__}: {exc}")
        return found, errors

    def _occurrences(
        self, config: Config, claims: Sequence[Claim | ReminderRow]
    ) -> dict[str, Occurrence]:
        found: dict[str, Occurrence] = {}
        by_person: dict[str, list[Claim | ReminderRow]] = {}
        for claim in claims:
            by_person.setdefault(claim.person, []).append(claim)
        for person, items in by_person.items():
            if config.person(person) is None:
                continue
            low = min(c.occurrence_date for c in items)
            high = max(c.occurrence_date for c in items)
            for occurrence in plan(config, low, high, people=[person], singles_unbounded=False):
                found[occurrence.key] = occurrence
        return found

    async def close(self) -> None:
        """Close the transport's connections and the channels' threads."""
        if self._preparing is not None:
            self._preparing.cancel()
            await asyncio.gather(self._preparing, return_exceptions=True)
        await self.transport.close()
        self.channels.close()


class _CountingWriter(OutcomeWriter):
    """The group-commit writer of one batch, counting and logging each outcome."""

    def __init__(self, store: Store, clock: Clock, stats: DispatchStats) -> None:
        super().__init__(store, clock)
        self._stats = stats

    def put(self, outcome: Outcome) -> None:
        """Count and log the outcome, then hand it in for the next group commit."""
        stats, key = self._stats, outcome.claim.key
        if outcome.channel != EMAIL:
            whose = f" (channel {outcome.channel})"
        else:
            whose = "" if outcome.target == OWN else " (a recipient's copy)"
        if outcome.result == "sent":
            stats.sent += 1
            if key not in stats.keys:
                stats.keys.append(key)
            log.info("sent %s%s", key, whose, extra={"action": "sent"})
        elif outcome.result == "retry":
            stats.retried += 1
            when = (
                outcome.next_attempt.isoformat(timespec="seconds") if outcome.next_attempt else ""
            )
            log.info(
                "will retry %s%s at %s: %s",
                key,
                whose,
                when,
                outcome.reply,
                extra={"action": "retry"},
            )
        else:
            stats.failed += 1
            log.warning("failed %s%s: %s", key, whose, outcome.reply, extra={"action": "failed"})
        SENDS.labels(outcome.result).inc()
        super().put(outcome)


def _log_prepare_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("rendering ahead failed: %s", task.exception())


def _reminder_of(claim: Claim | ReminderRow) -> Reminder:
    return Reminder(
        key=claim.key,
        person=claim.person,
        deadline=claim.deadline,
        kind=claim.kind,
        date=claim.occurrence_date,
        offset=claim.offset,
        due=claim.due,
        overdue=claim.overdue,
        closed_notice=claim.closed_notice,
        office=escalation_office(claim.occurrence),
    )


async def send_test_message(config: Config, address: str, clock: Clock | None = None) -> str:
    """Send one test email through the configured transport; describe the result."""
    from service.config import check_address

    try:
        address = check_address(address)
    except ValueError as exc:
        from service.errors import StaywatchError

        raise StaywatchError(str(exc)) from None
    now = (clock or SystemClock()).now()
    transport = make_transport(config)
    try:
        result = await transport.send(render_test(config, address, now=now))
    finally:
        await transport.close()
    where = (
        f"smtp {config.mail.host}:{config.mail.effective_port}"
        if config.mail.transport == "smtp"
        else f"maildir {config.resolve(config.mail.maildir)}"
    )
    reply = f" ({result.code} {result.text})".rstrip() if result.code else ""
    return f"Sent a test message to {address} via {where}{reply}."


async def send_channel_test(
    config: Config, channel_id: str, target: str, clock: Clock | None = None
) -> str:
    """Send one test message through channel ``channel_id`` to ``target``; describe the result.

    Raises StaywatchError when the channel does not exist, the target does not
    fit its URL, or the service did not take the message.
    """
    from service.channels import ChannelMessage, ChannelSender
    from service.channelurls import TO, UrlProblem, check, fill, shown
    from service.errors import StaywatchError
    from service.render import render_channel_test

    channel = config.channel(channel_id)
    if channel is None:
        known = ", ".join(c.id for c in config.channels) or "none"
        raise StaywatchError(f"no channel '{channel_id}' in the config (channels: {known})")
    url = config.channel_url(channel_id)
    target = target.strip()
    if TO in url and not target:
        raise StaywatchError(
            f"channel '{channel_id}' needs a TARGET (its URL has {TO}), e.g. a chat id"
        )
    if TO not in url and target:
        raise StaywatchError(
            f"channel '{channel_id}' takes no TARGET (its URL has no {TO}); leave it out"
        )
    try:
        check(url, target=target if TO in url else None)
    except UrlProblem as exc:
        raise StaywatchError(f"channel '{channel_id}': {exc}") from None
    now = (clock or SystemClock()).now()
    text = render_channel_test(now, ZoneInfo(config.service.timezone))
    result = await ChannelSender(config).send(
        channel_id, target, ChannelMessage(text.title, text.body)
    )
    where = shown(fill(url, target))
    if not result.delivered:
        kind = "refused for good" if result.outcome == "permanent" else "not sent (try again)"
        raise StaywatchError(f"test message to {channel_id} {kind}: {result.reason}")
    to = f" to {target}" if target else ""
    return f"Sent a test message through channel {channel_id}{to} via {where}."


def _has_channels(config: Config, claim: Claim) -> bool:
    """True when the claim's reminder also goes to a channel (the person's or the office's)."""
    office_id = escalation_office(claim.occurrence)
    owner = config.office(office_id) if office_id else config.person(claim.person)
    return owner is not None and bool(channel_targets(config, owner.notify))
