"""``staywatch doctor``: check a deployment end to end, without sending anything.

Each check says ok or FAIL and, when it fails, what to do. The checks are
independent: a broken database does not hide a broken SMTP login. Each
channel's URL is parsed by Apprise (no network); only with ``send`` does each
channel get one test message, to the first target that uses it.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from service.clock import Clock, SystemClock
from service.config import Config, load_config
from service.errors import ConfigError, StaywatchError
from service.store import Store
from service.transport import SmtpTransport, load_password

#: A host clock further than this from the database's is reported.
MAX_SKEW = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    #: Passes, but something deserves a look (the exit status stays 0).
    warning: bool = False

    def line(self) -> str:
        """``ok    name: detail``, ``warn  name: detail; fix`` or ``FAIL  name: detail; fix``."""
        state = "FAIL" if not self.ok else "warn" if self.warning else "ok  "
        text = f"{state}  {self.name}: {self.detail}"
        return text if (self.ok and not self.warning) or not self.fix else f"{text}; {self.fix}"

    def as_json(self) -> dict[str, str | bool]:
        """The JSON form of ``doctor --json``."""
        return {
            "check": self.name,
            "ok": self.ok,
            "warning": self.warning,
            "detail": self.detail,
            "fix": self.fix,
        }


async def run_checks(path: Path, *, clock: Clock | None = None, send: bool = False) -> list[Check]:
    """Every check for the config at ``path``; nothing is written, and nothing is sent
    unless ``send`` (one test message per channel)."""
    clock = clock or SystemClock()
    try:
        config = await asyncio.to_thread(load_config, path)
    except ConfigError as exc:
        problems = [str(p) for p in exc.problems]
        shown = "; ".join(problems[:3]) + (
            f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        )
        return [Check("config", False, shown, f"run `staywatch check -c {path}` and fix the file")]
    people = len(config.people)
    deadlines = sum(len(p.deadlines) for p in config.people)
    checks = [Check("config", True, f"{path}: {people} people, {deadlines} deadlines")]
    checks.append(await _database(config, clock))
    checks.append(await _mail(config))
    checks.append(_sender_domain(config))
    checks.append(_secret(config))
    checks.append(await _public_url(config))
    checks.append(_holidays(config, clock))
    checks.append(holidays_version_check(_installed_holidays()))
    for channel in config.channels:
        checks.append(await _channel(config, channel.id, clock, send=send))
    return checks


def channel_targets(config: Config, channel_id: str) -> list[tuple[str, str]]:
    """Who uses a channel: (``person ID`` | ``office ID``, target), in config order."""
    used = [
        (f"person {p.id}", p.notify[channel_id]) for p in config.people if channel_id in p.notify
    ]
    used += [
        (f"office {o.id}", o.notify[channel_id]) for o in config.offices if channel_id in o.notify
    ]
    return used


async def _channel(config: Config, channel_id: str, clock: Clock, *, send: bool) -> Check:
    from service.channels import ChannelMessage, ChannelSender
    from service.channelurls import SAMPLE_TARGET, TO, fill, instantiate, shown
    from service.render import render_channel_test

    name = f"channel {channel_id}"
    url = config.channel_url(channel_id)
    used = channel_targets(config, channel_id)
    plugin = instantiate(fill(url, used[0][1] if used else SAMPLE_TARGET))
    where = shown(fill(url, SAMPLE_TARGET))
    if plugin is None:  # the config check parses it too; kept for a URL file changed since
        return Check(name, False, f"{where}: Apprise cannot use the URL", "run `staywatch check`")
    detail = f"{where}: {plugin.service_name}, used by {len(used)}"
    if not used:
        return Check(
            name,
            True,
            f"{detail}; nobody uses it",
            f'add notify = {{ {channel_id} = "TARGET" }} to a person or office',
            warning=True,
        )
    if not send:
        return Check(name, True, f"{detail}; parsed (nothing sent; --send sends a test)")
    who, target = used[0]
    text = render_channel_test(clock.now(), ZoneInfo(config.service.timezone))
    result = await ChannelSender(config).send(
        channel_id, target if TO in url else "", ChannelMessage(text.title, text.body)
    )
    if result.delivered:
        return Check(name, True, f"{detail}; a test message to {who} was accepted")
    fix = (
        "check the token and the target (a person must have started a chat with the bot)"
        if result.outcome == "permanent"
        else "check that the service is reachable from this host, then try again"
    )
    return Check(name, False, f"test message to {who}: {result.reason}", fix)


async def _guard(name: str, probe: Callable[[], Awaitable[Check]], fix: str) -> Check:
    try:
        return await probe()
    except StaywatchError as exc:
        return Check(name, False, str(exc), fix)


async def _database(config: Config, clock: Clock) -> Check:
    async def probe() -> Check:
        store = await Store.open(config.database_url, migrate=False)
        try:
            if not await store.ping():
                return Check("database", False, f"{store.url} does not answer", "is it running?")
            if not await store.schema_is_current():
                return Check(
                    "database",
                    False,
                    f"{store.url}: the schema is not the current one",
                    "start `staywatch run` once: it applies the migrations",
                )
            skew = await store.clock_skew(clock.now())
            detail = f"{store.url}: reachable, schema current"
            if skew is not None:
                if abs(skew) > MAX_SKEW:
                    return Check(
                        "clock",
                        False,
                        f"this host's clock is {skew.total_seconds():+.0f} s off the database's",
                        "run an NTP client (systemd-timesyncd, chrony) on both machines",
                    )
                detail += f"; clock within {abs(skew.total_seconds()):.1f} s of the database"
            return Check("database", True, detail)
        finally:
            await store.close()

    return await _guard("database", probe, "check [service] database and that the server runs")


async def _mail(config: Config) -> Check:
    mail = config.mail
    if mail.transport == "maildir":
        folder = config.resolve(mail.maildir)
        existing = folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if os.access(existing, os.W_OK):
            return Check("mail", True, f"maildir {folder} is writable")
        return Check(
            "mail",
            False,
            f"maildir {folder} is not writable",
            f"fix the owner or mode of {existing}",
        )

    async def probe() -> Check:
        password = load_password(mail, base_dir=config.base_dir)
        transport = SmtpTransport(mail, password)
        return Check("mail", True, await transport.probe() + " (nothing sent)")

    return await _guard(
        "mail",
        probe,
        "check [mail] host, port, security and the login; `staywatch send-test ADDRESS` "
        "sends a real message",
    )


#: Names that never resolve on the internet (RFC 2606, 6761, 6762, 8375) or by habit only on a LAN.
_LOCAL_SUFFIXES = (
    "localhost",
    "localdomain",
    "local",
    "internal",
    "lan",
    "home.arpa",
    "test",
    "invalid",
    "example",
)


def _sender_domain(config: Config) -> Check:
    """Warn when the From domain (and so every Message-ID's) is not a real, dotted name."""
    from service.render import sender_domain

    domain = sender_domain(config.mail.sender)
    labels = domain.split(".")
    ip_address = all(label.isdigit() for label in labels)
    local = any(domain == s or domain.endswith("." + s) for s in _LOCAL_SUFFIXES)
    if len(labels) > 1 and not ip_address and not local:
        return Check("sender", True, f"From domain {domain} is a fully qualified domain name")
    return Check(
        "sender",
        True,
        f"From domain {domain} is not a fully qualified domain name: Message-IDs end in "
        f"@{domain}, which spam filters count against a message",
        "set [mail] from to an address at the domain that sends the mail",
        warning=True,
    )


def _secret(config: Config) -> Check:
    path = config.resolve(config.service.secret_file)
    if not path.exists():
        return Check("secret", True, f"{path} does not exist yet; it is created (0600) on start")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return Check(
            "secret",
            False,
            f"{path} has mode {mode:04o}: others can read feed and link keys",
            f"run chmod 600 {path}",
        )
    return Check("secret", True, f"{path} has mode {mode:04o}")


async def _public_url(config: Config) -> Check:
    import aiohttp

    url = f"{config.feed.public_url}/healthz"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(url) as response,
        ):
            if response.status in (200, 503):
                state = "healthy" if response.status == 200 else "running but unhealthy"
                return Check("public url", True, f"{config.feed.public_url} answers ({state})")
            return Check(
                "public url",
                False,
                f"{url} answered {response.status}, not staywatch",
                "point the reverse proxy at [feed] listen, or fix [feed] public_url",
            )
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Check(
            "public url",
            False,
            f"{url} cannot be reached ({type(exc).__name__})",
            "start the daemon; links in emails use [feed] public_url, so it must be reachable "
            "by the people who get them",
        )


def _holidays(config: Config, clock: Clock) -> Check:
    from service.rules import BusinessCalendar

    calendar = BusinessCalendar.for_config(config)
    year = clock.now().astimezone(UTC).year
    missing = [y for y in (year, year + 1) if not calendar.holidays_in(y)]
    if missing:
        return Check(
            "holidays",
            False,
            f"no {config.service.holidays} public holidays known for {missing}",
            "upgrade the holidays package, or list them in [service] extra_holidays",
        )
    return Check(
        "holidays", True, f"{config.service.holidays} holidays known for {year}-{year + 1}"
    )


def _installed_holidays() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("holidays")
    except PackageNotFoundError:
        return None


def _release(text: str) -> tuple[int, ...]:
    """``"0.102"`` -> (0, 102); ``"1.0.post1"`` -> (1, 0): the numeric release part."""
    found = re.match(r"\d+(?:\.\d+)*", text)
    return tuple(int(part) for part in found.group().split(".")) if found else ()


def holidays_version_check(installed: str | None) -> Check:
    """The installed ``holidays`` release against the first one with Korea's 2026-2027 right.

    Older releases lack Labor Day (2026-05-01) and the Constitution Day substitute
    (2027-07-19), or still close offices on 2027-03-03, so reminders would be
    planned for the wrong last business day.
    """
    from service.rules import HOLIDAYS_FLOOR

    if installed is None:
        return Check(
            "holidays version",
            False,
            "the holidays package is not installed",
            f"install holidays>={HOLIDAYS_FLOOR} in staywatch's environment",
        )
    if _release(installed) < _release(HOLIDAYS_FLOOR):
        return Check(
            "holidays version",
            False,
            f"holidays {installed} is older than {HOLIDAYS_FLOOR}, the first release with "
            "the 2026-2027 Korean holidays right (Labor Day, Constitution Day)",
            f"upgrade it (pip install 'holidays>={HOLIDAYS_FLOOR}'), or list the missing days "
            "in [service] extra_holidays",
        )
    return Check("holidays version", True, f"holidays {installed} (at least {HOLIDAYS_FLOOR})")
