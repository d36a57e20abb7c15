"""Feed tokens and signed, expiring action links, all derived from one secret.

Nothing here is stored: a person's feed token is an HMAC of their id and a
generation number, so rotating a feed URL means bumping the generation (kept
in the database) and the old URL stops matching at once. Action links carry
their own claim (occurrence, action, expiry) and an HMAC over it. Every
comparison of a presented value with a computed one uses
``hmac.compare_digest``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from service.clock import require_aware
from service.errors import StaywatchError

#: Random bytes in a new secret file (written as hex text).
SECRET_BYTES = 32
#: Secrets shorter than this (after stripping whitespace) are refused.
MIN_SECRET_BYTES = 16
#: 18 bytes = 144 bits: above the 128-bit floor, and a multiple of 3 so the
#: base64url text (24 characters) needs no padding.
TOKEN_BYTES = 18
#: Truncated HMAC-SHA256 tag on action links (128 bits).
TAG_BYTES = 16
#: Bytes of the public installation id (16 hex characters).
INSTALLATION_ID_BYTES = 8

_ACTION = re.compile(r"\A[a-z][a-z0-9_-]{0,31}\Z")
_LINK_VERSION = "1"

TokenKind = Literal["person", "admin", "office"]


class SecretFileError(StaywatchError):
    """The secret file cannot be used."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        super().__init__(f"secret file {path} {problem}")


class InvalidLink(StaywatchError):
    """This link is not valid; it may have been cut short or changed."""


class ExpiredLink(InvalidLink):
    """The link was genuine but its time is up."""

    def __init__(self, claim: ActionClaim) -> None:
        # The claim is trustworthy (its MAC matched), so the page can say what
        # the link was for and how to get a fresh one.
        self.claim = claim
        super().__init__(
            f"this link to {claim.action} {claim.occurrence} expired at "
            f"{claim.expires.isoformat()}; use the link in a newer reminder or "
            f"run `staywatch done {claim.occurrence}`"
        )


@dataclass(frozen=True, slots=True)
class ActionClaim:
    """What a verified action link allows: ``action`` on ``occurrence`` until ``expires``."""

    occurrence: str
    action: str
    expires: datetime
    #: Whose copy the link came from: a ``recipients`` address; None for the person's own.
    by: str | None = None


# -- the secret ------------------------------------------------------------------


def load_or_create_secret(path: Path) -> bytes:
    """Read the HMAC secret from ``path``, creating it (mode 0600) if it does not exist.

    Refuses a file that group or others can read or write, and an empty or
    too short one, with a message that says how to fix it.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    _create_secret(path)
    return _read_secret(path)


def _read_secret(path: Path) -> bytes:
    with path.open("rb") as handle:
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        if mode & 0o044:
            raise SecretFileError(
                path, f"is readable by others (mode {mode:04o}); run chmod 600 {path}"
            )
        if mode & 0o022:
            raise SecretFileError(
                path, f"is writable by others (mode {mode:04o}); run chmod 600 {path}"
            )
        secret = handle.read().strip()
    if not secret:
        raise SecretFileError(
            path, "is empty; delete it and a new one is created (feed URLs change)"
        )
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretFileError(
            path,
            f"holds only {len(secret)} bytes; use at least {MIN_SECRET_BYTES} random bytes "
            "(delete it and a new one is created)",
        )
    return secret


def _create_secret(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = (secrets.token_hex(SECRET_BYTES) + "\n").encode("ascii")
    # Write a private temp file, then link it into place: a crash never leaves
    # a half-written secret, and two processes starting at once agree on one.
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process won the race; its secret is the one
    finally:
        temp.unlink(missing_ok=True)


# -- feed tokens -----------------------------------------------------------------


def _mac(secret: bytes, purpose: str, *parts: str) -> bytes:
    # Length-prefixed parts under a purpose label: a person token can never
    # equal an admin or office token, nor an action-link tag.
    message = bytearray(b"staywatch\x00" + purpose.encode("ascii"))
    for part in parts:
        data = part.encode("utf-8")
        message += len(data).to_bytes(4, "big") + data
    return hmac.new(secret, bytes(message), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def feed_token(secret: bytes, person_id: str, generation: int = 0) -> str:
    """The URL-safe token of one person's feed; a new ``generation`` gives a new token."""
    return _b64(_mac(secret, "feed-person", person_id, str(generation))[:TOKEN_BYTES])


def admin_token(secret: bytes, generation: int = 0) -> str:
    """The URL-safe token of the all-people feed."""
    return _b64(_mac(secret, "feed-admin", str(generation))[:TOKEN_BYTES])


def office_token(secret: bytes, office_id: str, generation: int = 0) -> str:
    """The URL-safe token of one office's feed (the people it looks after)."""
    return _b64(_mac(secret, "feed-office", office_id, str(generation))[:TOKEN_BYTES])


def installation_id(secret: bytes) -> str:
    """This installation's public id, for calendar UIDs: 16 hex characters.

    An HMAC of the secret under its own label, so it is as stable as the secret
    file (across restarts and upgrades), differs between installations (two
    staywatch calendars in one app never merge their events) and gives away
    nothing of the secret, nor of any token or link made from it.
    """
    return _mac(secret, "installation-id")[:INSTALLATION_ID_BYTES].hex()


def _fingerprint(token: str) -> bytes:
    # The index is keyed by a hash of the token, so how long a dictionary
    # lookup takes says nothing about which characters of a guess were right.
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


class TokenIndex:
    """Every valid feed token for the current generations, for O(1) lookups.

    Rebuild it when a generation changes (rotation): the old token is then
    simply absent and is refused at once.
    """

    def __init__(
        self,
        secret: bytes,
        people: Mapping[str, int],
        admin_generation: int = 0,
        offices: Mapping[str, int] | None = None,
    ) -> None:
        self._entries: dict[bytes, tuple[str, TokenKind, str | None]] = {}

        def add(token: str, kind: TokenKind, ident: str | None) -> None:
            self._entries[_fingerprint(token)] = (token, kind, ident)

        for person_id, generation in people.items():
            add(feed_token(secret, person_id, generation), "person", person_id)
        for office_id, generation in (offices or {}).items():
            add(office_token(secret, office_id, generation), "office", office_id)
        add(admin_token(secret, admin_generation), "admin", None)
        # Compared against on a miss, so a miss costs the same as a hit.
        self._decoy = _b64(secrets.token_bytes(TOKEN_BYTES))

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, token: str) -> tuple[TokenKind, str | None] | None:
        """``("person", id)``, ``("office", id)`` or ``("admin", None)``; None if unknown."""
        entry = self._entries.get(_fingerprint(token))
        expected = entry[0] if entry is not None else self._decoy
        same = hmac.compare_digest(
            expected.encode("utf-8", "replace"), token.encode("utf-8", "replace")
        )
        if entry is None or not same:
            return None
        return entry[1], entry[2]


# -- signed action links ---------------------------------------------------------


def sign_action(
    secret: bytes,
    *,
    occurrence: str,
    action: str = "ack",
    expires: datetime,
    by: str | None = None,
) -> str:
    """A compact, URL-safe link token that allows ``action`` on ``occurrence`` until ``expires``.

    ``by`` names the recipient whose copy carries the link (it is recorded as the
    one who acted); the person's own links have none. The same inputs give the
    same string. Expiry is kept to the second.
    """
    if not _ACTION.fullmatch(action):
        raise ValueError(f"'{action}' is not an action name (lower-case letters, digits, -, _)")
    if not occurrence or "|" in occurrence:
        raise ValueError(f"'{occurrence}' is not an occurrence key PERSON/DEADLINE/YYYY-MM-DD")
    if by is not None and (not by or "|" in by):
        raise ValueError(f"'{by}' cannot name who acts")
    seconds = int(require_aware(expires).timestamp())
    fields = f"{_LINK_VERSION}|{action}|{occurrence}|{seconds}"
    if by is not None:
        fields += f"|{by}"
    payload = _b64(fields.encode())
    return f"{payload}.{_tag(secret, payload)}"


def _tag(secret: bytes, payload: str) -> str:
    return _b64(_mac(secret, "action-link", payload)[:TAG_BYTES])


def verify_action(secret: bytes, signed: str, now: datetime) -> ActionClaim:
    """Check a link token from :func:`sign_action` and return what it allows.

    Raises :class:`InvalidLink` when it was changed or garbled and
    :class:`ExpiredLink` when it is genuine but ``now`` is past its expiry.
    """
    payload, dot, tag = signed.partition(".")
    if not dot or not payload or not tag:
        raise InvalidLink()
    # Check the tag before decoding anything: unauthenticated input is never parsed.
    if not hmac.compare_digest(
        _tag(secret, payload).encode("ascii"), tag.encode("utf-8", "replace")
    ):
        raise InvalidLink()
    try:
        version, action, occurrence, seconds, *rest = _unb64(payload).decode("utf-8").split("|")
        expires = datetime.fromtimestamp(int(seconds), UTC)
        if len(rest) > 1 or (rest and not rest[0]):
            raise ValueError("too many fields")
    except (ValueError, binascii.Error, OverflowError, OSError):
        # Only reachable with a forged tag or a changed format: refuse all the same.
        raise InvalidLink() from None
    if version != _LINK_VERSION:
        raise InvalidLink()
    claim = ActionClaim(
        occurrence=occurrence, action=action, expires=expires, by=rest[0] if rest else None
    )
    if require_aware(now) >= expires:
        raise ExpiredLink(claim)
    return claim
