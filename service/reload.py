"""Watch the config file and swap in valid edits; keep the last good config otherwise."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from watchfiles import awatch

from service.config import Config, load_config
from service.errors import ConfigError, StaywatchError

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


class Reloader:
    """Reloads the config on request or when the file changes."""

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
        """Load the file; apply it when valid. Returns True when it was valid."""
        async with self._lock:
            try:
                config = await asyncio.to_thread(load_config, self.path)
            except ConfigError as exc:
                problems = [str(p) for p in exc.problems]
                log.error(
                    "config reload (%s) failed; still running on the last good config",
                    reason,
                    extra={"action": "reload"},
                )
                for problem in problems:
                    log.error("%s", problem, extra={"action": "reload"})
                await self._on_invalid(problems)
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
                return False
            log.info(
                "config reloaded (%s): %s", reason, change.summary(), extra={"action": "reload"}
            )
            return True

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload whenever the file is written or replaced, until ``stop`` is set."""
        target = self.path.resolve()
        folder = target.parent

        def relevant(_change: object, path: str) -> bool:
            return Path(path).name == target.name

        async for _changes in awatch(
            folder,
            watch_filter=relevant,
            stop_event=stop,
            debounce=200,
            step=50,
            recursive=False,
        ):
            await self.reload("file changed")
