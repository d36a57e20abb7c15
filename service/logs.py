"""One logging setup for the daemon and the CLI, with a redaction filter.

Plain text to stderr by default (journald adds time and host); JSON lines when
asked. Feed tokens, signed links and passwords never reach a log line.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from typing import Any

_SECRETS = [
    # /calendar/<token>.ics, /act/<signed>, /office/<token>
    (re.compile(r"(/(?:calendar|act|office)/)[A-Za-z0-9_.=-]{8,}"), r"\1<redacted>"),
    (re.compile(r"(password\w*\s*[=:]\s*)\S+", re.IGNORECASE), r"\1<redacted>"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1<redacted>@"),
]


def redact(text: str) -> str:
    """Remove tokens, signed links and passwords from a log message."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record's message through ``redact`` before it is emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the formatted message in place; never drops a record."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


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
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Install the one logging configuration of the process."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": RedactingFilter}},
            "formatters": {
                "plain": {"format": "%(levelname)s %(name)s: %(message)s"},
                "json": {"()": JsonFormatter},
            },
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "stream": "ext://sys.stderr",
                    "formatter": "json" if json_lines else "plain",
                    "filters": ["redact"],
                }
            },
            "root": {"level": level.upper(), "handlers": ["stderr"]},
            "loggers": {
                # Library chatter that would otherwise drown the daemon's own lines.
                "apscheduler": {"level": "WARNING"},
                "aiohttp.access": {"level": "WARNING"},
                "aiosqlite": {"level": "WARNING"},
                "asyncio": {"level": "WARNING"},
                "watchfiles": {"level": "WARNING"},
                "alembic": {"level": "WARNING"},
            },
        }
    )
