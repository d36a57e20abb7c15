"""An SMTP sink in its own process: ``python -m bench.sink PORT OUT``.

aiosmtpd accepts every message; for each DATA it writes one line to OUT: the
wall-clock time it was accepted and the message's ``X-Staywatch-Key``. It
prints ``ready`` once it listens and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from typing import IO, Any

from aiosmtpd.smtp import SMTP

_KEY = re.compile(rb"^X-Staywatch-Key:[ \t]*([^\r\n]+)", re.MULTILINE | re.IGNORECASE)


class Recorder:
    """aiosmtpd handler: note when each message was accepted, then say 250."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Record the acceptance time and the reminder key."""
        accepted = time.time()
        content = envelope.original_content or envelope.content or b""
        match = _KEY.search(content[:20000])
        key = match.group(1).decode("ascii", "replace").strip() if match else "?"
        self.out.write(f"{accepted:.6f} {key}\n")
        self.out.flush()
        return "250 2.0.0 OK"


async def main(port: int, path: str) -> None:
    """Serve until SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    with open(path, "a", encoding="ascii") as out:  # noqa: ASYNC230 - opened once, at start
        recorder = Recorder(out)
        server = await loop.create_server(
            lambda: SMTP(recorder, hostname="sink.localhost", data_size_limit=0),
            host="127.0.0.1",
            port=port,
        )
        print("ready", flush=True)
        await stop.wait()
        server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
