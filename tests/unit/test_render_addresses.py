"""Whatever the config accepts as an address, a name or a sender, rendering can send.

Addresses (people, offices, ``recipients``), names and ``[mail] from`` are generated
from the whole family users type or paste: display names around addresses,
internal and special-use domains, internationalised domains and local parts,
quotes, control characters, every line separator ``str.splitlines`` knows. Either
the config refuses the value with a located error, or the reminder, the escalation
and the digest built from it serialise, and their headers parse back to exactly
the configured addresses.
"""

from __future__ import annotations

import asyncio
import email
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from service.config import Config, parse_config
from service.errors import ConfigError
from service.offices import DigestContent, office_rows
from service.plan import plan
from service.render import render_digest, render_escalation, render_reminder

DAY = date(2027, 5, 20)
NOW = datetime(2027, 5, 13, 0, 0, tzinfo=UTC)
#: Every character ``str.splitlines`` ends a line at, and other controls.
BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\x00\t\x1b\x7f"


def mostly(valid: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``valid`` four times in five, else ``odd`` (hypothesis tries small numbers first)."""
    return st.integers(0, 4).flatmap(lambda n: odd if n == 4 else valid)


TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)
LOCALS = mostly(
    st.from_regex(r"\A[a-z0-9][a-z0-9._+-]{0,12}[a-z0-9]\Z").filter(lambda t: ".." not in t),
    st.one_of(
        st.sampled_from(["ünï", "o'brien", "a!#$%&*+/=?^_`{|}~", '"a b"', "a..b", ".a", "", "Bob"]),
        TEXT,
    ),
)
DOMAINS = mostly(
    st.one_of(
        st.sampled_from(
            ["example.org", "corp.local", "localhost", "lab.test", "intranet", "bücher.de"]
        ),
        st.sampled_from(["xn--bcher-kva.de", "例え.テスト", "mail.gov.kr", "한국.kr"]),
        st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9]\.(org|com|local|kr)\Z"),
    ),
    st.sampled_from(["[127.0.0.1]", "example..org", "-x.org", "a_b.org", "x.", ""]),
)
NAMES = mostly(
    st.one_of(
        st.sampled_from(
            [
                "Wang Fang",
                "Nguyễn Văn An",
                "김민수",
                'Lima, "Ana" <a@b>',
                "=?utf-8?q?=0D=0ABcc:_x@evil?=",
                "x" * 120,
                "a\u2028Bcc: evil@example.org",
                "Ana\x85Lima",
                "\u202eevil",
            ]
        ),
        st.text(
            st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"),
            min_size=1,
            max_size=30,
        ),
    ),
    st.builds(lambda a, brk, b: a + brk + b, TEXT, st.sampled_from(list(BREAKS)), TEXT),
)


@st.composite
def addresses(draw: st.DrawFn) -> str:
    local, domain = draw(LOCALS), draw(DOMAINS)
    address = f"{local}@{domain}"
    shape = draw(st.integers(0, 19))
    if shape == 19:
        return f"{draw(NAMES)} <{address}>"
    if shape == 18:
        return address + draw(st.sampled_from(list(BREAKS)))
    if shape == 17:
        return address.upper()
    return address


@st.composite
def senders(draw: st.DrawFn) -> str:
    address = draw(addresses())
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return address
    return f"{draw(NAMES)} <{address}>"


def toml(text: str) -> str:
    """A TOML basic string holding ``text`` exactly."""
    escaped = "".join(c if c.isprintable() and c not in '"\\' else f"\\U{ord(c):08x}" for c in text)
    return f'"{escaped}"'


def writable(*texts: str) -> bool:
    """False for text a TOML file cannot hold (lone surrogates)."""
    return not any(0xD800 <= ord(c) <= 0xDFFF for text in texts for c in text)


def config_text(sender: str, person: tuple[str, str], cc: str, office: tuple[str, str]) -> str:
    return (
        f"[mail]\nfrom = {toml(sender)}\n"
        f'\n[[office]]\nid = "intl"\nname = {toml(office[0])}\nemail = [{toml(office[1])}]\n'
        'people = ["*"]\n'
        f'\n[[person]]\nid = "ana"\nname = {toml(person[0])}\nemail = [{toml(person[1])}]\n'
        '  [[person.deadline]]\n  id = "visa"\n  kind = "custom"\n  title = "Visa"\n'
        f'  date = {DAY}\n  remind = ["P7D"]\n  escalate = "P1D"\n'
        f"  recipients = [{toml(cc)}]\n"
    )


def addresses_of(message: EmailMessage, name: str) -> list[str]:
    value = message[name]
    return [] if value is None else [a for _, a in getaddresses([str(value)])]


def parsed_back(message: EmailMessage) -> EmailMessage:
    wire = message.as_bytes()
    head = wire.partition(b"\r\n\r\n")[0]
    assert head.isascii(), "a header left the 7-bit ASCII range"
    parsed = email.message_from_bytes(wire, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert not parsed.defects, parsed.defects
    for name in ("From", "To", "Cc"):
        header = parsed[name]
        if header is not None:
            assert not header.defects, (name, header.defects)
    return parsed


def sender_address(config: Config) -> list[str]:
    return [a for _, a in getaddresses([config.mail.sender])]


def check_rendering(config: Config) -> None:
    person, office = config.people[0], config.offices[0]
    [occurrence] = plan(config, DAY, DAY)
    deadline = person.deadlines[0]

    reminder = parsed_back(
        render_reminder(
            config,
            person,
            occurrence,
            occurrence.reminders[0],
            now=NOW,
            ack_url="http://127.0.0.1/act/x",
            feed_url="http://127.0.0.1/calendar/x.ics",
        )
    )
    assert addresses_of(reminder, "From") == sender_address(config)
    assert addresses_of(reminder, "To") == list(person.email)
    assert reminder["Cc"] is None
    assert reminder["Bcc"] is None
    for recipient in deadline.recipients:
        copy = parsed_back(
            render_reminder(
                config,
                person,
                occurrence,
                occurrence.reminders[0],
                now=NOW,
                ack_url="http://127.0.0.1/act/y",
                feed_url="http://127.0.0.1/calendar/x.ics",
                recipient=recipient,
            )
        )
        assert addresses_of(copy, "To") == [recipient]
        assert copy["Cc"] is None

    escalation = parsed_back(
        render_escalation(
            config,
            office,
            person,
            occurrence,
            occurrence.escalations[0],
            now=NOW,
            history=[],
            ack_url="http://127.0.0.1/act/x",
            dashboard_url="http://127.0.0.1/office/x",
        )
    )
    assert addresses_of(escalation, "From") == sender_address(config)
    assert addresses_of(escalation, "To") == list(office.email)

    content = DigestContent(office, NOW, NOW - timedelta(days=7))
    content.upcoming = asyncio.run(office_rows(config, None, office, DAY - timedelta(days=3)))
    assert content.upcoming
    digest = parsed_back(render_digest(config, content, now=NOW, dashboard_url=None))
    assert addresses_of(digest, "From") == sender_address(config)
    assert addresses_of(digest, "To") == list(office.email)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sender=senders(),
    person=st.tuples(NAMES, addresses()),
    cc=addresses(),
    office=st.tuples(NAMES, addresses()),
)
@example(
    sender="staywatch <staywatch@localhost>",
    person=("Bob", "Bob <bob@corp.local>"),
    cc="hr@corp.local",
    office=("HR", "hr@corp.local"),
)
@example(
    sender="staywatch\u2028 <staywatch@example.org>",
    person=("Bob", "bob@example.org"),
    cc="hr@example.org",
    office=("HR", "hr@example.org"),
)
@example(
    sender="staywatch\x85 <staywatch@example.org>",
    person=("Bob", "ünï@corp.local"),
    cc="hr@bücher.de",
    office=("HR\u2029Bcc: x@evil.example", "hr@lab.test"),
)
@example(
    sender=". <00@example.org>",  # Python's header parser raises AttributeError on it
    person=("Wang Fang", "00@example.org"),
    cc="00@example.org",
    office=('Lima, "Ana" <a@b>', "o6@example.org"),
)
def test_what_the_config_accepts_renders_and_parses_back(
    sender: str, person: tuple[str, str], cc: str, office: tuple[str, str]
) -> None:
    assume(writable(sender, *person, cc, *office))
    text = config_text(sender, person, cc, office)
    try:
        config = parse_config(text, "x.toml")
    except ConfigError as exc:
        problems = exc.problems
    else:
        check_rendering(config)
        return
    lines = text.splitlines()
    keys = {"from", "email", "recipients", "name"}
    for problem in problems:
        assert problem.line is not None
        assert lines[problem.line - 1].split(" = ")[0].strip() in keys, str(problem)


@pytest.mark.parametrize(
    ("sender", "message"),
    [
        ("staywatch\u2028 <s@example.org>", "contains a line break or control character (U+2028)"),
        ("staywatch\u2029 <s@example.org>", "(U+2029)"),
        ("stay\vwatch <s@example.org>", "(U+000B)"),
        ("stay\fwatch <s@example.org>", "(U+000C)"),
        ("stay\x1cwatch <s@example.org>", "(U+001C)"),
        ("stay\x1ewatch <s@example.org>", "(U+001E)"),
        ("stay\x85watch <s@example.org>", "(U+0085)"),
        ("a <b@example.org>, c <d@example.org>", "names more than one sender; give one"),
        ("staywatch", "has no e-mail address"),
        ("staywatch <ünï@example.org>", "Internationalized characters before the @-sign"),
    ],
)
def test_a_sender_that_rendering_cannot_send_is_a_located_error(sender: str, message: str) -> None:
    text = f"[service]\n\n[mail]\nfrom = {toml(sender)}\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    (problem,) = info.value.problems
    assert (problem.line, problem.where) == (4, "[mail]")
    assert problem.message.startswith("from ")
    assert message in problem.message
    assert "\n" not in str(problem)


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("Bob <bob@corp.local>", "write only the address (bob@corp.local), without a name or <>"),
        ("bob@corp.local\u2028", "is not a valid e-mail address"),
        ("ünï@corp.local", "Internationalized characters before the @-sign are not supported"),
        ('"a b"@corp.local', "Quoting the part before the @-sign is not allowed here"),
    ],
)
def test_an_address_that_rendering_cannot_send_is_a_located_error(
    address: str, message: str
) -> None:
    text = f'[[person]]\nid = "bob"\nname = "Bob"\nemail = [{toml(address)}]\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    (problem,) = info.value.problems
    assert (problem.line, problem.where) == (4, "person 'bob'")
    assert message in problem.message


@pytest.mark.parametrize(
    ("given_address", "kept"),
    [
        ("bob@corp.local", "bob@corp.local"),
        ("Bob@Corp.Local", "Bob@corp.local"),
        ("it@localhost", "it@localhost"),
        ("a@bücher.de", "a@xn--bcher-kva.de"),
        ("x@intranet", "x@intranet"),
    ],
)
def test_internal_and_international_domains_are_kept_in_the_form_mail_carries(
    given_address: str, kept: str
) -> None:
    text = f'[[person]]\nid = "bob"\nname = "Bob"\nemail = [{toml(given_address)}]\n'
    assert parse_config(text, "x.toml").people[0].email == (kept,)
