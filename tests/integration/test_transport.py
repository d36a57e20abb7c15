from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import Callable
from datetime import UTC, date, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

import pytest

from service.config import MailSection, parse_config
from service.errors import PermanentDeliveryError, StaywatchError, TransientDeliveryError
from service.plan import plan
from service.render import render_reminder
from service.transport import (
    MaildirTransport,
    SmtpTransport,
    load_password,
    make_transport,
)
from tests.fixtures.smtp import PASSWORD, USERNAME, Script, Security, SmtpServer
from tests.fixtures.sockets import connections_to

Start = Callable[..., SmtpServer]
NOW = datetime(2027, 1, 5, 0, 0, tzinfo=UTC)


def _message(
    to: tuple[str, ...] = ("an@example.org",), cc: tuple[str, ...] = (), number: int = 1
) -> EmailMessage:
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = f"test {number}"
    message["From"] = "staywatch <staywatch@example.org>"
    message["To"] = [Address(display_name="Nguyễn Văn An", addr_spec=a) for a in to]
    if cc:
        message["Cc"] = list(cc)
    message["Message-ID"] = f"<test-{number}@example.org>"
    message.set_content("체류기간 / 居留期限 / period of stay\n")
    return message


def _transport(server: SmtpServer, **options: object) -> SmtpTransport:
    password = PASSWORD if server.auth else None
    return SmtpTransport(
        server.mail_section(**options),
        password,
        tls_context=server.client_tls,
        local_hostname="client.test",
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- delivery over each security mode ---------------------------------------------


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
async def test_sends_over_each_security_mode(smtp_server: Start, security: str) -> None:
    server = smtp_server(security)
    transport = _transport(server)
    try:
        result = await transport.send(_message(cc=("office@example.org",)))
    finally:
        await transport.close()
    assert result.accepted == ("an@example.org", "office@example.org")
    assert dict(result.refused) == {}
    assert result.code == 250
    assert "queued as 1" in result.text
    [received] = server.messages
    assert received.mail_from == "staywatch@example.org"
    assert received.rcpt_tos == ("an@example.org", "office@example.org")
    assert received.tls is (security != "none")
    parsed = received.message
    assert parsed["Message-ID"] == "<test-1@example.org>"
    assert parsed["To"].addresses[0].display_name == "Nguyễn Văn An"
    assert parsed.get_content().replace("\r\n", "\n") == "체류기간 / 居留期限 / period of stay\n"


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_logs_in_when_a_username_is_set(smtp_server: Start, security: str) -> None:
    server = smtp_server(security, auth=True)
    transport = _transport(server)
    try:
        await transport.send(_message())
    finally:
        await transport.close()
    [received] = server.messages
    assert received.login == USERNAME


async def test_a_wrong_password_is_transient_and_not_shown(smtp_server: Start) -> None:
    server = smtp_server("starttls", auth=True)
    transport = SmtpTransport(server.mail_section(), "wrong-secret", tls_context=server.client_tls)
    with pytest.raises(TransientDeliveryError) as caught:
        await transport.send(_message())
    await transport.close()
    assert caught.value.code == 535
    assert "wrong-secret" not in str(caught.value)
    assert USERNAME in str(caught.value)
    assert server.messages == []
    # The TLS connection is gone, not left closing in the background.
    assert connections_to(server.port) == 0


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_an_untrusted_certificate_is_a_transient_failure(
    smtp_server: Start, security: Security
) -> None:
    server = smtp_server(security)
    # The system trust store does not know the test CA.
    transport = SmtpTransport(server.mail_section(), None)
    with pytest.raises(TransientDeliveryError, match="cannot connect"):
        await transport.send(_message())
    await transport.close()
    assert connections_to(server.port) == 0


async def test_a_rendered_reminder_arrives_intact(smtp_server: Start) -> None:
    config = parse_config(
        """
        [mail]
        from = "staywatch <reminders@staywatch.example.org>"

        [[person]]
        id = "nguyen-van-an"
        name = "Nguyễn Văn An"
        email = ["an@example.org"]
        language = "ko"

          [[person.deadline]]
          id = "visa"
          kind = "stay_expiry"
          date = 2027-03-12
          recipients = ["intl@uni.example.ac.kr"]
        """
    )
    [occurrence] = plan(config, date(2027, 1, 1), date(2027, 12, 31))
    reminder = next(r for r in occurrence.reminders if r.offset == "P30D")
    message = render_reminder(
        config,
        config.people[0],
        occurrence,
        reminder,
        now=reminder.due,
        ack_url="https://staywatch.example.org/act/x",
        feed_url=None,
    )
    server = smtp_server("starttls")
    transport = _transport(server)
    try:
        result = await transport.send(message)
    finally:
        await transport.close()
    # The person's own message: the recipient gets a copy of its own, not a Cc.
    assert result.accepted == ("an@example.org",)
    [received] = server.messages
    assert received.message["Cc"] is None
    assert received.mail_from == "reminders@staywatch.example.org"
    parsed = received.message
    assert parsed["Message-ID"] == "<nguyen-van-an/visa/2027-03-12/P30D@staywatch.example.org>"
    assert parsed["X-Staywatch-Key"] == "nguyen-van-an/visa/2027-03-12/P30D"
    assert parsed["Subject"] == message["Subject"]
    assert parsed["To"].addresses[0].display_name == "Nguyễn Văn An"
    text = parsed.get_body(("plain",))
    assert text is not None
    assert "체류기간이 2027년 3월 12일(금)에 만료됩니다." in text.get_content()


#: Long enough to fold, with a space where Python's own folder used to drop it.
FOLDED_SUBJECT = (
    "기한 지남: Wang Fang 님, 체류기간 만료 3월 14일(일) (1일 지남) — 출입국·외국인청에 전화하세요"
)


async def test_a_folded_korean_subject_arrives_with_every_space(
    smtp_server: Start, tmp_path: Path
) -> None:
    message = _message()
    del message["Subject"]
    message["Subject"] = FOLDED_SUBJECT
    server = smtp_server("none")
    transport = _transport(server)
    try:
        await transport.send(message)
    finally:
        await transport.close()
    [received] = server.messages
    assert received.message["Subject"] == FOLDED_SUBJECT
    box = tmp_path / "mail"
    await MaildirTransport(box).send(message)
    [path] = (box / "new").iterdir()
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == FOLDED_SUBJECT


# -- scripted failures ------------------------------------------------------------


async def test_451_is_transient_and_the_callers_retry_succeeds(smtp_server: Start) -> None:
    server = smtp_server(script=Script(fail_first=1))
    transport = _transport(server)
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await transport.send(_message())
        assert caught.value.code == 451
        assert "Temporary local problem" in str(caught.value)
        result = await transport.send(_message())  # the dispatcher's retry
    finally:
        await transport.close()
    assert result.accepted == ("an@example.org",)
    assert len(server.messages) == 1
    # The envelope was reset and the same connection reused.
    assert server.connections == 1


async def test_one_refused_recipient_does_not_stop_the_others(smtp_server: Start) -> None:
    server = smtp_server(script=Script(refuse={"gone@example.org": "550 5.1.1 No such user"}))
    transport = _transport(server)
    try:
        result = await transport.send(_message(to=("an@example.org", "gone@example.org")))
    finally:
        await transport.close()
    assert result.accepted == ("an@example.org",)
    assert dict(result.refused) == {"gone@example.org": (550, "5.1.1 No such user")}
    [received] = server.messages
    assert received.rcpt_tos == ("an@example.org",)


async def test_every_recipient_refused_is_permanent_with_the_reply(smtp_server: Start) -> None:
    refuse = {
        "an@example.org": "550 5.1.1 Mailbox unavailable",
        "office@example.org": "550 5.1.1 Mailbox unavailable",
    }
    server = smtp_server(script=Script(refuse=refuse))
    transport = _transport(server)
    try:
        with pytest.raises(PermanentDeliveryError) as caught:
            await transport.send(_message(cc=("office@example.org",)))
        assert caught.value.code == 550
        assert "5.1.1 Mailbox unavailable" in str(caught.value)
        assert "an@example.org" in str(caught.value)
        # The connection is still good for the next message.
        server.handler.script.refuse.clear()
        await transport.send(_message())
    finally:
        await transport.close()
    assert server.connections == 1


async def test_every_recipient_deferred_is_transient(smtp_server: Start) -> None:
    server = smtp_server(
        script=Script(refuse={"an@example.org": "450 4.2.1 Mailbox busy, try later"})
    )
    transport = _transport(server)
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await transport.send(_message())
    finally:
        await transport.close()
    assert caught.value.code == 450


@pytest.mark.parametrize(
    ("script", "code", "text"),
    [
        (Script(data_reply="554 5.6.0 Message rejected as spam"), 554, "rejected as spam"),
        (Script(mail_reply="553 5.7.1 Sender not allowed"), 553, "Sender not allowed"),
        (Script(fail_first=99, fail_reply="452 4.3.1 Out of disk"), None, None),
    ],
)
async def test_replies_to_mail_and_data_are_classified(
    smtp_server: Start, script: Script, code: int | None, text: str | None
) -> None:
    server = smtp_server(script=script)
    transport = _transport(server)
    try:
        if code is None:
            with pytest.raises(TransientDeliveryError) as transient:
                await transport.send(_message())
            assert transient.value.code == 452
            assert not isinstance(transient.value, PermanentDeliveryError)
        else:
            with pytest.raises(PermanentDeliveryError) as permanent:
                await transport.send(_message())
            assert permanent.value.code == code
            assert text is not None
            assert text in str(permanent.value)
    finally:
        await transport.close()
    assert server.messages == []


async def test_connection_refused_is_transient() -> None:
    mail = MailSection.model_validate(
        {"transport": "smtp", "host": "127.0.0.1", "port": _closed_port(), "security": "none"}
    )
    transport = SmtpTransport(mail, None)
    with pytest.raises(TransientDeliveryError, match=r"cannot connect to 127\.0\.0\.1"):
        await transport.send(_message())
    await transport.close()


async def test_a_silent_server_times_out_as_transient() -> None:
    # Listening but never answering: the kernel completes the TCP handshake,
    # and no greeting ever comes.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        mail = MailSection.model_validate(
            {
                "transport": "smtp",
                "host": "127.0.0.1",
                "port": listener.getsockname()[1],
                "security": "none",
                "timeout": 0.3,
            }
        )
        transport = SmtpTransport(mail, None, local_hostname="client.test")
        with pytest.raises(TransientDeliveryError):
            await transport.send(_message())
        await transport.close()


# -- connection reuse ----------------------------------------------------------


async def test_sequential_sends_share_one_connection(smtp_server: Start) -> None:
    server = smtp_server("starttls")
    transport = _transport(server)
    try:
        for number in range(10):
            await transport.send(_message(number=number))
    finally:
        await transport.close()
    assert len(server.messages) == 10
    assert server.connections == 1


async def test_concurrent_sends_use_at_most_concurrency_connections(smtp_server: Start) -> None:
    server = smtp_server()
    transport = _transport(server, concurrency=3)
    try:
        results = await asyncio.gather(*(transport.send(_message(number=n)) for n in range(30)))
    finally:
        await transport.close()
    assert all(r.accepted == ("an@example.org",) for r in results)
    assert len(server.messages) == 30
    assert {m.message["Message-ID"] for m in server.messages} == {
        f"<test-{n}@example.org>" for n in range(30)
    }
    assert 1 <= server.connections <= 3


async def test_reconnects_after_the_server_dropped_an_idle_connection(
    smtp_server: Start,
) -> None:
    server = smtp_server(idle_timeout=0.2)
    transport = _transport(server)
    try:
        await transport.send(_message(number=1))
        await asyncio.sleep(0.6)  # the server says 421 and hangs up
        await transport.send(_message(number=2))
    finally:
        await transport.close()
    assert len(server.messages) == 2
    assert server.connections == 2


async def test_probes_a_connection_that_sat_idle(smtp_server: Start) -> None:
    server = smtp_server()
    transport = SmtpTransport(
        server.mail_section(), None, local_hostname="client.test", probe_after=0.0
    )
    try:
        await transport.send(_message(number=1))
        await asyncio.sleep(0.05)
        await transport.send(_message(number=2))
    finally:
        await transport.close()
    assert len(server.messages) == 2
    assert server.connections == 1  # NOOP said it is alive: kept


async def test_close_then_send_again_reconnects(smtp_server: Start) -> None:
    server = smtp_server()
    transport = _transport(server)
    await transport.send(_message(number=1))
    await transport.close()
    await transport.send(_message(number=2))
    await transport.close()
    assert len(server.messages) == 2
    assert server.connections == 2


# -- Maildir ---------------------------------------------------------------------


async def test_maildir_delivers_atomically_into_new(tmp_path: Path) -> None:
    box = tmp_path / "mail"
    transport = MaildirTransport(box)
    first = await transport.send(_message(number=1, cc=("office@example.org",)))
    await transport.send(_message(number=2))
    await transport.close()
    assert first.accepted == ("an@example.org", "office@example.org")
    assert first.code == 250
    assert sorted(p.name for p in box.iterdir()) == ["cur", "new", "tmp"]
    assert list((box / "tmp").iterdir()) == []
    files = sorted((box / "new").iterdir())
    assert len(files) == 2
    ids = set()
    for path in files:
        parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        ids.add(parsed["Message-ID"])
        assert b"\r\n" not in path.read_bytes()  # local line endings in a Maildir
    assert ids == {"<test-1@example.org>", "<test-2@example.org>"}
    assert first.text.removeprefix("delivered to maildir new/") in {p.name for p in files}


async def test_maildir_write_failure_is_transient(tmp_path: Path) -> None:
    blocker = tmp_path / "mail"
    blocker.write_text("not a folder")
    transport = MaildirTransport(blocker)
    with pytest.raises(TransientDeliveryError, match="cannot write to maildir"):
        await transport.send(_message())


# -- passwords and configuration ---------------------------------------------------


def _mail(**values: object) -> MailSection:
    return MailSection.model_validate({"transport": "smtp", "host": "mail.example.org", **values})


def test_password_file_relative_to_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "smtp.pw").write_text("s3cret\n")
    assert load_password(_mail(password_file="smtp.pw"), base_dir=tmp_path, environ={}) == "s3cret"


def test_password_file_from_systemd_credentials(tmp_path: Path) -> None:
    (tmp_path / "smtp-password").write_text("from-systemd")
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    mail = _mail(password_file="smtp-password")
    assert load_password(mail, base_dir=Path("/nowhere"), environ=environ) == "from-systemd"


def test_password_from_the_environment() -> None:
    mail = _mail(password_env="SMTP_PASSWORD")
    assert load_password(mail, environ={"SMTP_PASSWORD": "pw from env"}) == "pw from env"
    assert load_password(_mail(), environ={}) is None


def test_missing_password_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StaywatchError, match=r"mail.password_file .*smtp.pw does not exist"):
        load_password(_mail(password_file="smtp.pw"), base_dir=tmp_path, environ={})


def test_empty_password_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "smtp.pw").write_text("\n")
    with pytest.raises(StaywatchError, match="is empty"):
        load_password(_mail(password_file="smtp.pw"), base_dir=tmp_path, environ={})


def test_missing_password_env_is_a_clear_error() -> None:
    with pytest.raises(StaywatchError, match="SMTP_PASSWORD is not set"):
        load_password(_mail(password_env="SMTP_PASSWORD"), environ={})


def test_username_without_password_is_refused() -> None:
    with pytest.raises(StaywatchError, match="no password"):
        SmtpTransport(_mail(username="me"), None)


def test_make_transport_follows_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = parse_config("", tmp_path / "staywatch.toml")
    maildir = make_transport(default)
    assert isinstance(maildir, MaildirTransport)
    assert maildir.path == tmp_path / "var" / "mail"

    monkeypatch.setenv("STAYWATCH_TEST_SMTP_PW", "pw")
    smtp = make_transport(
        parse_config(
            """
            [mail]
            transport = "smtp"
            host = "mail.example.org"
            username = "me"
            password_env = "STAYWATCH_TEST_SMTP_PW"
            """,
            tmp_path / "staywatch.toml",
        )
    )
    assert isinstance(smtp, SmtpTransport)
    assert smtp.name == "smtp"
    assert smtp.endpoint == "mail.example.org:587"

    no_host = parse_config('[mail]\ntransport = "smtp"\n', tmp_path / "staywatch.toml")
    with pytest.raises(StaywatchError, match=r"mail.host is not set"):
        make_transport(no_host)
