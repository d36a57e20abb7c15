"""Log redaction (service.logs): signed links, feed tokens and passwords never reach a log
line, whether they are in the message, its %-arguments, an exception or a traceback;
requests the HTTP parser refused are summarised once a minute."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiohttp.http_exceptions import BadStatusLine, LineTooLong
from hypothesis import given
from hypothesis import strategies as st

from service.logs import JsonFormatter, MalformedRequests, RedactingFilter, redact
from service.tokens import admin_token, feed_token, sign_action

SECRET = b"0123456789abcdef0123456789abcdef"
LINK = sign_action(
    SECRET, occurrence="wang-fang/visa/2027-03-14", expires=datetime(2027, 5, 1, tzinfo=UTC)
)
TOKENS = [LINK.split(".")[0], LINK.split(".")[1], feed_token(SECRET, "wang-fang", 0)]
URLS = [
    f"http://127.0.0.1:8780/act/{LINK}",
    f"/calendar/{feed_token(SECRET, 'wang-fang', 0)}.ics",
    f"/office/{admin_token(SECRET)}.csv",
    f"/healthz?token={admin_token(SECRET)}",
]


@pytest.fixture(params=["plain", "json"])
def emitted(request: pytest.FixtureRequest) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler is set up as ``staywatch run`` sets up its own."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    formatter = (
        logging.Formatter("%(levelname)s %(name)s: %(message)s")
        if request.param == "plain"
        else JsonFormatter()
    )
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.logs.{request.param}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def clean(text: str) -> None:
    for secret in (LINK, *TOKENS, admin_token(SECRET)):
        assert secret not in text
    assert "<redacted>" in text


def test_a_link_in_the_arguments_is_redacted(emitted: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = emitted
    logger.info("acknowledged via %s by %s", URLS[0], "link")
    logger.warning("feeds %s and %r", URLS[1], URLS[2])
    clean(stream.getvalue())


def test_a_link_in_an_exception_and_its_traceback_is_redacted(
    emitted: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = emitted

    def handle(url: str) -> None:
        try:
            raise ValueError(f"bad request line {url!r}")
        except ValueError as exc:
            raise RuntimeError(f"while serving {url}") from exc

    try:
        handle(URLS[0])
    except RuntimeError:
        logger.exception("Error handling request from %s", "127.0.0.1")
    text = stream.getvalue()
    assert "Traceback" in text
    assert "RuntimeError: while serving" in text
    clean(text)


def test_the_same_record_is_redacted_for_every_handler(
    emitted: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = emitted
    other = io.StringIO()
    second = logging.StreamHandler(other)
    second.addFilter(RedactingFilter())
    logger.addHandler(second)
    try:
        try:
            raise OSError(URLS[3])
        except OSError:
            logger.exception("failed")
    finally:
        logger.removeHandler(second)
    clean(stream.getvalue())
    clean(other.getvalue())


@given(
    before=st.text(max_size=20),
    url=st.sampled_from(URLS),
    after=st.sampled_from(["", " ", "'", '"', ")", "\n", "&x=1", "?a=b"]),
)
def test_every_link_shape_is_redacted_wherever_it_stands(before: str, url: str, after: str) -> None:
    text = redact(before + url + after)
    for secret in (LINK, *TOKENS, admin_token(SECRET)):
        assert secret not in text


def parse_error_record(error: Exception) -> logging.LogRecord:
    try:
        raise error
    except Exception:
        record = logging.getLogger("aiohttp.server").makeRecord(
            "aiohttp.server",
            logging.ERROR,
            __file__,
            1,
            "Error handling request from %s",
            ("127.0.0.1",),
            sys.exc_info(),
        )
    return record


def test_refused_requests_are_summarised_once_a_minute_without_their_text() -> None:
    now = [1000.0]
    summary = MalformedRequests(clock=lambda: now[0])
    long_line = LineTooLong(f"GET /act/{LINK}" + "x" * 9000, 8190)
    first = parse_error_record(long_line)
    assert summary.filter(first)
    assert first.levelno == logging.WARNING
    assert first.exc_info is None
    assert first.getMessage() == (
        "HTTP: 1 malformed request(s) answered with 400 since the last such line (LineTooLong)"
    )
    for _ in range(500):
        assert not summary.filter(parse_error_record(BadStatusLine(f"\x16\x03 /act/{LINK}")))
    now[0] += 61
    later = parse_error_record(BadStatusLine("junk"))
    assert summary.filter(later)
    assert later.getMessage().startswith("HTTP: 501 malformed request(s)")
    # Anything else aiohttp logs passes unchanged.
    try:
        raise KeyError("a bug")
    except KeyError:
        bug = logging.getLogger("aiohttp.server").makeRecord(
            "aiohttp.server",
            logging.ERROR,
            __file__,
            1,
            "Unhandled exception",
            (),
            sys.exc_info(),
        )
    assert summary.filter(bug)
    assert bug.levelno == logging.ERROR
    assert bug.exc_info is not None


def test_json_lines_carry_the_redacted_traceback() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.logs.jsonexc")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        raise RuntimeError(URLS[0])
    except RuntimeError:
        logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert "RuntimeError: http://127.0.0.1:8780/act/<redacted>" in line["exc"]
    clean(stream.getvalue())
