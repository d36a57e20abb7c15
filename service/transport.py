"""How a rendered message leaves the machine: SMTP (aiosmtplib) or a Maildir.

Every failure is classified for the dispatcher:

- :class:`~service.errors.TransientDeliveryError`: try again later. A 4xx
  reply, a refused or dropped connection, a timeout, and trouble that is not
  about this message (EHLO, STARTTLS or AUTH failing).
- :class:`~service.errors.PermanentDeliveryError`: the server refused this
  message for good: a 5xx reply to MAIL FROM, to every RCPT TO, or to DATA.

When some recipients are refused and at least one is accepted, the message was
delivered: ``send`` returns normally and :class:`SendResult` lists the refused
ones with their reply, so one bad address never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Protocol

import aiosmtplib

from service.config import Config, MailSection
from service.errors import PermanentDeliveryError, StaywatchError, TransientDeliveryError
from service.mailwire import message_bytes


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the server said about one message."""

    #: Envelope recipients the server accepted.
    accepted: tuple[str, ...]
    #: Recipients the server refused while accepting others: address -> (code, text).
    refused: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    #: The final reply (to DATA, or the Maildir's equivalent).
    code: int = 250
    text: str = ""


@dataclass(frozen=True, slots=True)
class Sealed:
    """A message serialised ahead of its send: its envelope, Message-ID and bytes.

    An EmailMessage keeps a parse tree of every header (about 100 KiB for a
    reminder); these bytes take 4 KiB, and a burst of messages rendered ahead
    is left with nothing to do but send them.
    """

    sender: str
    recipients: tuple[str, ...]
    message_id: str
    #: :func:`~service.mailwire.message_bytes` with SMTP line endings (CRLF); kept
    #: out of the repr, which would put a whole body (and its links) in a log line.
    data: bytes = field(repr=False)


#: What a transport sends.
Outgoing = EmailMessage | Sealed


def seal(message: EmailMessage) -> Sealed:
    """The message as it will go on the wire (raises PermanentDeliveryError like ``send``)."""
    sender, recipients = envelope_of(message)
    return Sealed(
        sender, tuple(recipients), str(message.get("Message-ID", "")), message_bytes(message)
    )


def message_id_of(message: Outgoing) -> str:
    """The Message-ID header of an outgoing message ('' when it has none)."""
    if isinstance(message, Sealed):
        return message.message_id
    return str(message.get("Message-ID", ""))


class Transport(Protocol):
    """Something that delivers a message or raises a DeliveryError."""

    name: str

    async def send(self, message: Outgoing) -> SendResult:
        """Deliver ``message`` to the addresses in its To and Cc (and Bcc) headers."""
        ...

    async def close(self) -> None:
        """Release connections; the transport may be used again afterwards."""
        ...


def envelope_of(message: EmailMessage) -> tuple[str, list[str]]:
    """The envelope sender (From address) and recipients (To, Cc, Bcc), deduplicated."""
    _, sender = parseaddr(str(message.get("From", "")))
    fields: list[str] = []
    for header in ("To", "Cc", "Bcc"):
        fields.extend(str(value) for value in message.get_all(header, []))
    recipients: list[str] = []
    seen: set[str] = set()
    for _, address in getaddresses(fields):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            recipients.append(address)
    if not sender:
        raise PermanentDeliveryError("the message has no From address")
    if not recipients:
        raise PermanentDeliveryError("the message has no recipients")
    return sender, recipients


# -- Maildir ---------------------------------------------------------------------


class MaildirTransport:
    """Deliver into a Maildir: write to ``tmp/``, fsync, rename into ``new/``.

    The rename is atomic, so a mail reader never sees half a message, and the
    fsyncs make a delivery that returned survive a power cut.
    """

    name = "maildir"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._counter = 0
        self._host = socket.gethostname().replace("/", "\\057").replace(":", "\\072") or "localhost"

    async def send(self, message: Outgoing) -> SendResult:
        """Write the message into ``new/``; return all recipients as accepted."""
        if isinstance(message, Sealed):
            # CRLF only ends lines there (every part is line-encoded), so this is
            # exactly message_bytes(..., linesep="\n").
            recipients, data = list(message.recipients), message.data.replace(b"\r\n", b"\n")
        else:
            _, recipients = envelope_of(message)
            data = message_bytes(message, linesep="\n")
        self._counter += 1
        unique = f"{time.time_ns()}.P{os.getpid()}Q{self._counter}.{self._host}"
        try:
            name = await asyncio.to_thread(self._deliver, data, unique)
        except OSError as exc:
            # A full disk or a permission problem can be fixed; try again later.
            raise TransientDeliveryError(f"cannot write to maildir {self.path}: {exc}") from exc
        return SendResult(
            accepted=tuple(recipients), code=250, text=f"delivered to maildir new/{name}"
        )

    def _deliver(self, data: bytes, unique: str) -> str:
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path / "tmp" / unique
        new = self.path / "new" / unique
        try:
            with open(tmp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(tmp, new)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(self.path / "new")
        return unique

    async def close(self) -> None:
        """Nothing to release."""


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- SMTP ------------------------------------------------------------------------


@dataclass(slots=True)
class _Slot:
    """One connection the transport may keep open between sends."""

    client: aiosmtplib.SMTP | None = None
    last_used: float = 0.0


class SmtpTransport:
    """Send through an SMTP server, reusing up to ``mail.concurrency`` connections.

    A connection stays open between sends. One idle longer than ``probe_after``
    seconds is checked with NOOP before use and one idle longer than
    ``max_idle`` is replaced, because servers drop idle clients and a send on a
    dead connection would only fail. After a refused command the envelope is
    reset (RSET, by aiosmtplib) and the connection kept; after a lost
    connection, a timeout or a 421 it is closed and the next send reconnects.
    """

    name = "smtp"

    def __init__(
        self,
        mail: MailSection,
        password: str | None,
        *,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        probe_after: float = 5.0,
        max_idle: float = 240.0,
    ) -> None:
        if not mail.host:
            raise StaywatchError("mail.host is not set; the smtp transport needs a server")
        if mail.username and password is None:
            raise StaywatchError(
                "mail.username is set but there is no password; set mail.password_file "
                "or mail.password_env"
            )
        self.mail = mail
        self._password = password
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self._probe_after = probe_after
        self._max_idle = max_idle
        self._idle: list[_Slot] = []
        self._slots: asyncio.Semaphore | None = None

    @property
    def endpoint(self) -> str:
        """``host:port`` for messages and logs."""
        return f"{self.mail.host}:{self.mail.effective_port}"

    async def send(self, message: Outgoing) -> SendResult:
        """Send one message; raise Transient/PermanentDeliveryError when it is not accepted."""
        sealed = message if isinstance(message, Sealed) else seal(message)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.mail.concurrency)
        async with self._slots:
            # Most recently used first: the others age out instead of all staying warm.
            slot = self._idle.pop() if self._idle else _Slot()
            try:
                return await self._send_on(slot, sealed)
            finally:
                slot.last_used = time.monotonic()
                self._idle.append(slot)

    async def _send_on(self, slot: _Slot, message: Sealed) -> SendResult:
        client = await self._ready(slot)
        recipients = list(message.recipients)
        try:
            # Our own bytes, not aiosmtplib's flattening: see service/mailwire.py.
            refused, reply = await client.sendmail(message.sender, recipients, message.data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Every recipient was refused; the envelope was reset by aiosmtplib.
            codes = [r.code for r in exc.recipients]
            await self._after_reply_error(slot, 421 if 421 in codes else 250)
            details = {r.recipient: (r.code, r.message) for r in exc.recipients}
            text = "; ".join(f"{a}: {c} {m}" for a, (c, m) in details.items())
            code = max((c for c, _ in details.values()), default=None)
            if any(400 <= c < 500 for c, _ in details.values()):
                raise TransientDeliveryError(
                    f"{self.endpoint} refused the recipients for now: {text}", code
                ) from exc
            raise PermanentDeliveryError(
                f"{self.endpoint} refused every recipient: {text}", code
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._after_reply_error(slot, exc.code)
            raise _classify_reply(exc, self.endpoint) from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            await self._drop(slot)
            raise TransientDeliveryError(
                f"{self.endpoint}: connection lost while sending: {exc.message}"
            ) from exc
        except aiosmtplib.SMTPNotSupported as exc:
            # E.g. a non-ASCII address and no SMTPUTF8: this message can never go.
            raise PermanentDeliveryError(f"{self.endpoint}: {exc.message}") from exc
        except (OSError, TimeoutError) as exc:
            await self._drop(slot)
            raise TransientDeliveryError(f"{self.endpoint}: {exc}") from exc
        except ValueError as exc:
            # aiosmtplib refuses addresses it cannot put on a command line safely.
            raise PermanentDeliveryError(f"cannot send to {self.endpoint}: {exc}") from exc
        accepted = tuple(r for r in recipients if r not in refused)
        return SendResult(
            accepted=accepted,
            refused={a: (r.code, r.message) for a, r in refused.items()},
            code=250,
            text=reply,
        )

    async def probe(self) -> str:
        """Connect, negotiate TLS and log in as a send would, send nothing; describe it.

        Raises TransientDeliveryError (with the server's reply) when that fails.
        """
        client = await self._connect()
        try:
            steps = ["connected"]
            if self.mail.security != "none":
                steps.append("TLS")
            if self.mail.username:
                steps.append(f"logged in as {self.mail.username}")
            return f"{self.endpoint}: " + ", ".join(steps)
        finally:
            await _shut(client, quit=True, grace=self.mail.timeout)

    async def _ready(self, slot: _Slot) -> aiosmtplib.SMTP:
        """The slot's connection, alive and ready; (re)connect when needed."""
        client = slot.client
        idle = time.monotonic() - slot.last_used
        if client is not None and client.is_connected and idle <= self._max_idle:
            if idle <= self._probe_after:
                return client
            try:
                await client.noop()
                return client
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass  # the server let it go; connect afresh below
        await self._drop(slot)
        slot.client = await self._connect()
        return slot.client

    async def _connect(self) -> aiosmtplib.SMTP:
        mail = self.mail
        client = aiosmtplib.SMTP(
            hostname=mail.host,
            port=mail.effective_port,
            local_hostname=self._local_hostname,
            timeout=mail.timeout,
            use_tls=mail.security == "tls",
            # STARTTLS and login are separate steps below; False, not None,
            # because None would upgrade whenever the server offers it.
            start_tls=False,
            tls_context=self._tls_context,
        )
        try:
            # On failure connect() has closed the connection itself.
            await client.connect()
        except aiosmtplib.SMTPResponseException as exc:
            raise TransientDeliveryError(
                f"{self.endpoint} refused the connection: {exc.code} {exc.message}", exc.code
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as exc:
            raise TransientDeliveryError(
                f"cannot connect to {self.endpoint}: {_reason(exc)}"
            ) from exc
        # aiosmtplib closes the connection itself when STARTTLS or the login
        # fails inside connect(), and a TLS socket closed that way outlives the
        # call; holding the socket from here on lets _shut wait for it.
        sock = client.get_transport_info("socket")
        try:
            if mail.security == "starttls":
                await client.starttls()
            if mail.username:
                await client.login(mail.username, self._password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            await _shut(client, quit=True, grace=mail.timeout, sock=sock)
            # Wrong credentials are fixable and say nothing about this message.
            raise TransientDeliveryError(
                f"{self.endpoint} refused the login for {mail.username}: {exc.code} {exc.message}",
                exc.code,
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            await _shut(client, quit=True, grace=mail.timeout, sock=sock)
            raise TransientDeliveryError(
                f"{self.endpoint} refused the connection: {exc.code} {exc.message}", exc.code
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as exc:
            await _shut(client, quit=False, grace=mail.timeout, sock=sock)
            raise TransientDeliveryError(
                f"cannot connect to {self.endpoint}: {_reason(exc)}"
            ) from exc
        return client

    async def _after_reply_error(self, slot: _Slot, code: int) -> None:
        # aiosmtplib has already sent RSET after a refused MAIL, RCPT or DATA, so
        # the envelope is clean; only a closing server (421) or a lost
        # connection needs a new one next time.
        client = slot.client
        if client is not None and (code == 421 or not client.is_connected):
            await self._drop(slot)

    async def _drop(self, slot: _Slot) -> None:
        client, slot.client = slot.client, None
        if client is not None:
            # No QUIT: the connection is lost or the server is closing it.
            await _shut(client, quit=False, grace=min(self.mail.timeout, 5.0))

    async def close(self) -> None:
        """QUIT every open connection and wait until the sockets are closed."""
        slots, self._idle = self._idle, []
        for slot in slots:
            client, slot.client = slot.client, None
            if client is not None:
                await _shut(client, quit=True, grace=min(self.mail.timeout, 5.0))


async def _shut(
    client: aiosmtplib.SMTP, *, quit: bool, grace: float, sock: socket.socket | None = None
) -> None:
    """Close a client connection (politely with QUIT) and wait for its socket to close.

    A TLS connection closes in the background (close_notify both ways); waiting
    up to ``grace`` seconds for the socket keeps it from outliving the event
    loop unclosed. Pass ``sock`` when the client may already have dropped it.
    """
    try:
        if client.is_connected:
            if sock is None:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    sock = client.get_transport_info("socket")
            if quit:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                    await client.quit(timeout=grace)
    finally:
        client.close()
    if sock is None:
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            # asyncio has no public way to await an SSL transport's close, so poll.
            while sock.fileno() != -1:  # noqa: ASYNC110
                await asyncio.sleep(0.005)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "message", None) or str(exc) or type(exc).__name__


def _classify_reply(
    exc: aiosmtplib.SMTPResponseException, endpoint: str
) -> TransientDeliveryError | PermanentDeliveryError:
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        what = f"refused the sender {exc.sender}"
    elif isinstance(exc, aiosmtplib.SMTPDataError):
        what = "refused the message"
    else:
        what = "answered"
    text = f"{endpoint} {what}: {exc.code} {exc.message}"
    if 500 <= exc.code < 600:
        return PermanentDeliveryError(text, exc.code)
    return TransientDeliveryError(text, exc.code)


# -- configuration -----------------------------------------------------------------


def load_password(
    mail: MailSection,
    *,
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The SMTP password from ``mail.password_file`` or ``mail.password_env``, else None.

    A bare file name (no folder) is looked up in ``$CREDENTIALS_DIRECTORY``
    first when that is set (systemd ``LoadCredential=``); a relative path is
    taken from ``base_dir`` (the config's folder). One trailing newline is
    dropped. The password never appears in an error message.
    """
    env = os.environ if environ is None else environ
    if mail.password_file:
        path = _password_path(mail.password_file, base_dir, env)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise StaywatchError(
                f"mail.password_file {path} does not exist; create it (mode 0600) "
                "holding only the password"
            ) from None
        except PermissionError:
            raise StaywatchError(
                f"mail.password_file {path} cannot be read (permission denied); "
                "check its owner and mode"
            ) from None
        except IsADirectoryError:
            raise StaywatchError(
                f"mail.password_file {path} is a folder; point it at a file"
            ) from None
        except UnicodeDecodeError:
            raise StaywatchError(f"mail.password_file {path} is not UTF-8 text") from None
        password = text.removesuffix("\n").removesuffix("\r")
        if not password:
            raise StaywatchError(f"mail.password_file {path} is empty; put the password in it")
        return password
    if mail.password_env:
        value = env.get(mail.password_env)
        if value is None:
            raise StaywatchError(
                f"mail.password_env: the environment variable {mail.password_env} is not "
                "set; export it before starting staywatch"
            )
        if not value:
            raise StaywatchError(
                f"mail.password_env: the environment variable {mail.password_env} is empty"
            )
        return value
    return None


def _password_path(name: str, base_dir: Path | None, env: Mapping[str, str]) -> Path:
    path = Path(name).expanduser()
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials and len(path.parts) == 1 and not path.is_absolute():
        return Path(credentials) / path
    if not path.is_absolute() and base_dir is not None:
        return base_dir / path
    return path


def make_transport(config: Config) -> Transport:
    """The transport the config asks for (``[mail] transport``)."""
    mail = config.mail
    if mail.transport == "smtp":
        return SmtpTransport(mail, load_password(mail, base_dir=config.base_dir))
    return MaildirTransport(config.resolve(mail.maildir))
