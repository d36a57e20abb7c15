"""Scenario 12: hostile input.

- Config fuzzing: hypothesis-generated TOML documents and mutations of the
  example config never crash the loader, and every error names the file and a
  line inside it.
- Header injection: nasty text in every free-text field (names, titles, notes,
  office names, addresses) never adds a header or a recipient on the wire.
- Wrong feed tokens and action links: all get the same 404 body, take the same
  time whatever their shape, and leave nothing in the logs.

The full 10,000 header cases run with ``-m slow``; ``make test`` runs 1,000 of them
and all 10,000 wrong tokens and links.
"""

from __future__ import annotations

import logging
import random
import statistics
import string
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.clock import FixedClock, SystemClock
from service.config import Config, parse_config
from service.errors import ConfigError
from service.mailwire import message_bytes
from service.plan import plan
from service.publish import secret_of
from service.render import render_escalation, render_reminder
from service.tokens import feed_token, office_token, sign_action
from service.transport import SmtpTransport, envelope_of
from service.web import NOT_FOUND
from tests.fixtures.daemon import free_port
from tests.fixtures.smtp import SmtpServer
from tests.reliability.helpers import LocalDaemon, parse, seeded, service_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"
FUZZ_PATH = "fuzz/staywatch.toml"

# -- config fuzzing -------------------------------------------------------------------------

KEYS = {
    "service": [
        "timezone",
        "send_time",
        "database",
        "horizon_days",
        "holidays",
        "extra_holidays",
        "not_holidays",
        "secret_file",
        "bogus",
    ],
    "mail": [
        "transport",
        "maildir",
        "from",
        "host",
        "port",
        "security",
        "username",
        "password_file",
        "password_env",
        "timeout",
        "concurrency",
        "password",
    ],
    "feed": ["listen", "public_url", "refresh_minutes", "x"],
    "reminders": ["stay_expiry", "nhis_premium", "custom", "nope"],
    "person": ["id", "name", "email", "language", "timezone", "hide_details", "tags", "deadline"],
    "deadline": [
        "id",
        "kind",
        "date",
        "at",
        "entry",
        "moved",
        "start",
        "until",
        "rrule",
        "title",
        "note",
        "remind",
        "overdue",
        "roll",
        "recipients",
        "escalate",
        "autopay",
        "schedule",
        "extra",
    ],
    "office": ["id", "name", "email", "language", "people", "tags", "digest", "digest_days"],
}
GOOD = {
    "kind": ["stay_expiry", "custom", "nhis_premium", "arc_registration", "bogus"],
    "timezone": ["Asia/Seoul", "Mars/Olympus", "UTC"],
    "email": [["a@example.org"], ["not-an-address"], []],
    "send_time": ["09:00", "25:00", "9"],
    "roll": ["none", "following", "sideways"],
    "remind": [[30, 7, "P4M", "PT2H"], ["P-1D"], [-3], ["soon"]],
    "rrule": ["FREQ=MONTHLY;BYMONTHDAY=1", "FREQ=HOURLY", "NOT A RULE"],
    "id": ["ana", "Bad Id!", "x" * 80],
}

scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=40),
    st.dates(),
    st.datetimes(timezones=st.sampled_from([UTC, None])),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def tables(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(KEYS[kind]), max_size=len(KEYS[kind]), unique=True)):
        if key == "deadline":
            table[key] = draw(st.lists(tables("deadline"), max_size=3))
        elif key in GOOD and draw(st.booleans()):
            table[key] = draw(st.sampled_from(GOOD[key]))
        else:
            table[key] = draw(values)
    return table


@st.composite
def documents(draw: st.DrawFn) -> str:
    document: dict[str, Any] = {}
    for section in ("service", "mail", "feed", "reminders"):
        if draw(st.booleans()):
            document[section] = draw(tables(section))
    document["person"] = draw(st.lists(tables("person"), max_size=3))
    if draw(st.booleans()):
        document["office"] = draw(st.lists(tables("office"), max_size=2))
    if draw(st.integers(0, 5)) == 0:
        document[draw(st.text(min_size=1, max_size=6))] = draw(values)
    return tomlkit.dumps(document)


REPLACEMENTS = ["", "1", '"x"', "[", "2027-02-30", "true", "{a=1}", '"\\u0000"', "-inf"]


@st.composite
def mutations(draw: st.DrawFn) -> str:
    lines = EXAMPLE.read_text("utf-8").splitlines()
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["delete", "duplicate", "replace", "insert", "cut", "swap"]))
        if how == "delete":
            del lines[at]
        elif how == "duplicate":
            lines.insert(at, lines[at])
        elif how == "replace" and "=" in lines[at]:
            key = lines[at].split("=", 1)[0]
            lines[at] = f"{key}= {draw(st.sampled_from(REPLACEMENTS))}"
        elif how == "insert":
            lines.insert(at, draw(st.text(max_size=30)))
        elif how == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        else:
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines) + "\n"


def check_located(text: str) -> str:
    """Parse ``text``; on errors, each must name the file and a line inside it."""
    try:
        parse_config(text, FUZZ_PATH)
    except ConfigError as exc:
        problems = exc.problems
    else:
        return "valid"
    assert problems
    count = max(1, len(text.split("\n")))
    for problem in problems:
        assert problem.path == FUZZ_PATH, problem
        assert problem.line is not None, f"not located: {problem}"
        assert 1 <= problem.line <= count + 1, f"line {problem.line} of {count}: {problem}"
        assert str(problem).startswith(f"{FUZZ_PATH}:{problem.line}:")
        assert problem.message.strip()
        assert "Traceback" not in problem.message
    return "error"


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(documents())
def test_generated_toml_documents_never_crash_and_every_error_is_located(text: str) -> None:
    check_located(text)


@FUZZ
@given(mutations())
def test_mutated_example_configs_never_crash_and_every_error_is_located(text: str) -> None:
    check_located(text)


# -- header injection ----------------------------------------------------------------------

NASTY = [
    "\r\n",
    "\n",
    "\r",
    "\r\nBcc: evil@attacker.example",
    "\nTo: evil@attacker.example",
    "\r\n\r\n<html>injected body",
    "\x00",
    "\x0b",
    "\x0c",
    "\x1b[31m",
    "\x85",
    "\u2028",
    "\u2029",
    "\u202e",
    "\ufeff",
    "=?utf-8?q?=0D=0ABcc:=20evil@attacker.example?=",
    "=?utf-8?b?DQpCY2M6IGV2aWxAYXR0YWNrZXIuZXhhbXBsZQ==?=",
    "%0d%0aBcc:evil@attacker.example",
    "\t",
    "Subject: hijacked",
    "X-Staywatch-Key: forged/key/2027-01-01/PT0S",
    "Content-Type: text/html",
    "<evil@attacker.example>",
    ',"evil@attacker.example" <evil@attacker.example>,',
    '"',
    "\\",
    ";",
    ":",
    "왕방",
    "王芳",
    "😀",
    "Ω" * 120,
    "a" * 300,
    " " * 20,
]
NASTY_ADDRESSES = [
    "evil@attacker.example\r\nBcc: x@attacker.example",
    "a@example.org, evil@attacker.example",
    '"a\r\nb"@example.org',
    "a@example.org\n",
    "<a@example.org>",
    "a@exam\x00ple.org",
]


#: What one-line fields (names, titles) let through validation.
ONE_LINE = [n for n in NASTY if not any(c in n for c in "\r\n\x00")]


def nasty(rng: random.Random) -> str:
    # Mostly what validation lets through, so that most cases reach the wire.
    pool = ONE_LINE if rng.random() < 0.8 else NASTY
    parts = [rng.choice(pool) for _ in range(rng.randint(1, 5))]
    parts.insert(rng.randint(0, len(parts)), rng.choice(["Ana", "Visa", "Tax", ""]))
    return "".join(parts)


def toml_string(value: str) -> str:
    """A TOML basic string for any text, control characters escaped."""
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


DAY = date(2027, 5, 20)


BENIGN = {
    "name": "Ana Lima",
    "title": "Renew",
    "note": "Bring the form",
    "office": "Intl Office",
    "email": "ana@example.org",
    "cc": "office@example.org",
}


def case_config(rng: random.Random) -> tuple[str, dict[str, str]]:
    """A one-person config with hostile text in the fields ``rng`` picks."""
    fields = {
        "name": nasty(rng) if rng.random() < 0.7 else BENIGN["name"],
        "title": nasty(rng) if rng.random() < 0.7 else BENIGN["title"],
        "note": nasty(rng) if rng.random() < 0.7 else BENIGN["note"],
        "office": nasty(rng) if rng.random() < 0.5 else BENIGN["office"],
        "email": rng.choice(NASTY_ADDRESSES) if rng.random() < 0.05 else BENIGN["email"],
        "cc": rng.choice(NASTY_ADDRESSES) if rng.random() < 0.05 else BENIGN["cc"],
    }
    return case_text(fields), fields


def case_text(fields: dict[str, str]) -> str:
    """The config text of one case."""
    return (
        '[service]\ntimezone = "Asia/Seoul"\n[mail]\nfrom = "staywatch <staywatch@example.org>"\n'
        f'\n[[office]]\nid = "intl"\nname = {toml_string(fields["office"])}\n'
        'email = ["intl@example.org"]\npeople = ["*"]\n'
        f'\n[[person]]\nid = "ana"\nname = {toml_string(fields["name"])}\n'
        f"email = [{toml_string(fields['email'])}]\n"
        f'  [[person.deadline]]\n  id = "visa"\n  kind = "custom"\n'
        f"  title = {toml_string(fields['title'])}\n  note = {toml_string(fields['note'])}\n"
        f'  date = {DAY}\n  remind = ["P7D"]\n  escalate = "P1D"\n'
        f"  recipients = [{toml_string(fields['cc'])}]\n"
    )


def header_names(wire: bytes) -> list[str]:
    """The header field names of a flattened message, in order (folded lines joined)."""
    head, sep, _ = wire.partition(b"\r\n\r\n")
    assert sep, "no end of the header block"
    names = []
    for line in head.split(b"\r\n"):
        assert b"\r" not in line, line
        assert b"\n" not in line, line
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation
        name, colon, _ = line.partition(b":")
        assert colon, f"a header line without a name: {line[:80]!r}"
        names.append(name.decode("ascii"))
    return names


def wire_of(message: Any) -> bytes:
    """The bytes the SMTP transport hands to the server."""
    return message_bytes(message)


def check_message(message: Any, expected_names: list[str], to: list[str], cc: list[str]) -> None:
    wire = wire_of(message)
    assert header_names(wire) == expected_names
    parsed = parse(wire)
    assert [a for _, a in getaddresses([str(parsed["To"])])] == to
    assert [a for _, a in getaddresses([str(parsed["Cc"])])] == cc if cc else parsed["Cc"] is None
    assert parsed["Bcc"] is None
    _, recipients = envelope_of(message)
    assert recipients == to + cc
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]


def render_copies(config: Config) -> list[Any]:
    """The recipients' own copies of the case's reminder, one per address."""
    [occurrence] = plan(config, DAY, DAY)
    person = config.people[0]
    now = datetime(2027, 5, 13, 0, 0, tzinfo=UTC)
    return [
        render_reminder(
            config,
            person,
            occurrence,
            occurrence.reminders[0],
            now=now,
            ack_url="http://127.0.0.1/act/y",
            feed_url="http://127.0.0.1/calendar/x.ics",
            recipient=address,
        )
        for address in person.deadlines[0].recipients
    ]


def render_case(config: Config) -> tuple[Any, Any]:
    [occurrence] = plan(config, DAY, DAY)
    person = config.people[0]
    now = datetime(2027, 5, 13, 0, 0, tzinfo=UTC)
    reminder = render_reminder(
        config,
        person,
        occurrence,
        occurrence.reminders[0],
        now=now,
        ack_url="http://127.0.0.1/act/x",
        feed_url="http://127.0.0.1/calendar/x.ics",
    )
    escalation = render_escalation(
        config,
        config.offices[0],
        person,
        occurrence,
        occurrence.escalations[0],
        now=now,
        history=[],
        ack_url="http://127.0.0.1/act/x",
        dashboard_url="http://127.0.0.1/office/x",
    )
    return reminder, escalation


@pytest.mark.parametrize(
    "cases", [1000, pytest.param(10_000, marks=[pytest.mark.slow, pytest.mark.timeout(900)])]
)
async def test_header_injection_through_every_text_field(cases: int, smtp_server: Any) -> None:
    rng = seeded(f"headers-{cases}")
    benign = parse_config(case_text(BENIGN), "h.toml")
    names_reminder, names_escalation = (header_names(wire_of(m)) for m in render_case(benign))
    # Recipients get copies of their own (render_copies), with the same header names.
    assert "Cc" not in names_reminder
    assert render_copies(benign)
    server: SmtpServer = smtp_server("none")
    transport = SmtpTransport(server.mail_section(), None)
    refused = rendered = 0
    over_the_wire: list[tuple[Any, list[str]]] = []
    try:
        for n in range(cases):
            text, fields = case_config(rng)
            try:
                config = parse_config(text, "h.toml")
            except ConfigError as exc:
                problems = exc.problems
            else:
                problems = ()
            if problems:
                # Refused at the door is fine, if the problem is located.
                assert all(p.line for p in problems), problems
                refused += 1
                continue
            person = config.people[0]
            to = list(person.email)
            cc = list(person.deadlines[0].recipients)
            assert to == [fields["email"]]
            reminder, escalation = render_case(config)
            check_message(reminder, names_reminder, to, [])
            copies = render_copies(config)
            assert len(copies) == len(cc)
            for address, copy in zip(cc, copies, strict=True):
                check_message(copy, names_reminder, [address], [])
            check_message(escalation, names_escalation, list(config.offices[0].email), [])
            rendered += 1
            if n % 10 == 0:  # every tenth case goes over real SMTP too
                await transport.send(reminder)
                over_the_wire.append((reminder, to))
                for address, copy in zip(cc, copies, strict=True):
                    await transport.send(copy)
                    over_the_wire.append((copy, [address]))
    finally:
        await transport.close()
    assert len(server.messages) == len(over_the_wire)
    for received, (message, recipients) in zip(server.messages, over_the_wire, strict=True):
        assert list(received.rcpt_tos) == recipients
        assert header_names(received.data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")) == (
            header_names(wire_of(message))
        )
    assert rendered > cases * 0.5
    print(
        f"FIGURE s12-headers: {cases} hostile configs: {rendered} rendered (reminder + "
        f"escalation), {refused} refused by validation with a located error; "
        f"{len(over_the_wire)} sent over SMTP; extra headers 0, extra recipients 0"
    )


# -- wrong tokens and links ----------------------------------------------------------------

B64 = string.ascii_letters + string.digits + "-_"
WEIRD = string.printable.replace("/", "").replace("?", "").replace("#", "") + "한중😀\x7f"


def near_miss(token: str, rng: random.Random) -> str:
    at = rng.randrange(len(token))
    choice = rng.choice([c for c in B64 if c != token[at]])
    return token[:at] + choice + token[at + 1 :]


def quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[LocalDaemon]:
    port = free_port()
    path = tmp_path / "staywatch.toml"
    body = (
        '\n[[office]]\nid = "intl"\nname = "Intl"\nemail = ["intl@example.org"]\npeople = ["*"]\n'
        + "".join(
            f'\n[[person]]\nid = "{p}"\nname = "{p}"\nemail = ["{p}@example.org"]\n'
            f'  [[person.deadline]]\n  id = "visa"\n  kind = "stay_expiry"\n'
            f"  date = 2030-01-0{i + 1}\n"
            for i, p in enumerate(["ana", "bob", "cai"])
        )
    )
    path.write_text(service_config(port=port, body=body), "utf-8")
    local = LocalDaemon(path, port, FixedClock(SystemClock().now()))
    await local.start()
    try:
        yield local
    finally:
        await local.stop()


async def test_wrong_tokens_and_links_all_look_the_same(
    running: LocalDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    count = 10_000
    rng = seeded(f"tokens-{count}")
    config = running.daemon.config
    secret = secret_of(config)
    real = [feed_token(secret, p, 0) for p in ("ana", "bob", "cai")]
    office = office_token(secret, "intl", 0)
    link = sign_action(
        secret, occurrence="ana/visa/2030-01-01", expires=datetime.now(UTC) + timedelta(days=30)
    )
    payload, _, tag = link.partition(".")

    # Sanity: the real ones work, so a 404 below is about the token alone.
    assert (await running.get(f"/calendar/{real[0]}.ics"))[0] == 200
    assert (await running.get(f"/office/{office}"))[0] == 200
    assert (await running.get(f"/act/{link}"))[0] == 200

    kinds = {
        # Well-formed (24 base64url characters) but nobody's.
        "random": lambda: "/calendar/" + "".join(rng.choice(B64) for _ in range(24)) + ".ics",
        # One character away from a real token.
        "near": lambda: f"/calendar/{near_miss(rng.choice(real), rng)}.ics",
        # Any shape at all.
        "garbage": lambda: (
            "/calendar/"
            + quoted("".join(rng.choice(WEIRD) for _ in range(rng.randint(0, 200))))
            + ".ics"
        ),
        "office": lambda: "/office/" + near_miss(office, rng) + rng.choice(["", ".csv", ".ics"]),
        "act-tag": lambda: f"/act/{payload}.{near_miss(tag, rng)}",
        "act-payload": lambda: f"/act/{near_miss(payload, rng)}.{tag}",
        "act-garbage": lambda: (
            "/act/" + quoted("".join(rng.choice(WEIRD) for _ in range(rng.randint(0, 200))))
        ),
    }
    plan_ = [rng.choice(list(kinds)) for _ in range(count)]
    timings: dict[str, list[float]] = {k: [] for k in kinds}
    # One body for every wrong token; one page for every wrong /act/ link (it tells a
    # person who copied a link short, in English and Korean, and nothing about the link).
    bodies: dict[bool, set[bytes]] = {False: set(), True: set()}
    statuses: set[int] = set()
    tried: list[str] = []
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{running.port}") as session:
        for kind in plan_:
            path = kinds[kind]()
            method = "POST" if kind.startswith("act") and rng.random() < 0.5 else "GET"
            tried.append(path)
            started = time.perf_counter()
            async with session.request(method, path, allow_redirects=False) as response:
                body = await response.read()
            timings[kind].append(time.perf_counter() - started)
            statuses.add(response.status)
            bodies[kind.startswith("act")].add(body)
    records = list(caplog.records)

    assert statuses == {404}
    assert bodies[False] == {NOT_FOUND}
    assert len(bodies[True]) == 1
    assert b"This link is not valid" in next(iter(bodies[True]))
    # Nothing about these requests in the logs: no line at all from the web side,
    # and no token in any line.
    web_lines = [r for r in records if r.name.startswith(("aiohttp", "service.web"))]
    assert web_lines == [], [r.getMessage() for r in web_lines[:5]]
    text = "\n".join(r.getMessage() for r in records)
    leaked = [p for p in tried if len(p) > 20 and p.rsplit("/", 1)[-1][:16] in text]
    assert leaked == []
    # No timing signal: the medians of all kinds within 50% (or 0.1 ms) of each other.
    medians = {k: statistics.median(v) for k, v in timings.items() if v}
    low, high = min(medians.values()), max(medians.values())
    assert high - low < max(0.5 * low, 0.0001), {k: f"{v * 1e3:.2f} ms" for k, v in medians.items()}
    print(
        f"FIGURE s12-tokens: {count} wrong tokens/links ({len(kinds)} kinds): all 404, one "
        f"body for tokens and one page for links; medians "
        f"{', '.join(f'{k} {v * 1e3:.2f} ms' for k, v in medians.items())}; "
        f"log lines from the web side 0"
    )
