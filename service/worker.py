"""Run planning (pure, CPU-bound) beside the event loop, never on it.

A plan of a big or odd config can take seconds. Run on the loop it would stall
HTTP, sending and signal handling; run in the loop's default executor it would
hold up the interpreter's exit, which waits for those threads. Each call here
gets its own daemon thread instead: the loop keeps serving while it runs, and
a stopping daemon does not wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


async def off_loop(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a daemon thread of its own; its result or its exception.

    Cancelling the caller abandons the thread: it finishes (or dies with the
    process) without anybody waiting for it.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)

    def settle(outcome: Callable[[], None]) -> None:
        def apply() -> None:
            if not future.done():
                outcome()

        # The loop may be closed by then (the daemon stopped): nobody waits any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(apply)

    def run() -> None:
        try:
            result = call()
        except BaseException as exc:  # handed to the awaiting coroutine
            settle(functools.partial(future.set_exception, exc))
        else:
            settle(functools.partial(future.set_result, result))

    name = f"staywatch-{getattr(fn, '__name__', 'work')}"
    threading.Thread(target=run, name=name, daemon=True).start()
    return await future
