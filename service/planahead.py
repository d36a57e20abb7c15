"""Plan a whole config in a second process while the daemon starts.

On a cold start (a new database, or a config or day the store has no plan of)
the daemon has to plan every reminder and store it. Planning is pure Python
and holds the interpreter lock, so in one process it cannot overlap with the
inserts or with the daemon's own imports. ``staywatch run`` therefore starts
``python -m service.planahead CONFIG`` before anything else: the child reads
the config and, when the store is SQLite, the config has :data:`MIN_PEOPLE`
people or more and the store holds no plan of this config and day, plans it
in batches (a small one first, so that storing starts early, then
:data:`CHILD_BATCH` people each) and streams each batch's
:class:`~service.planrows.PlannedRows` through a pipe, while the daemon imports,
opens the store and starts serving. When the store holds no reminders yet (a
first start) each batch comes as :class:`~service.planrows.FreshRows` instead:
rows as SQLite stores them, in one JSON document that the daemon stores with
one statement, which SQLite runs without holding the interpreter lock.
Otherwise it says it is not needed and exits.

The daemon takes the batches only when the child planned the same config on
the same day (the plan basis it sends first is the daemon's own) and they
follow the config's people in order; otherwise, or if the child fails, it
plans the rest in-process as before; a FreshRows batch whose people have
anything stored by then is planned and reconciled in-process too. Nothing is
lost either way: the child writes nothing, and the daemon alone writes the store.

The wire: frames of one type byte, an 8-byte big-endian length and the payload:
``B`` the plan basis (ASCII), ``R`` one batch (a pickle of PlannedRows) or ``F``
one batch for a store without reminders (a pickle of FreshRows), ``Z`` the end; or
``N`` why planning ahead is not needed, or ``E`` why the child gave up (UTF-8).
The pickles come from our own child over a private pipe.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from service.fullwrite import write_all

if TYPE_CHECKING:
    from datetime import date

    from service.config import Config
    from service.planrows import FreshRows, PlannedRows

#: Longest wait for one frame: a child this slow is stuck, and the daemon plans itself.
FRAME_TIMEOUT_SECONDS = 120.0

_HEAD = 9  # type byte + length
#: Far above any batch (about 12 KB a person): a longer frame is a garbled length.
MAX_FRAME = 1 << 30


class PlanAheadError(Exception):
    """The child's plan cannot be used (it failed, stalled or sent something unexpected)."""


#: Below this many people the daemon plans them sooner than a second interpreter,
#: starting beside its own imports on a shared machine, would (measured: at 100
#: people the child is a fifth faster, the whole start included).
MIN_PEOPLE = 50
#: The child's first batch: small, so that the daemon starts storing early.
FIRST_BATCH = 40
#: The child's later batches: small too, so that the last one is stored soon after
#: the child is done with it.
CHILD_BATCH = 100


def worth_starting() -> bool:
    """False on one core: the child would only take turns with the daemon."""
    return (os.cpu_count() or 1) > 1


def not_needed(config: Config, today: date) -> str | None:
    """Why planning ``config`` ahead is not worth it on ``today``, or None when it is.

    Conservative: a store that cannot be read says "not needed", and the daemon
    plans in-process as it always did.
    """
    import sqlite3

    from service.basis import plan_basis
    from service.quickread import connect, sqlite_file, stored_basis

    database = sqlite_file(config.database_url)
    if database is None:
        return "not a SQLite store"
    if len(config.people) < MIN_PEOPLE:
        return f"fewer than {MIN_PEOPLE} people"
    if not database.exists():
        return None
    try:
        with connect(database, timeout=1) as conn:
            basis = stored_basis(conn)
    except sqlite3.Error as exc:
        return f"the store cannot be read ({exc})"
    if basis == plan_basis(config, today):
        return "the store has the plan of this config and day"
    return None


class PlanAhead:
    """The daemon's end of a planning child: its basis, then its batches."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        assert process.stdout is not None
        self._pipe: IO[bytes] = process.stdout
        #: Why the child did not plan (its ``N`` frame), once read.
        self.declined: str | None = None

    @classmethod
    def start(cls, path: Path) -> PlanAhead | None:
        """Start planning ``path`` in a child process; None if it could not be started."""
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "service.planahead", str(path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
        except OSError:
            return None
        return cls(process)

    def read_basis(self) -> str | None:
        """The basis the child plans from, or None if it found planning ahead not needed.

        Blocking; call it off the event loop.
        """
        kind, payload = self._frame()
        if kind == b"N":
            self.declined = payload.decode("utf-8", "replace")
            return None
        if kind != b"B":
            raise PlanAheadError(self._unexpected(kind, payload))
        try:
            return payload.decode("ascii")
        except UnicodeDecodeError as exc:
            raise PlanAheadError(f"a garbled plan basis ({exc})") from exc

    def read_batch(self) -> PlannedRows | FreshRows | None:
        """The next batch, or None at the end (blocking; call it off the event loop)."""
        kind, payload = self._frame()
        if kind == b"Z":
            return None
        if kind not in (b"R", b"F"):
            raise PlanAheadError(self._unexpected(kind, payload))
        from service.planrows import FreshRows, PlannedRows

        try:
            rows = pickle.loads(payload)
        except Exception as exc:  # whatever a garbled pickle raises
            raise PlanAheadError(f"a garbled batch ({type(exc).__name__}: {exc})") from exc
        if not isinstance(rows, PlannedRows if kind == b"R" else FreshRows):
            raise PlanAheadError(f"a batch of the wrong type ({type(rows).__name__})")
        return rows

    def close(self) -> None:
        """Stop the child if it still runs, and reap it."""
        with contextlib.suppress(OSError):
            self._pipe.close()
        if self._process.poll() is None:
            with contextlib.suppress(OSError):
                self._process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            self._process.wait(timeout=5)

    def _frame(self) -> tuple[bytes, bytes]:
        head = self._read(_HEAD)
        size = int.from_bytes(head[1:], "big")
        if size > MAX_FRAME:
            raise PlanAheadError(f"a frame of {size:,} bytes, more than a batch can be")
        return head[:1], self._read(size)

    def _read(self, size: int) -> bytes:
        parts: list[bytes] = []
        fd = self._pipe.fileno()
        while size:
            ready, _, _ = select.select([fd], [], [], FRAME_TIMEOUT_SECONDS)
            if not ready:
                raise PlanAheadError(f"no answer in {FRAME_TIMEOUT_SECONDS:.0f} s")
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                code = self._process.poll()
                raise PlanAheadError(f"the planning process ended early (exit status {code})")
            parts.append(chunk)
            size -= len(chunk)
        return b"".join(parts)

    @staticmethod
    def _unexpected(kind: bytes, payload: bytes) -> str:
        if kind == b"E":
            return payload.decode("utf-8", "replace")
        return f"unexpected frame {kind!r}"


def _write(out: IO[bytes], kind: bytes, payload: bytes) -> None:
    write_all(out, kind + len(payload).to_bytes(_HEAD - 1, "big") + payload)


def _child(path: Path, out: IO[bytes]) -> None:
    """Plan ``path`` as a full re-plan would, if needed, and write the frames to ``out``."""
    from zoneinfo import ZoneInfo

    from service.basis import plan_basis
    from service.clock import SystemClock
    from service.configcache import load_config_cached
    from service.plan import plan, store_window
    from service.planrows import fresh_for, fresh_supported, planned_for
    from service.rules import BusinessCalendar

    config = load_config_cached(path)
    today = SystemClock().now().astimezone(ZoneInfo(config.service.timezone)).date()
    reason = not_needed(config, today)
    if reason is not None:
        _write(out, b"N", reason.encode())
        return
    _write(out, b"B", plan_basis(config, today).encode("ascii"))
    # A store with no reminders yet (a first start) takes whole batches in one
    # statement; the daemon checks again that nobody's rows are there.
    fresh = fresh_supported() and _holds_no_reminders(config)
    start, end = store_window(config, today)
    calendar = BusinessCalendar.for_config(config)
    ids = [p.id for p in config.people]
    first = 0
    while first < len(ids):
        batch = ids[first : first + (FIRST_BATCH if first == 0 else CHILD_BATCH)]
        occurrences = plan(
            config, start, end, people=batch, singles_unbounded=True, calendar=calendar
        )
        if fresh:
            rows = fresh_for(occurrences, batch)
            _write(out, b"F", pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
        else:
            planned = planned_for(occurrences, batch)
            _write(out, b"R", pickle.dumps(planned, protocol=pickle.HIGHEST_PROTOCOL))
        first += len(batch)
    _write(out, b"Z", b"")


def _holds_no_reminders(config: Config) -> bool:
    """True when the config's SQLite store has no reminders yet (or does not exist)."""
    import sqlite3

    from service.quickread import connect, sqlite_file

    database = sqlite_file(config.database_url)
    if database is None:
        return False
    if not database.exists():
        return True
    try:
        with connect(database, timeout=1) as conn:
            return conn.execute("SELECT 1 FROM reminders LIMIT 1").fetchone() is None
    except sqlite3.Error:
        # No reminders table yet; or unreadable, and the daemon's check decides.
        return True


def main(argv: list[str]) -> int:
    """``python -m service.planahead CONFIG``: the child's side (see the module doc)."""
    # The child lives for seconds and builds plans without reference cycles, which
    # reference counting frees: the cycle collector would only walk them again and
    # again (a quarter of the child's time). Its memory is the same either way.
    gc.disable()
    out = sys.stdout.buffer
    try:
        _child(Path(argv[0]), out)
    except BrokenPipeError:
        return 1  # the daemon no longer wants the plan
    except Exception as exc:  # told to the daemon, which plans in-process instead
        with contextlib.suppress(OSError):
            _write(out, b"E", f"{type(exc).__name__}: {exc}".encode()[:2000])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
