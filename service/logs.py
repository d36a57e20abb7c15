"""One logging setup for the daemon and the CLI, with a redaction filter.

Plain text to stderr by default (journald adds time and host); JSON lines when
asked. Feed tokens, signed links and passwords never reach a log line.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import threading
import time
from collections.abc import Callable
from typing import Any

_SECRETS = [
    # /calendar/<token>.ics, /act/<signed>, /office/<token>
    (re.compile(r"(/(?:calendar|act|office)/)[A-Za-z0-9_.=-]{8,}"), r"\1<redacted>"),
    # /healthz?token=<admin token>
    (re.compile(r"([?&;]token=)[^&\s'\"]+"), r"\1<redacted>"),
    (re.compile(r"(password\w*\s*[=:]\s*)\S+", re.IGNORECASE), r"\1<redacted>"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1<redacted>@"),
]
#: Formats tracebacks for redaction (the handler's own formatter then uses the text).
_TRACEBACKS = logging.Formatter()


#: Exact strings never to show (channel URLs and the tokens in them), longest first.
_KNOWN: list[str] = []
_KNOWN_LOCK = threading.Lock()
#: Shorter strings are too likely to be ordinary words or numbers.
SHORTEST_SECRET = 4


def add_secret(value: str) -> None:
    """Redact ``value`` (a channel URL, a bot token) wherever it appears from now on."""
    global _KNOWN
    value = value.strip()
    if len(value) < SHORTEST_SECRET:
        return
    with _KNOWN_LOCK:
        if value in _KNOWN:
            return
        known = [*_KNOWN, value]
        known.sort(key=len, reverse=True)
        # Readers iterate over the old list or the new one, never a half-built one.
        _KNOWN = known


def redact(text: str) -> str:
    """Remove tokens, signed links, passwords and channel secrets from a log message."""
    for secret in _KNOWN:
        if secret in text:
            text = text.replace(secret, "<redacted>")
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record through ``redact`` before it is emitted: the message with its
    %-arguments, the traceback and the stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place; never drops one."""
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: show both, redacted
            message = f"{record.msg!s} {record.args!r}"
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info is not None and not record.exc_text:
            # Formatters use exc_text when it is set, so the traceback is redacted once here.
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class AppriseLines(logging.Filter):
    """For the log handler: Apprise's warnings about one notification are read by
    :mod:`service.channels` and logged once, redacted, as that delivery's reason;
    printing them as well would say everything twice. Errors still pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for Apprise's records below ERROR."""
        apprise = record.name == "apprise" or record.name.startswith("apprise.")
        return not apprise or record.levelno >= logging.ERROR


class MalformedRequests(logging.Filter):
    """For aiohttp's server log: a request the HTTP parser refused (a URL over 8,190
    bytes, a bad request line, binary noise) is answered with 400 and logged here at
    most once a minute, at WARNING, with neither its text (it may hold a signed link)
    nor a traceback. Everything else passes unchanged."""

    every = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._last = float("-inf")
        self._count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop or summarise refused requests; pass other records."""
        error = record.exc_info[1] if record.exc_info else None
        if error is None or not _refused_by_the_parser(error):
            return True
        self._count += 1
        now = self._clock()
        if now - self._last < self.every:
            return False
        record.msg = "HTTP: %d malformed request(s) answered with 400 since the last such line (%s)"
        record.args = (self._count, type(error).__name__)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        self._last, self._count = now, 0
        return True


def _refused_by_the_parser(error: BaseException) -> bool:
    # By name: this module stays free of aiohttp.
    return any(cls.__name__ == "HttpProcessingError" for cls in type(error).__mro__)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and ``action``."""

    def format(self, record: logging.LogRecord) -> str:
        """Serialize one record."""
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        action = getattr(record, "action", None)
        if action:
            data["action"] = action
        if record.exc_text:
            data["exc"] = record.exc_text  # already redacted by RedactingFilter
        elif record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Install the one logging configuration of the process."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "redact": {"()": RedactingFilter},
                "apprise": {"()": AppriseLines},
                "malformed": {"()": MalformedRequests},
            },
            "formatters": {
                "plain": {"format": "%(levelname)s %(name)s: %(message)s"},
                "json": {"()": JsonFormatter},
            },
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "stream": "ext://sys.stderr",
                    "formatter": "json" if json_lines else "plain",
                    "filters": ["apprise", "redact"],
                }
            },
            "root": {"level": level.upper(), "handlers": ["stderr"]},
            "loggers": {
                # Library chatter that would otherwise drown the daemon's own lines.
                "apscheduler": {"level": "WARNING"},
                "aiohttp.access": {"level": "WARNING"},
                "aiohttp.server": {"filters": ["malformed"]},
                "aiosqlite": {"level": "WARNING"},
                "asyncio": {"level": "WARNING"},
                "watchfiles": {"level": "WARNING"},
                "alembic": {"level": "WARNING"},
                # Apprise and the HTTP library under it log URLs at INFO and DEBUG.
                "apprise": {"level": "WARNING"},
                "urllib3": {"level": "WARNING"},
                "requests_oauthlib": {"level": "WARNING"},
            },
        }
    )
