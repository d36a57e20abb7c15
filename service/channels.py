"""How a message leaves through a channel: one Apprise call per (channel, target).

Each call builds the target's URL from the channel's (``{to}`` filled in),
sends one notification with Apprise's own retries off (the store retries) and
classifies what happened:

- ``delivered``: Apprise reports success.
- ``permanent``: the service answered 400, 401, 403 or 404 (a chat that
  blocked the bot, a wrong token, a deleted webhook), or Apprise cannot use
  the URL at all: retrying would not help; the office has to fix it.
- ``transient``: anything else (a 5xx or 429 reply, a refused connection, a
  timeout): try again with the backoff. A timeout may still have delivered.

Apprise's log lines of the call are read for the HTTP status: its plugins end
a failure line with ``error=<status>``. Every reason is redacted (no URL but
its scheme and masked host, no token) before it reaches a log, a status or the
store. Concurrency is bounded per channel; each call has a timeout (the
plugin's socket timeouts). The blocking call runs in this module's own threads,
not in Apprise's shared pool (a few threads for all channels together).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from service.channelurls import UrlProblem as _UrlProblem
from service.channelurls import check, fill, register, shown
from service.config import Channel, Config
from service.logs import redact

log = logging.getLogger(__name__)

#: ``not_started``: the send would have begun after ``start_by`` (the claim's lease
#: may be over), so it was not sent at all.
Outcome = Literal["delivered", "transient", "permanent", "not_started"]

#: Replies that mean this target will never take the message as it is.
PERMANENT_CODES = frozenset({400, 401, 403, 404})
#: Apprise's failure lines end with ``error=<HTTP status>``.
_STATUS = re.compile(r"\berror=(\d{3})\b")
#: Longest reason kept (the store keeps 1000 characters).
REASON_LENGTH = 500


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    """What one channel message says: a title (where the service shows one) and a body."""

    title: str
    body: str


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """What became of one (channel, target) message."""

    channel: str
    target: str
    outcome: Outcome
    #: Why it was not delivered (redacted); for a delivered one, what answered.
    reason: str
    #: The service's HTTP status when it failed with one.
    code: int | None = None

    @property
    def delivered(self) -> bool:
        """True when the service took the message."""
        return self.outcome == "delivered"


class ChannelSender:
    """Sends channel messages; one per call, at most ``channel.concurrency`` per channel at once."""

    name = "apprise"

    def __init__(self, config: Callable[[], Config] | Config) -> None:
        self._config: Callable[[], Config] = config if callable(config) else (lambda: config)
        self._slots: dict[str, asyncio.Semaphore] = {}
        #: The threads Apprise's blocking calls run in; each channel's semaphore bounds
        #: its share, so the pool only has to be as large as all of them together.
        self._pool: ThreadPoolExecutor | None = None

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="channel")
        return self._pool

    def close(self) -> None:
        """Let the threads go once their calls are done (a later send starts new ones)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def _slot(self, channel: Channel) -> asyncio.Semaphore:
        slot = self._slots.get(channel.id)
        if slot is None:
            slot = self._slots[channel.id] = asyncio.Semaphore(channel.concurrency)
        return slot

    async def send(
        self,
        channel_id: str,
        target: str,
        message: ChannelMessage,
        *,
        start_by: float = float("inf"),
    ) -> ChannelResult:
        """Send ``message`` to ``target`` through channel ``channel_id``; never raises for a
        failure of the service, which comes back classified.

        ``start_by`` (``time.monotonic()``) is checked once the channel has a free
        slot: later than that the message is not sent (``not_started``).
        """
        config = self._config()
        channel = config.channel(channel_id)
        template = config.channel_url(channel_id) if channel is not None else ""
        if channel is None or not template:
            return ChannelResult(
                channel_id, target, "permanent", f"channel '{channel_id}' is not in the config"
            )
        url = fill(template, target)
        where = shown(url)
        try:
            plugin = _fresh_plugin(url, channel.timeout)
        except _UrlProblem as exc:
            return ChannelResult(channel_id, target, "permanent", f"{where}: {exc}")
        async with self._slot(channel):
            if time.monotonic() > start_by:
                return ChannelResult(channel_id, target, "not_started", f"{where}: not started")
            loop = asyncio.get_running_loop()
            call = loop.run_in_executor(self._threads(), _notify, plugin, message)
            try:
                # The socket timeouts end a call in time; this is the last resort, for a
                # service that keeps a connection trickling. The slot stays taken until
                # the thread is free again.
                result = await asyncio.wait_for(asyncio.shield(call), channel.timeout * 2 + 5)
            except TimeoutError:
                await asyncio.wait([call], timeout=channel.timeout * 2)
                return ChannelResult(
                    channel_id,
                    target,
                    "transient",
                    f"{where}: no answer within {channel.timeout:g} s (the service may have "
                    "received it)",
                )
            except Exception as exc:  # a plugin bug must not stop the dispatcher
                text = redact(f"{type(exc).__name__}: {exc}")[:REASON_LENGTH]
                return ChannelResult(channel_id, target, "transient", f"{where}: {text}")
        return _classify(channel_id, target, where, result, channel.timeout)


def _fresh_plugin(url: str, timeout: float) -> Any:
    """A new plugin object for one call (plugins keep per-object state), retries off."""
    from apprise import Apprise, AppriseAsset

    check(url, target=None)  # says why, when Apprise cannot use the URL
    plugin = Apprise.instantiate(url, asset=AppriseAsset(secure_logging=True))
    if plugin is None:
        raise _UrlProblem("Apprise cannot use this URL")
    register(plugin)
    # The deliveries table retries, with its backoff; Apprise must not retry as well.
    plugin.retry = 0
    plugin.socket_connect_timeout = min(plugin.socket_connect_timeout, timeout)
    plugin.socket_read_timeout = timeout
    return plugin


def _notify(plugin: Any, message: ChannelMessage) -> Any:
    """One blocking Apprise call, in the calling thread (see ChannelSender._pool)."""
    from apprise import Apprise, AppriseAsset

    # Apprise sends in this thread only when no Apprise deadline is set (async_mode
    # off, no service or call timeout): else it waits on its small shared pool, where
    # one slow service would hold the threads every other channel needs. The plugin's
    # socket timeouts (the channel's ``timeout``, see _fresh_plugin) end the call instead.
    plugin.asset = AppriseAsset(secure_logging=True, async_mode=False, service_timeout=0)
    apobj = Apprise(asset=plugin.asset)
    apobj.add(plugin)
    return apobj.notify(body=message.body, title=message.title, log_level=logging.WARNING)


def _classify(channel: str, target: str, where: str, result: Any, timeout: float) -> ChannelResult:
    from apprise import AppriseResultStatus

    status = result.status
    if status == AppriseResultStatus.SUCCESS:
        return ChannelResult(channel, target, "delivered", f"{where}: accepted")
    if status == AppriseResultStatus.TIMEOUT:
        return ChannelResult(
            channel,
            target,
            "transient",
            f"{where}: no answer within {timeout:g} s (the service may have received it)",
        )
    if status == AppriseResultStatus.NOMATCH:
        return ChannelResult(channel, target, "permanent", f"{where}: Apprise sent nothing")
    lines = [
        str(entry.message)
        for entry in result.logs()
        if str(entry.level) in {"WARNING", "ERROR", "CRITICAL"}
    ]
    codes = [int(m.group(1)) for line in lines for m in _STATUS.finditer(line)]
    code = codes[-1] if codes else None
    said = redact(" ".join(lines)).strip() or "the service did not take the message"
    reason = f"{where}: {said}"[:REASON_LENGTH]
    if code in PERMANENT_CODES:
        return ChannelResult(channel, target, "permanent", reason, code)
    return ChannelResult(channel, target, "transient", reason, code)
