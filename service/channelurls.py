"""Channel URLs: where they come from, how a person's target goes in, what Apprise makes of them.

A channel's Apprise URL (``tgram://BOT_TOKEN/{to}``) is read from a file, an
environment variable or the config itself. ``{to}`` is replaced by a person's
or office's target, URL-quoted. Everything here parses; nothing opens a
connection. The URL and the secrets in it are registered with the log
redaction (:func:`service.logs.add_secret`) as soon as they are read, and
every message built here shows a URL as its scheme and (masked) host only.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from service.logs import add_secret

#: The placeholder for a person's target in a channel URL.
TO = "{to}"
#: Stands in for a target when a URL is checked without one.
SAMPLE_TARGET = "0"

#: Apprise removed ``msteams://`` (Office 365 connectors are retired); Teams posts go
#: through a Power Automate workflow.
_RETIRED = {
    "msteams": "Apprise 2 no longer has msteams:// (Microsoft retired Office 365 "
    "connectors); create a Teams workflow (Post to a channel when a webhook request is "
    "received) and use its URL as workflows://HOST:PORT/WORKFLOW/SIGNATURE"
}

_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*)://")


class UrlProblem(ValueError):
    """A channel URL that cannot be read or used; the message is safe to print."""


def scheme_of(url: str) -> str:
    """The URL's scheme in lower case, or "" when it has none."""
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else ""


def fill(url: str, target: str) -> str:
    """``url`` with ``{to}`` replaced by ``target``, URL-quoted (a ``/`` too)."""
    return url.replace(TO, quote(target, safe="@"))


def read_url(
    *,
    url_file: str | None,
    url_env: str | None,
    url: str | None,
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The channel's URL from ``url_file``, ``url_env`` or ``url``; UrlProblem says why not.

    A bare file name is looked up in ``$CREDENTIALS_DIRECTORY`` when that is set
    (systemd ``LoadCredential=``), otherwise relative to the config's folder.
    Surrounding white space (a trailing newline) is dropped.
    """
    env = os.environ if environ is None else environ
    if url_file is not None:
        path = credential_path(url_file, base_dir, env)
        try:
            text = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise UrlProblem(
                f"{path} does not exist; create it (mode 0600) holding only the channel's "
                "URL, or with systemd give it as LoadCredential="
            ) from None
        except PermissionError:
            raise UrlProblem(
                f"{path} cannot be read (permission denied); check its owner and mode"
            ) from None
        except IsADirectoryError:
            raise UrlProblem(f"{path} is a folder; point url_file at a file") from None
        except UnicodeDecodeError:
            raise UrlProblem(f"{path} is not UTF-8 text") from None
        except OSError as exc:
            raise UrlProblem(f"{path} cannot be read ({exc.strerror})") from None
        if not text:
            raise UrlProblem(f"{path} is empty; put the channel's Apprise URL in it")
        add_secret(text)
        return text
    if url_env is not None:
        value = env.get(url_env)
        if value is None:
            raise UrlProblem(
                f"the environment variable {url_env} is not set; export it (the channel's "
                "Apprise URL) before starting staywatch"
            )
        if not value.strip():
            raise UrlProblem(f"the environment variable {url_env} is empty")
        add_secret(value.strip())
        return value.strip()
    return (url or "").strip()


def credential_path(name: str, base_dir: Path, env: Mapping[str, str]) -> Path:
    """Where a secret file named in the config is: bare names in $CREDENTIALS_DIRECTORY first."""
    path = Path(name).expanduser()
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and len(path.parts) == 1 and not path.is_absolute():
        return Path(credentials) / path
    return path if path.is_absolute() else base_dir / path


def shown(url: str) -> str:
    """The URL as it may be printed: scheme and host, the host masked as Apprise masks it."""
    scheme = scheme_of(url) or "?"
    plugin = instantiate(url)
    if plugin is None:
        return f"{scheme}://"
    host = urlsplit(_private_url(plugin)).hostname or ""
    return f"{scheme}://{host}" if host else f"{scheme}://"


def check(url: str, *, target: str | None) -> Any:
    """The Apprise plugin for ``url`` with ``target`` filled in; UrlProblem when unusable.

    ``target`` None checks the URL alone (``{to}`` stands for a sample target).
    """
    scheme = scheme_of(url)
    if not scheme:
        raise UrlProblem("it is not an Apprise URL (scheme://...); see the Apprise wiki for yours")
    if scheme in _RETIRED:
        raise UrlProblem(_RETIRED[scheme])
    filled = fill(url, SAMPLE_TARGET if target is None else target)
    plugin = instantiate(filled)
    if plugin is None:
        what = f" with target {target!r}" if target is not None and TO in url else ""
        raise UrlProblem(
            f"Apprise cannot use this {scheme}:// URL{what}; check it against the service's "
            "page in the Apprise wiki (github.com/caronc/apprise/wiki)"
        )
    register(plugin)
    return plugin


def holds_secret(url: str) -> bool:
    """True when Apprise masks part of the URL (a token, key or password) in its logs."""
    plugin = instantiate(fill(url, SAMPLE_TARGET))
    if plugin is None:
        return True  # unknown: treat as secret, never print it
    return bool(_private_url(plugin) != plugin.url(privacy=False))


def target_is_secret(url: str, target: str) -> bool:
    """True when Apprise masks the target itself in ``url`` (a WeCom bot key as ``{to}``):
    then it would show in ``notify``, the store and ``status``."""
    plugin = instantiate(fill(url, target))
    if plugin is None or not target:
        return False
    masked = unquote(_private_url(plugin))
    if target in masked or quote(target, safe="@") in _private_url(plugin):
        return False
    # Apprise masks some plain recipients too (LINE user ids): a target it keeps as a
    # recipient is no secret; one it keeps as a key (WeCom) is.
    recipients: list[str] = []
    for name in _RECIPIENTS:
        for item in getattr(plugin, name, None) or ():
            recipients.extend(str(part) for part in (item if isinstance(item, tuple) else (item,)))
    bare = target.lstrip("#@")
    return not any(bare and bare in entry for entry in recipients)


#: Plugin attributes that hold recipients (chats, users, topics, channels, rooms).
_RECIPIENTS = ("targets", "topics", "channels", "users", "rooms", "targets_to")


def register(plugin: Any) -> None:
    """Send every part of the plugin's URL that Apprise would mask to the log redaction."""
    full = str(plugin.url(privacy=False))
    masked = _private_url(plugin)
    if full == masked:
        return
    visible = set(_PARTS.split(masked)) | set(_PARTS.split(unquote(masked)))
    for part in _PARTS.split(full):
        if part in visible:
            continue
        # Apprise writes a token percent-encoded (%3A); logs may show it either way.
        plain = unquote(part)
        for secret in (part, plain, *_PARTS.split(plain)):
            if secret not in visible:
                add_secret(secret)
    split = urlsplit(full)
    if split.netloc and split.netloc not in urlsplit(masked).netloc:
        add_secret(split.netloc)


_PARTS = re.compile(r"[/:@?&=#,]+")


def _private_url(plugin: Any) -> str:
    return str(plugin.url(privacy=True))


@functools.lru_cache(maxsize=4096)
def instantiate(url: str) -> Any:
    """Apprise's plugin for ``url``, or None when Apprise cannot parse it. No network."""
    from apprise import Apprise, AppriseAsset

    # Apprise logs why it refused a URL, sometimes quoting it: not while checking.
    _QUIET.on = True
    try:
        return Apprise.instantiate(url, asset=AppriseAsset(secure_logging=True))
    finally:
        _QUIET.on = False


class _Quiet(threading.local):
    on = False


_QUIET = _Quiet()


class _QuietWhileChecking(logging.Filter):
    """Drops Apprise's records in a thread that is only checking a URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False while this thread is inside :func:`instantiate`."""
        return not _QUIET.on


logging.getLogger("apprise").addFilter(_QuietWhileChecking())
