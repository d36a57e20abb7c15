"""Write bytes to a stream in full, whatever the stream's single write took.

A write of more than a pipe's buffer to a blocking pipe returns early when a
signal arrives part-way; a process stopped and continued (job control, a
debugger, a cgroup freeze such as ``systemctl freeze``) is enough.
``BufferedWriter.write`` then returns how much it took and drops the rest, so a
caller that ignores the count loses the tail of its output without an error.
"""

from __future__ import annotations

from typing import IO


def write_all(stream: IO[bytes], data: bytes) -> None:
    """Write every byte of ``data`` to ``stream`` and flush it."""
    view = memoryview(data)
    while view:
        taken = stream.write(view)
        view = view[taken:]
    stream.flush()
