"""Validated configs and command outputs remembered between CLI runs.

Validating a config of hundreds of people takes longer than everything else a
read-only command does. What validation yields is a pure function of the config
file, the files it includes, the day it is checked against and staywatch's code,
so the result is kept in a per-user cache keyed by all of them: the content of
every file read (the include patterns are expanded again on every lookup, so an
added, removed or edited file is seen), the day, and the size and modification
time of every file of the installed code. Anything that does not match is
recomputed. Only valid configs are kept; errors are always found afresh.

The cache lives in ``$STAYWATCH_CACHE_DIR``, else systemd's ``$CACHE_DIRECTORY``,
else ``$XDG_CACHE_HOME/staywatch``,
else ``~/.cache/staywatch``; ``STAYWATCH_CACHE=0`` turns it off. Entries are
written with mode 0600 in a 0700 folder and read only when they belong to the
user running the command (they are pickles). A cache that cannot be written is
simply not used. A config whose channel URLs come from a file or the
environment is never kept: it is validated on every run (secrets stay off disk,
and a changed credential is always seen).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import stat
import sys
import tempfile
from datetime import date
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.config import Config

#: Bumped when the layout of an entry changes.
_FORMAT = "1"
#: Packages besides staywatch whose version can change what validation or planning yields.
_DEPENDENCIES = ("holidays", "pydantic", "pydantic_core", "dateutil", "email_validator")


def cache_dir() -> Path | None:
    """Where entries are kept; None when the cache is turned off."""
    if os.environ.get("STAYWATCH_CACHE") == "0":
        return None
    given = os.environ.get("STAYWATCH_CACHE_DIR")
    if given:
        return Path(given)
    # systemd's CacheDirectory= (the unit sets it): a DynamicUser has no home.
    unit = os.environ.get("CACHE_DIRECTORY")
    if unit:
        return Path(unit.split(":")[0])
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "staywatch"
    home = os.environ.get("HOME")
    return Path(home) / ".cache" / "staywatch" if home else None


@cache
def code_version() -> str:
    """A digest of the installed code: every file of the service package, and the dependencies.

    Size and modification time stand for the content: an upgrade or an edit
    rewrites the files, and reading them all on every command would cost more
    than the cache saves.
    """
    digest = hashlib.sha256(f"{_FORMAT} {sys.version}\n".encode())
    files: list[str] = []
    for folder, dirs, names in os.walk(Path(__file__).resolve().parent):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files.extend(os.path.join(folder, name) for name in sorted(names))
    for name in _DEPENDENCIES:
        # An upgrade rewrites a package's __init__.py; its other files need no look.
        with contextlib.suppress(ImportError, ValueError):
            spec = find_spec(name)
            if spec is not None and spec.origin:
                files.append(spec.origin)
    for file in files:
        with contextlib.suppress(OSError):
            info = os.stat(file)
            digest.update(f"{file} {info.st_size} {info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _included(path: Path, patterns: list[str]) -> list[Path] | None:
    """The files ``include`` names, as the config loader reads them; None if it would fail."""
    from service.includes import include_matches

    seen = {path.resolve()}
    files: list[Path] = []
    for pattern in patterns:
        try:
            matches = include_matches(path.parent, pattern)
        except ValueError:
            return None
        for file in matches:
            if not file.is_file() or file.resolve() in seen:
                continue
            seen.add(file.resolve())
            files.append(file)
    return files


def _entry_path(folder: Path, kind: str, path: Path) -> Path:
    name = _sha(f"{kind}\0{path.absolute()}\0{path.resolve()}".encode())[:40]
    return folder / f"{name}.cache"


def _owned(path: Path) -> bool:
    """True when ``path`` belongs to this user and nobody else may write it."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return (
        (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode))
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _read(entry: Path) -> tuple[dict[str, Any], bytes] | None:
    if not (_owned(entry.parent) and _owned(entry)):
        return None
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    header, sep, payload = data.partition(b"\n")
    if not sep:
        return None
    try:
        found = json.loads(header)
    except ValueError:
        return None
    return (found, payload) if isinstance(found, dict) else None


def _write(entry: Path, header: dict[str, Any], payload: bytes) -> None:
    with contextlib.suppress(OSError):
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _owned(entry.parent):
            return
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(header).encode() + b"\n" + payload)
            os.replace(tmp, entry)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _sources(path: Path, patterns: list[str]) -> list[list[str]] | None:
    """[file, digest] of the config and every included file; None when one cannot be read."""
    files = _included(path, patterns)
    if files is None:
        return None
    out = []
    for file in (path, *files):
        try:
            out.append([str(file.absolute()), _sha(file.read_bytes())])
        except OSError:
            return None
    return out


#: The files each config of this process was validated from: id -> (config, sources).
_LOADED: dict[int, tuple[Config, list[list[str]]]] = {}


def _valid(header: dict[str, Any], extra: str, sources: list[list[str]]) -> bool:
    return (
        header.get("code") == code_version()
        and header.get("extra") == extra
        and header.get("sources") == sources
    )


def _header(config: Config, extra: str, sources: list[list[str]]) -> dict[str, Any]:
    return {
        "code": code_version(),
        "extra": extra,
        "include": list(config.include),
        "sources": sources,
    }


def _fresh(entry: Path, extra: str) -> tuple[bytes, list[list[str]]] | None:
    """The payload of ``entry`` and its files when none of them changed since it was kept."""
    found = _read(entry)
    if found is None:
        return None
    header, payload = found
    patterns = header.get("include")
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        return None
    sources = header.get("sources")
    if not isinstance(sources, list) or not sources:
        return None
    main = Path(str(sources[0][0]))
    current = _sources(main, patterns)
    if current is None or not _valid(header, extra, current):
        return None
    return payload, current


def load_config_cached(path: Path, *, today: date | None = None) -> Config:
    """:func:`service.config.load_config`, from the cache when nothing it read has changed."""
    from service.config import load_config

    folder = cache_dir()
    if folder is None:
        return load_config(path, today=today)
    extra = f"today={today}"
    entry = _entry_path(folder, "config" if today is None else "config-dated", path)
    found = _fresh(entry, extra)
    if found is not None:
        with contextlib.suppress(Exception):
            cached: Config = pickle.loads(found[0])
            if cached.path == path.absolute():
                _LOADED[id(cached)] = (cached, found[1])
                return cached
    before = _sources(path, [])
    config = load_config(path, today=today)
    sources = _sources(path, list(config.include))
    # Kept only when the main file did not change while it was being validated.
    if sources is not None and before is not None and sources[0] == before[0]:
        _LOADED[id(config)] = (config, sources)
        if holds_secrets(config):
            # Channel URLs read from a credential file or the environment stay in
            # memory: a copy on disk would outlive the credential, and a changed
            # variable would not show in the files' hashes.
            return config
        _write(
            entry,
            _header(config, extra, sources),
            pickle.dumps(config, protocol=pickle.HIGHEST_PROTOCOL),
        )
    return config


def holds_secrets(config: Config) -> bool:
    """True when the config read a channel URL from a file or the environment."""
    return any(c.url_file is not None or c.url_env is not None for c in config.channels)


def lookup(kind: str, path: Path, extra: str = "") -> Any | None:
    """What :func:`keep` stored for this config file, ``kind`` and ``extra``; None if stale.

    Neither the config nor its validators are loaded: the files are hashed and
    compared with what they were when the value was kept.
    """
    folder = cache_dir()
    if folder is None:
        return None
    found = _fresh(_entry_path(folder, kind, path), extra)
    if found is None:
        return None
    try:
        return pickle.loads(found[0])
    except Exception:
        return None


def keep(config: Config, kind: str, extra: str, value: object) -> None:
    """Remember ``value``, derived from ``config`` and ``extra`` alone, for :func:`lookup`.

    Only a config from :func:`load_config_cached` has its files on record; for
    any other nothing is kept.
    """
    folder = cache_dir()
    loaded = _LOADED.get(id(config))
    if folder is None or loaded is None or loaded[0] is not config or holds_secrets(config):
        return
    entry = _entry_path(folder, kind, config.path)
    _write(entry, _header(config, extra, loaded[1]), pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
