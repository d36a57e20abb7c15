"""The ``staywatch`` command line: parse, call, format.

This is the only error boundary of the CLI: a StaywatchError becomes
``Error: ...`` on stderr and exit status 1; a traceback shows only with --debug.
Heavy modules are imported inside the commands that need them so that quick
commands start quickly.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from service.errors import StaywatchError
from service.kinds import KINDS, LANGUAGES

if TYPE_CHECKING:
    from rich.console import Console

    from service.config import Config
    from service.planahead import PlanAhead
    from service.quickread import Facts, UpcomingRow

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("staywatch")

DEFAULT_CONFIGS = ("./staywatch.toml", "/etc/staywatch/staywatch.toml")


class StaywatchGroup(click.Group):
    """A click group whose ``invoke`` is the one place user errors are turned into text."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; print StaywatchErrors without a traceback."""
        debug = "--debug" in sys.argv[1:] or os.environ.get("STAYWATCH_DEBUG") == "1"
        try:
            return super().invoke(ctx)
        except StaywatchError as exc:
            log.debug("command failed", exc_info=True)
            if debug:
                import traceback

                traceback.print_exc()
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


def _find_config(given: str | None) -> Path:
    if given:
        return Path(given)
    env = os.environ.get("STAYWATCH_CONFIG")
    if env:
        return Path(env)
    for candidate in DEFAULT_CONFIGS:
        if Path(candidate).exists():
            return Path(candidate)
    raise StaywatchError(
        "no config file: pass -c FILE, set STAYWATCH_CONFIG, or create ./staywatch.toml "
        "or /etc/staywatch/staywatch.toml (see config/example.toml)"
    )


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(dict)["config"] = value


def config_option(func: F) -> F:
    """``-c/--config FILE`` on a command (also accepted before the command name)."""
    option = click.option(
        "-c",
        "--config",
        "config_path",
        metavar="FILE",
        expose_value=False,
        callback=_remember_config,
        is_eager=True,
        help="Config file (default: $STAYWATCH_CONFIG, ./staywatch.toml, "
        "/etc/staywatch/staywatch.toml).",
    )
    return option(func)


def json_option(func: F) -> F:
    """``--json``: machine-readable output documented in README."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(func)


def _config_path(ctx: click.Context) -> Path:
    obj = ctx.find_root().ensure_object(dict)
    return _find_config(obj.get("config"))


def _load(ctx: click.Context) -> Config:
    from service.configcache import load_config_cached

    return load_config_cached(_config_path(ctx))


class DateParam(click.ParamType[date]):
    """A calendar date written YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        """Parse or fail with a message naming the option."""
        from service.config import EARLIEST, LATEST

        if isinstance(value, date):
            return value
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"'{value}' is not a date; write it as YYYY-MM-DD", param, ctx)
        if not EARLIEST <= day <= LATEST:
            self.fail(f"{day} is out of range; give a date from {EARLIEST} to {LATEST}", param, ctx)
        return day


DATE = DateParam()


def _today(config: Config) -> date:
    from zoneinfo import ZoneInfo

    from service.clock import SystemClock

    return SystemClock().now().astimezone(ZoneInfo(config.service.timezone)).date()


def _validation_today() -> date:
    """The day ``check`` and the editing commands check birth dates against."""
    from service.clock import SystemClock
    from service.config import latest_today

    return latest_today(SystemClock().now())


def _run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio  # not for the commands that read SQLite directly

    return asyncio.run(coro)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    tty = sys.stdout.isatty()
    if title is None and (not tty or len(rows) > _PLAIN_ROWS) and _print_plain(columns, rows, tty):
        return
    from rich.console import Console
    from rich.table import Table

    width = None if tty else 160
    console = Console(width=width, highlight=False)
    if title is None and len(rows) > _PLAIN_ROWS and _print_wrapped(console, columns, rows):
        return
    table = Table(*columns, title=title, box=None, pad_edge=False, header_style="bold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _print_wrapped(console: Console, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> bool:
    """Print a table too wide for its width as rich lays it out; False if this cannot.

    Rich's column widths depend only on each column's widest cell and longest
    word, so they are computed from the few rows that hold those; each cell is
    then wrapped by rich's own text wrapping, once per distinct text. Only plain
    printable text on an uncoloured console takes this way.
    """
    from rich.table import Table
    from rich.text import Text

    if console.color_system is not None or console.is_terminal:
        return False
    widest: dict[int, tuple[int, int]] = {}
    longest: dict[int, tuple[int, int]] = {}
    for index, row in enumerate(rows):
        for i, cell in enumerate(row):
            if not cell.isprintable() or _RICH_ONLY.search(cell):
                return False
            size = _cell_len(cell)
            if size > widest.get(i, (-1, 0))[0]:
                widest[i] = (size, index)
            word = max((_cell_len(w) for w in cell.split()), default=0)
            if word > longest.get(i, (-1, 0))[0]:
                longest[i] = (word, index)
    sample = Table(*columns, box=None, pad_edge=False, header_style="bold")
    for index in sorted({i for _, i in (*widest.values(), *longest.values())}):
        sample.add_row(*rows[index])
    widths = sample._calculate_column_widths(console, console.options)
    last = len(widths) - 1
    # The text width of each column: rich pads cells by one space, not at the edges.
    inner = [w - (i > 0) - (i < last) for i, w in enumerate(widths)]
    if any(_cell_len(c) > inner[i] for i, c in enumerate(columns)):
        return False  # a wrapped header sits at the bottom of its row: leave it to rich
    wrapped: dict[tuple[int, str], list[str]] = {}

    def lines_of(i: int, cell: str) -> list[str]:
        found = wrapped.get((i, cell))
        if found is None:
            parts = Text(cell).wrap(console, inner[i], justify="left", overflow="ellipsis")
            found = [p.plain + " " * (inner[i] - _cell_len(p.plain)) for p in parts] or [
                " " * inner[i]
            ]
            wrapped[(i, cell)] = found
        return found

    out = []
    for row in (columns, *rows):
        cells = [
            [cell + " " * (inner[i] - size)]
            if (size := _cell_len(cell)) <= inner[i]
            else lines_of(i, cell)
            for i, cell in enumerate(row)
        ]
        height = max(len(c) for c in cells)
        for line in range(height):
            out.append(
                "  ".join(c[line] if line < len(c) else " " * inner[i] for i, c in enumerate(cells))
            )
    click.echo("\n".join(out))
    return True


#: Above this many rows a terminal gets the plain table too (rich takes seconds).
_PLAIN_ROWS = 500
#: What rich would interpret (markup, emoji codes) or wrap: such tables go to rich.
_RICH_ONLY = re.compile(r"\[|:\S+:")


def _print_plain(columns: Sequence[str], rows: Sequence[Sequence[str]], tty: bool) -> bool:
    """Print the table exactly as rich lays out a borderless table that fits; False if not.

    Rich costs about 2 ms a row, seconds for ``upcoming`` over a big store; a
    table that fits the width and holds nothing rich would interpret comes out
    the same from here, byte for byte.
    """
    widths = [_cell_len(c) for c in columns]
    sizes = []
    for row in rows:
        measured = []
        for i, cell in enumerate(row):
            if not cell.isprintable() or _RICH_ONLY.search(cell):
                return False
            size = _cell_len(cell)
            measured.append(size)
            if size > widths[i]:
                widths[i] = size
        sizes.append(measured)
    width = shutil.get_terminal_size().columns if tty else 160
    if sum(widths) + 2 * (len(widths) - 1) > width:
        return False
    header = [_cell_len(c) for c in columns]
    # Rich pads every cell to its column's width and puts two spaces between columns.
    out = [
        "  ".join(
            cell + " " * (width - used) for cell, width, used in zip(row, widths, size, strict=True)
        )
        for row, size in zip((columns, *rows), (header, *sizes), strict=True)
    ]
    click.echo("\n".join(out))
    return True


def _cell_len(text: str) -> int:
    """Columns ``text`` takes in a terminal, as rich counts them (printable text only)."""
    if text.isascii():
        return len(text)  # rich gives every printable ASCII character one cell
    from rich.cells import cell_len

    return cell_len(text)


# -- the commands ---------------------------------------------------------------


@click.group(cls=StaywatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="staywatch", prog_name="staywatch")
@config_option
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """staywatch: reminders for Korean visa, residence card, NHIS and passport deadlines."""
    ctx.ensure_object(dict)
    from service.logs import configure

    configure(
        "DEBUG" if debug else os.environ.get("STAYWATCH_LOG_LEVEL", "WARNING"),
        json_lines=os.environ.get("STAYWATCH_LOG_FORMAT") == "json",
    )


@main.command()
@config_option
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config; list every error with its line. Exit 0 when valid."""
    from service.clock import SystemClock
    from service.configcache import lookup

    path = _config_path(ctx)
    counts = None
    facts = _facts(ctx)
    if facts is not None:
        # The hour in UTC decides the day birth dates are checked against.
        now = SystemClock().now()
        key = f"{now.astimezone(UTC):%Y-%m-%dT%H} {_zone_today(facts.timezone)}"
        counts = lookup("check", path, key)
    if not isinstance(counts, tuple):
        counts = _checked_counts(path)
    people, deadlines, occurrences, reminders, end = counts
    click.echo(
        f"{path}: ok ({people} {'person' if people == 1 else 'people'}, {deadlines} deadlines, "
        f"{occurrences} occurrences and {reminders} reminders until {end})"
    )


def _checked_counts(path: Path) -> tuple[int, int, int, int, date]:
    """Validate ``path`` as ``check`` does and count its plan (remembered for the next check)."""
    from service.clock import SystemClock
    from service.config import latest_today
    from service.configcache import keep, load_config_cached
    from service.quickread import FACTS, facts_of

    now = SystemClock().now()
    config = load_config_cached(path, today=latest_today(now))
    today = now.astimezone(ZoneInfo(config.service.timezone)).date()
    counts = _check_counts(config, today)
    keep(config, "check", f"{now.astimezone(UTC):%Y-%m-%dT%H} {today}", counts)
    keep(config, FACTS, "", facts_of(config))
    return counts


def _check_counts(config: Config, today: date) -> tuple[int, int, int, int, date]:
    """People, deadlines, occurrences and reminders of the stored window, and its end."""
    from service.plan import plan, reminders_of, store_window

    start, end = store_window(config, today)
    occurrences = plan(config, start, end)
    deadlines = sum(len(p.deadlines) for p in config.people)
    return len(config.people), deadlines, len(occurrences), len(reminders_of(occurrences)), end


@main.command()
@config_option
@click.option("--from", "start", type=DATE, help="First date (default: today).")
@click.option("--until", "end", type=DATE, help="Last date (default: today + horizon_days).")
@click.option("--person", "person", metavar="ID", help="Only this person.")
@json_option
@click.pass_context
def deadlines(
    ctx: click.Context, start: date | None, end: date | None, person: str | None, as_json: bool
) -> None:
    """Deadline occurrences after roll rules, with their reminder instants."""
    options = f"{start} {end} {person} {as_json}"
    _remembered_output(
        ctx,
        "deadlines",
        options,
        lambda config, today: _deadlines(config, today, start, end, person, as_json),
    )


def _deadlines(
    config: Config,
    today: date,
    start: date | None,
    end: date | None,
    person: str | None,
    as_json: bool,
) -> None:
    from service.plan import plan

    _check_person(config, person)
    start = start or today
    end = end or today + timedelta(days=config.service.horizon_days)
    if end < start:
        raise StaywatchError(f"--until {end} is before --from {start}; swap them")
    occurrences = plan(config, start, end, people=[person] if person else None)
    if as_json:
        _print_json([o.as_json() for o in occurrences])
        return
    from service.texts import kind_name

    rows = []
    for o in occurrences:
        notes = []
        if o.covers:
            notes.append(f"covers {o.covers}")
        if o.moved:
            notes.append(f"moved from {o.nominal}: " + ", ".join(m.reason for m in o.moved))
        if o.closed:
            notes.append(f"offices closed ({o.closed})")
        if o.limit == "stay":
            notes.append("the period of stay ends first")
        elif o.limit == "exemption":
            notes.append(
                "1 or 2 years after leaving"
                if o.texts_key != o.kind
                else "check the period of stay does not end sooner (until)"
            )
        ahead = [r for r in o.reminders if r.due.date() >= today]
        rows.append(
            (
                f"{o.date} {o.date:%a}",
                o.person,
                o.deadline,
                o.title or kind_name(o.texts_key, "en"),
                "; ".join(notes),
                str(len(o.reminders)),
                ahead[0].due.strftime("%Y-%m-%d %H:%M") if ahead else "",
            )
        )
    _table(("Date", "Person", "Deadline", "What", "Notes", "Reminders", "Next"), rows)
    if not rows:
        click.echo(f"No deadlines between {start} and {end}.")


#: What changes how rich lays out or colours a table it prints.
_RICH_ENV = (
    "COLUMNS",
    "LINES",
    "FORCE_COLOR",
    "NO_COLOR",
    "TERM",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
)


def _remembered_output(
    ctx: click.Context, kind: str, options: str, produce: Callable[[Config, date], None]
) -> None:
    """Print what ``produce`` prints, from the cache when config files, day and options match.

    Only for output that depends on nothing but those (no store) and only when
    stdout is not a terminal (a terminal's width changes the table).
    """
    import contextlib
    import io

    from service.configcache import keep, lookup

    if sys.stdout.isatty():
        config = _load_keeping_facts(ctx)
        produce(config, _today(config))
        return
    env = " ".join(f"{name}={os.environ.get(name, '')}" for name in _RICH_ENV)
    facts = _facts(ctx)
    if facts is not None:
        found = lookup(kind, _config_path(ctx), f"{_zone_today(facts.timezone)} {options} {env}")
        if isinstance(found, str):
            click.echo(found, nl=False)
            return
    config = _load_keeping_facts(ctx)
    today = _today(config)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        produce(config, today)
    text = buffer.getvalue()
    keep(config, kind, f"{today} {options} {env}", text)
    click.echo(text, nl=False)


def _check_person(config: Config, person: str | None) -> None:
    from service.errors import UnknownPerson

    if person is not None and config.person(person) is None:
        raise UnknownPerson(person, [p.id for p in config.people])


@main.command()
@config_option
@click.option("--days", default=30, show_default=True, type=click.IntRange(0, 3660))
@click.option("--from", "start", type=DATE, help="First day (default: today).")
@click.option("--person", "person", metavar="ID", help="Only this person.")
@json_option
@click.pass_context
def upcoming(
    ctx: click.Context, days: int, start: date | None, person: str | None, as_json: bool
) -> None:
    """Planned reminders with their status (pending, sent, failed, acknowledged, skipped)."""
    quick = _quick_upcoming(ctx, days, start, person)
    if quick is not None:
        start, rows = quick
    else:
        from service.status import upcoming_reminders

        config = _load_keeping_facts(ctx)
        _check_person(config, person)
        start = start or _today(config)
        rows = _run(upcoming_reminders(config, start, start + timedelta(days=days), person))
    if as_json:
        _print_json([row.as_json() for row in rows])
        return
    shown: dict[tuple[datetime, Any], str] = {}  # thousands of rows share a few instants
    _table(
        ("Due", "Status", "Person", "Deadline", "Date", "Key"),
        [
            (
                shown.get((row.due, row.due.tzinfo))
                or shown.setdefault(
                    (row.due, row.due.tzinfo), row.due.strftime("%Y-%m-%d %H:%M %z")
                ),
                row.status,
                row.person,
                row.deadline,
                row.date.isoformat(),
                row.key,
            )
            for row in rows
        ],
    )
    if not rows:
        click.echo(f"No reminders due in the {days} days from {start}.")


def _facts(ctx: click.Context) -> Facts | None:
    """The remembered facts of an unchanged valid config (see service.quickread), or None."""
    from service.configcache import lookup
    from service.quickread import FACTS, Facts

    found = lookup(FACTS, _config_path(ctx))
    return found if isinstance(found, Facts) else None


def _load_keeping_facts(ctx: click.Context) -> Config:
    """:func:`_load`, remembering the facts the quick paths of the next commands read."""
    from service.configcache import keep
    from service.quickread import FACTS, facts_of

    config = _load(ctx)
    keep(config, FACTS, "", facts_of(config))
    return config


def _zone_today(zone: str) -> date:
    from zoneinfo import ZoneInfo

    from service.clock import SystemClock

    return SystemClock().now().astimezone(ZoneInfo(zone)).date()


def _quick_upcoming(
    ctx: click.Context, days: int, start: date | None, person: str | None
) -> tuple[date, list[UpcomingRow]] | None:
    """``upcoming`` from the stored plan without loading the config; None: take the full path."""
    from service.quickread import upcoming_rows, usable

    facts = _facts(ctx)
    if facts is None or (person is not None and facts.zone(person) is None):
        return None
    database = usable(facts)
    if database is None:
        return None
    today = _zone_today(facts.timezone)
    start = start or today
    rows = upcoming_rows(facts, database, start, start + timedelta(days=days), person, today)
    return None if rows is None else (start, rows)


@main.command()
@config_option
@click.argument("target", metavar="PERSON/DEADLINE[/YYYY-MM-DD]")
@click.pass_context
def done(ctx: click.Context, target: str) -> None:
    """Acknowledge an occurrence: nothing more is sent for it."""
    from service.status import acknowledge_target

    config = _load(ctx)
    result = _run(acknowledge_target(config, target, _today(config)))
    click.echo(result)


@main.command()
@config_option
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Deliveries, failures, last reload and config errors."""
    from service.status import status_snapshot

    snapshot = _run(status_snapshot(_config_path(ctx)))
    if as_json:
        _print_json(snapshot)
        return
    click.echo(f"config:      {'ok' if snapshot['config_ok'] else 'INVALID'}")
    for problem in snapshot["config_errors"]:
        click.echo(f"  {problem}")
    click.echo(f"database:    {'reachable' if snapshot['db_ok'] else 'UNREACHABLE'}")
    click.echo(
        f"reminders:   {snapshot['pending']} pending, {snapshot['sent']} sent, "
        f"{snapshot['failed']} failed, {snapshot['acknowledged']} acknowledged, "
        f"{snapshot['skipped']} skipped"
    )
    click.echo(f"next due:    {snapshot['next_due'] or '-'}")
    click.echo(f"last plan:   {snapshot['last_plan'] or '-'}")
    click.echo(f"last reload: {snapshot['last_reload'] or '-'}")
    click.echo(f"daemon:      {snapshot['daemon']}")
    if snapshot["failures"]:
        click.echo("failures:")
        for failure in snapshot["failures"]:
            click.echo(f"  {failure['key']}: {failure['reason']}")


@main.command()
@config_option
@json_option
@click.option("--send", is_flag=True, help="Also send one test message through each channel.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool, send: bool) -> None:
    """Check a deployment end to end (config, database, mail, secret, URL, clock, channels)."""
    from service.doctor import run_checks

    checks = _run(run_checks(_config_path(ctx), send=send))
    if as_json:
        _print_json([c.as_json() for c in checks])
    else:
        for check in checks:
            click.echo(check.line())
    if not all(c.ok for c in checks):
        ctx.exit(1)


@main.command("send-test")
@config_option
@click.option(
    "--channel",
    "channel_id",
    metavar="ID",
    default=None,
    help="Send through this [[channel]] instead, to TARGET (what replaces its {to}).",
)
@click.argument("address", metavar="ADDRESS|TARGET", required=False, default=None)
@click.pass_context
def send_test(ctx: click.Context, channel_id: str | None, address: str | None) -> None:
    """Send one test email to ADDRESS, or with --channel ID one test message to TARGET."""
    from service.dispatcher import send_channel_test, send_test_message

    config = _load(ctx)
    if channel_id is not None:
        click.echo(_run(send_channel_test(config, channel_id, address or "")))
        return
    if not address:
        raise click.UsageError("give the ADDRESS to send the test email to")
    click.echo(_run(send_test_message(config, address)))


@main.command()
@config_option
@click.argument("key", metavar="KEY")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "short", "eml"]),
    default="text",
    show_default=True,
    help="text: the headers people see and the text part (what a full channel sends); "
    "html: the HTML part; short: the title and text a short channel (chat, SMS) sends; "
    "eml: the whole message as the daemon delivers it.",
)
@click.pass_context
def preview(ctx: click.Context, key: str, fmt: str) -> None:
    """Print the message a reminder KEY sends (or sent), as the daemon renders it; nothing is sent.

    KEY is PERSON/DEADLINE/YYYY-MM-DD/OFFSET (see `staywatch upcoming`); an
    escalation to an office adds +OFFICE.
    """
    from service.clock import SystemClock
    from service.compose import preview as compose_preview

    config = _load(ctx)
    shown = _run(compose_preview(config, key, now=SystemClock().now()))
    if shown.warning:
        click.echo(f"Warning: {shown.warning}", err=True)
    message = shown.message
    if fmt == "short":
        if shown.short is not None:
            click.echo(f"Title: {shown.short.title}")
            click.echo(f"X-Staywatch-Key: {shown.key} ({shown.status})")
            click.echo()
            click.echo(shown.short.body)
        return
    if fmt == "eml":
        from service.fullwrite import write_all
        from service.mailwire import message_bytes

        write_all(sys.stdout.buffer, message_bytes(message, linesep="\n"))
        return
    subtype = "html" if fmt == "html" else "plain"
    part = message.get_body((subtype,))
    body = str(part.get_content()) if part is not None else ""
    if fmt == "html":
        click.echo(body, nl=False)
        return
    for name in ("Subject", "From", "To", "Cc", "Date"):
        if message[name] is not None:
            click.echo(f"{name}: {message[name]}")
    click.echo(f"X-Staywatch-Key: {shown.key} ({shown.status})")
    click.echo()
    click.echo(body, nl=False)


@main.command()
@config_option
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon: scheduler, delivery, calendar feed and config reload."""
    import gc

    path = _config_path(ctx)
    # The imports build objects that live as long as the process: the cycle
    # collector would walk them again and again while they load (a tenth of the
    # start-up), and at every full collection for years after. Frozen, it skips them.
    gc.disable()
    # Started first: the child plans while this process imports the daemon.
    ahead = _plan_ahead(path)
    from service.daemon import run_daemon
    from service.logs import configure

    gc.freeze()
    gc.enable()

    configure(
        "DEBUG" if "--debug" in sys.argv else os.environ.get("STAYWATCH_LOG_LEVEL", "INFO"),
        json_lines=os.environ.get("STAYWATCH_LOG_FORMAT") == "json",
    )
    code = run_daemon(path, ahead=ahead)
    ctx.exit(code)


def _plan_ahead(path: Path) -> PlanAhead | None:
    """A child that plans the config while the daemon starts, if the store needs a plan."""
    from service.planahead import PlanAhead, worth_starting

    return PlanAhead.start(path) if worth_starting() else None


@main.command("feed-url")
@config_option
@click.argument("person", required=False)
@click.option("--all", "all_people", is_flag=True, help="The admin feed of everyone.")
@click.option(
    "--office",
    "office",
    metavar="ID",
    help="An office's dashboard URL (add .csv or .ics for the export and the calendar).",
)
@click.option("--rotate", is_flag=True, help="Revoke the old URL and print a new one.")
@click.pass_context
def feed_url(
    ctx: click.Context, person: str | None, all_people: bool, office: str | None, rotate: bool
) -> None:
    """Print a person's calendar feed URL (or --all, or --office ID), or --rotate it."""
    if [bool(person), all_people, office is not None].count(True) != 1:
        raise StaywatchError("give one of PERSON, --all or --office ID")
    if office is None and not rotate:
        url = _quick_feed_url(ctx, person)
        if url is not None:
            click.echo(url)
            return
    from service.publish import feed_url_for, office_url_for

    config = _load_keeping_facts(ctx)
    if office is not None:
        if config.office(office) is None:
            known = ", ".join(o.id for o in config.offices) or "none yet (add an [[office]])"
            raise StaywatchError(f"no office '{office}' in the config; known: {known}")
        click.echo(_run(office_url_for(config, office, rotate=rotate)))
        return
    _check_person(config, person)
    click.echo(_run(feed_url_for(config, person, rotate=rotate)))


def _quick_feed_url(ctx: click.Context, person: str | None) -> str | None:
    """A feed URL from the remembered facts and the stored generation; None: the full path."""
    from service.publish import ADMIN_SCOPE, generation_key
    from service.quickread import generation, usable
    from service.tokens import admin_token, feed_token, load_or_create_secret

    facts = _facts(ctx)
    if facts is None or (person is not None and facts.zone(person) is None):
        return None
    database = usable(facts)
    if database is None:
        return None
    secret = load_or_create_secret(Path(facts.secret_file))
    current = generation(database, generation_key(person or ADMIN_SCOPE))
    token = admin_token(secret, current) if person is None else feed_token(secret, person, current)
    return f"{facts.public_url}/calendar/{token}.ics"


@main.group()
def feed() -> None:
    """Calendar feed files."""


@feed.command("export")
@config_option
@click.argument("person")
@click.option("-o", "--output", "output", required=True, metavar="FILE.ics", type=click.Path())
@click.pass_context
def feed_export(ctx: click.Context, person: str, output: str) -> None:
    """Write a person's calendar to FILE.ics."""
    from service.publish import feed_bytes

    config = _load(ctx)
    _check_person(config, person)
    body = _run(feed_bytes(config, person))
    target = Path(output)
    try:
        target.write_bytes(body)
    except OSError as exc:
        raise StaywatchError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output} ({len(body)} bytes)")


@main.command("import")
@config_option
@click.argument("csv_file", metavar="FILE.csv", type=click.Path(path_type=Path))
@click.option(
    "--into",
    default="people/imported.toml",
    show_default=True,
    metavar="FILE.toml",
    help="The included people file to write (relative to the config's folder).",
)
@click.option("--dry-run", is_flag=True, help="Print the diff; write nothing.")
@click.pass_context
def import_command(ctx: click.Context, csv_file: Path, into: str, dry_run: bool) -> None:
    """Add or update people from a CSV (checked in full first; nothing is written on errors)."""
    from service.importer import plan_import, write_import

    path = _config_path(ctx)
    result = plan_import(path, csv_file, into, today=_validation_today())
    if dry_run:
        diff = result.diff()
        click.echo(diff if diff else "No changes.", nl=not diff)
        click.echo(f"{result.summary()}; dry run, nothing was written")
        return
    if not result.changed:
        click.echo(f"{result.summary()}; nothing to write")
        return
    write_import(result)
    if result.include_pattern is not None:
        click.echo(f'{path}: added include = ["{result.include_pattern}"]')
    click.echo(f"{result.summary()}; a running daemon reloads it.")


@main.command("export")
@config_option
@click.option("--csv", "as_csv", is_flag=True, default=True, help="CSV (the only format).")
@click.option("-o", "--output", "output", metavar="FILE.csv", type=click.Path(path_type=Path))
@click.pass_context
def export_command(ctx: click.Context, as_csv: bool, output: Path | None) -> None:
    """Write everyone's import columns and next occurrence as CSV (stdout or -o FILE)."""
    from service.importer import export_csv

    config = _load(ctx)
    if output is None:
        click.echo(export_csv(config, _today(config)), nl=False)
        return
    text = export_csv(config, _today(config), bom=True)
    try:
        output.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise StaywatchError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output} ({len(config.people)} people)")


@main.group()
def add() -> None:
    """Add a person or a deadline to the config file (comments are kept)."""


def _edited(ctx: click.Context, edit: Callable[[str], str], what: str) -> Config:
    from service.configedit import apply_edit

    path = _config_path(ctx)
    config = apply_edit(path, edit, today=_validation_today())
    click.echo(f"{path}: {what} ({len(config.people)} people); a running daemon reloads it.")
    return config


@add.command("person")
@config_option
@click.argument("person_id", metavar="ID")
@click.option("--name", required=True, help="Full name as it should appear in emails.")
@click.option("--email", "emails", required=True, multiple=True, help="Address (repeatable).")
@click.option("--language", type=click.Choice(LANGUAGES), help="Language of messages.")
@click.option("--timezone", help="IANA time zone, e.g. Asia/Seoul.")
@click.pass_context
def add_person(
    ctx: click.Context,
    person_id: str,
    name: str,
    emails: tuple[str, ...],
    language: str | None,
    timezone: str | None,
) -> None:
    """Add a person: staywatch add person ID --name NAME --email ADDRESS."""
    from service import configedit

    _edited(
        ctx,
        lambda text: configedit.add_person(
            text, person_id, name=name, emails=emails, language=language, timezone=timezone
        ),
        f"added person {person_id}",
    )


class _LeadList(click.ParamType[list[int | str]]):
    name = "LIST"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> list[int | str]:
        items: list[int | str] = []
        for part in str(value).split(","):
            part = part.strip()
            if part:
                items.append(int(part) if part.isdigit() else part)
        return items


@add.command("deadline")
@config_option
@click.argument("target", metavar="PERSON/ID")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(KINDS),
)
@click.option("--date", "day", type=DATE, help="Expiry or due date.")
@click.option("--entry", type=DATE, help="arc_registration, nhis_enrolment: date of entry.")
@click.option("--moved", type=DATE, help="address_report: move-in date.")
@click.option("--departed", type=DATE, help="reentry: the day of leaving Korea.")
@click.option(
    "--permanent/--no-permanent", default=None, help="reentry: a permanent resident (F-5)."
)
@click.option("--changed", type=DATE, help="registration_change: the day of the change.")
@click.option(
    "--what",
    type=click.Choice(["passport", "name", "nationality", "workplace", "school", "other"]),
    help="registration_change: what changed (default passport).",
)
@click.option("--born", type=DATE, help="newborn_status, arc_at_17: date of birth.")
@click.option("--ended", type=DATE, help="workplace_change: last day of the contract.")
@click.option("--applied", type=DATE, help="workplace_change: day the change was requested.")
@click.option("--status", help="nhis_enrolment: status of stay, e.g. D-2.")
@click.option("--registered", type=DATE, help="nhis_enrolment (D-2, D-4-3): registration day.")
@click.option("--start", type=DATE, help="nhis_premium or rrule: first month / anchor.")
@click.option(
    "--until", type=DATE, help="nhis_premium, rrule: last month / date; reentry: end of stay."
)
@click.option("--at", "at", help="custom: an instant with offset, 2027-01-05T10:00:00+09:00.")
@click.option("--rrule", help="custom: RFC 5545 rule, e.g. FREQ=MONTHLY;BYMONTHDAY=1.")
@click.option("--title", help="custom: what is due.")
@click.option("--note", help="A note shown in emails and the calendar.")
@click.option("--remind", type=_LeadList(), help="Lead times: 30,7,P1D,PT0S.")
@click.option("--schedule", type=click.Choice(["foreigner", "national"]))
@click.option("--autopay/--no-autopay", default=None)
@click.option("--roll", type=click.Choice(["none", "preceding", "following"]))
@click.option("--recipient", "recipients", multiple=True, help="Extra address (repeatable).")
@click.option("--escalate", help="When an office hears if nobody acted: P14D, PT1M or false.")
@click.pass_context
def add_deadline(ctx: click.Context, /, target: str, kind: str, **options: Any) -> None:
    """Add a deadline: staywatch add deadline PERSON/ID --kind KIND --date DATE."""
    from service import configedit

    person_id, deadline_id = configedit.split_target(target)
    if deadline_id is None:
        raise StaywatchError(f"'{target}' is not PERSON/ID; write e.g. wang-fang/visa")
    fields: dict[str, object] = {}
    options.pop("day")
    for key, value in options.items():
        if value is None or value == ():
            continue
        if key == "escalate" and value.lower() == "false":
            value = False
        if key == "at":
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                raise StaywatchError(
                    f"--at '{value}' is not a date and time; write e.g. 2027-01-05T10:00:00+09:00"
                ) from None
        fields[key] = list(value) if isinstance(value, tuple) else value
    day = ctx.params.get("day")
    if day is not None:
        fields["date"] = day
    _edited(
        ctx,
        lambda text: configedit.add_deadline(
            text, person_id, deadline_id, kind=kind, fields=fields
        ),
        f"added deadline {person_id}/{deadline_id}",
    )


@main.command("set")
@config_option
@click.argument("target", metavar="PERSON[/DEADLINE]")
@click.argument("assignments", metavar="KEY=VALUE...", nargs=-1, required=True)
@click.pass_context
def set_command(ctx: click.Context, target: str, assignments: tuple[str, ...]) -> None:
    """Change values: staywatch set wang-fang/visa date=2027-09-14."""
    from service import configedit

    config = _edited(
        ctx,
        lambda text: configedit.set_values(text, target, assignments),
        f"updated {target}",
    )
    hint = configedit.passport_hint(config, target, assignments, _today(config))
    if hint:
        click.echo(hint)


@main.command()
@config_option
@click.argument("target", metavar="PERSON[/DEADLINE]")
@click.pass_context
def remove(ctx: click.Context, target: str) -> None:
    """Remove a person (with all deadlines) or one deadline."""
    from service import configedit

    _edited(ctx, lambda text: configedit.remove(text, target), f"removed {target}")


if __name__ == "__main__":  # pragma: no cover
    main()
