"""Output written in full to a pipe, even when the writer is stopped and continued."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

#: Far more than a pipe holds, so that the writer blocks and is cut short.
SIZE = 4 << 20

WRITER = """
import sys
from service.fullwrite import write_all
write_all(sys.stdout.buffer, bytes(range(256)) * (int(sys.argv[1]) // 256))
"""


def test_a_writer_stopped_and_continued_part_way_loses_nothing() -> None:
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(SIZE)], stdout=subprocess.PIPE)
    assert child.stdout is not None
    done = threading.Event()

    def stop_and_continue() -> None:
        while not done.is_set():
            try:
                os.kill(child.pid, signal.SIGSTOP)
                done.wait(0.001)
                os.kill(child.pid, signal.SIGCONT)
            except ProcessLookupError:
                return
            done.wait(0.002)

    storm = threading.Thread(target=stop_and_continue, daemon=True)
    storm.start()
    got = bytearray()
    try:
        while chunk := child.stdout.read1(1 << 16):
            got += chunk
            done.wait(0.001)  # a slow reader keeps the pipe full
    finally:
        done.set()
        storm.join()
        child.stdout.close()
        assert child.wait(timeout=30) == 0
    assert len(got) == SIZE
    assert bytes(got) == bytes(range(256)) * (SIZE // 256)
