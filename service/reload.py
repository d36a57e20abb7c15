"""Watch the config file and swap in valid edits; keep the last good config otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from watchfiles import awatch

from service.config import Config, load_config
from service.errors import ConfigError, StaywatchError, problem_lines
from service.logs import redact
from service.worker import off_loop

log = logging.getLogger(__name__)


@dataclass
class ConfigChange:
    """What changed between two valid configs."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deadlines_added: list[str] = field(default_factory=list)
    deadlines_removed: list[str] = field(default_factory=list)
    deadlines_changed: list[str] = field(default_factory=list)
    #: Service-wide settings changed (send time, zone, holidays, defaults): everyone re-plans.
    global_change: bool = False
    restart_needed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when nothing that matters changed."""
        return not (self.added or self.removed or self.changed or self.global_change)

    def people(self, config: Config) -> list[str] | None:
        """Who must be re-planned: None means everyone."""
        if self.global_change:
            return None
        return sorted({*self.added, *self.removed, *self.changed})

    def summary(self) -> str:
        """A one-line description for the log."""
        parts = []
        for label, items in (
            ("people added", self.added),
            ("people removed", self.removed),
            ("people changed", self.changed),
            ("deadlines added", self.deadlines_added),
            ("deadlines removed", self.deadlines_removed),
            ("deadlines changed", self.deadlines_changed),
        ):
            if items:
                shown = ", ".join(items[:5]) + (f" (+{len(items) - 5})" if len(items) > 5 else "")
                parts.append(f"{label}: {shown}")
        if self.global_change:
            parts.append("service settings changed: everyone re-planned")
        return "; ".join(parts) or "no change"


def diff_configs(old: Config, new: Config) -> ConfigChange:
    """Compare two configs person by person and deadline by deadline."""
    change = ConfigChange()
    change.global_change = (
        old.service.model_dump(exclude={"database", "secret_file"})
        != new.service.model_dump(exclude={"database", "secret_file"})
        or old.reminders != new.reminders
    )
    for section, key in (("service", "database"), ("service", "secret_file"), ("feed", "listen")):
        if getattr(getattr(old, section), key) != getattr(getattr(new, section), key):
            change.restart_needed.append(f"{section}.{key}")
    before = {p.id: p for p in old.people}
    after = {p.id: p for p in new.people}
    change.added = sorted(after.keys() - before.keys())
    change.removed = sorted(before.keys() - after.keys())
    for pid in sorted(before.keys() & after.keys()):
        if before[pid] == after[pid]:
            continue
        change.changed.append(pid)
        old_d = {d.id: d for d in before[pid].deadlines}
        new_d = {d.id: d for d in after[pid].deadlines}
        change.deadlines_added += [f"{pid}/{d}" for d in sorted(new_d.keys() - old_d.keys())]
        change.deadlines_removed += [f"{pid}/{d}" for d in sorted(old_d.keys() - new_d.keys())]
        change.deadlines_changed += [
            f"{pid}/{d}" for d in sorted(old_d.keys() & new_d.keys()) if old_d[d] != new_d[d]
        ]
    return change


#: How soon the watcher starts again after the file watching itself failed.
WATCH_RETRY_SECONDS = 1.0


class Reloader:
    """Reloads the config on request or when one of its files changes.

    Nothing that goes wrong while loading or applying a reload ends the watcher or
    the daemon: the last good config stays in force, the problem is logged (with
    its traceback when it is not a config error) and reported through
    ``on_invalid``, and the next edit (or SIGHUP) tries again.
    """

    def __init__(
        self,
        path: Path,
        current: Callable[[], Config],
        on_valid: Callable[[Config, ConfigChange], Awaitable[None]],
        on_invalid: Callable[[list[str]], Awaitable[None]],
    ) -> None:
        self.path = path
        self._current = current
        self._on_valid = on_valid
        self._on_invalid = on_invalid
        self._lock = asyncio.Lock()

    async def reload(self, reason: str) -> bool:
        """Load the file; apply it when valid. Returns True when it was applied."""
        async with self._lock:
            try:
                return await self._reload(reason)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception(
                    "config reload (%s) failed unexpectedly; still running on the last good config",
                    reason,
                    extra={"action": "reload"},
                )
                await self._report(
                    [
                        redact(
                            f"{self.path}: the reload failed unexpectedly ({type(exc).__name__}: "
                            f"{exc}); staywatch keeps the last good config; the log has the "
                            "details"
                        )
                    ]
                )
                return False

    async def _reload(self, reason: str) -> bool:
        try:
            # In a thread of its own: checking a large or odd file must not stall the loop.
            config = await off_loop(load_config, self.path)
        except ConfigError as exc:
            problems = [str(p) for p in exc.problems]
            log.error(
                "config reload (%s) failed; still running on the last good config",
                reason,
                extra={"action": "reload"},
            )
            for line in problem_lines(problems):
                log.error("%s", line, extra={"action": "reload"})
            await self._report(problems)
            return False
        change = diff_configs(self._current(), config)
        if change.restart_needed:
            log.warning(
                "config reload: %s changed; restart staywatch to apply",
                ", ".join(change.restart_needed),
            )
        try:
            await self._on_valid(config, change)
        except StaywatchError as exc:
            # Keep watching: the next edit (or SIGHUP) tries again.
            log.error("config reload (%s) could not be applied: %s", reason, exc)
            await self._report([redact(f"{self.path}: the reload could not be applied ({exc})")])
            return False
        log.info("config reloaded (%s): %s", reason, change.summary(), extra={"action": "reload"})
        return True

    async def _report(self, problems: list[str]) -> None:
        try:
            await self._on_invalid(problems)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not record the config errors")

    def watched(self) -> set[Path]:
        """The config file and every file it includes now."""
        files = {self.path.resolve()}
        try:
            files.update(p.resolve() for p in self._current().sources)
        except Exception:  # pragma: no cover - a config always has its sources
            log.exception("could not list the included files")
        return files

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload whenever one of the config's files is written or replaced, until ``stop``.

        The watcher never ends on its own: a failure of the file watching itself
        is logged and watching starts again.
        """
        while not stop.is_set():
            files = self.watched()
            try:
                if await self._watch(files, stop):
                    continue  # the set of included files changed: watch the new one
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watching the config failed; watching again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCH_RETRY_SECONDS)

    async def _watch(self, files: set[Path], stop: asyncio.Event) -> bool:
        """Watch ``files``; True when a reload changed which files the config reads."""
        folders = sorted({f.parent for f in files if f.parent.is_dir()})

        def relevant(_change: object, path: str) -> bool:
            return Path(path).resolve() in files or Path(path) in files

        async for _changes in awatch(
            *folders,
            watch_filter=relevant,
            stop_event=stop,
            debounce=200,
            step=50,
            recursive=False,
        ):
            await self.reload("file changed")
            if self.watched() != files:
                return True
        return False
