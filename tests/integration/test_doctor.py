"""``staywatch doctor`` against real parts: an SMTP server with STARTTLS and login."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from service.doctor import run_checks
from tests.fixtures.smtp import PASSWORD, USERNAME, SmtpServer
from tests.fixtures.sockets import connections_to


def write_config(tmp_path: Path, mail: str) -> Path:
    path = tmp_path / "staywatch.toml"
    path.write_text(
        '[service]\ndatabase = "sqlite:///var/db.sqlite"\n'
        f"[mail]\n{mail}\n"
        '[feed]\nlisten = "127.0.0.1:9"\npublic_url = "http://127.0.0.1:9"\n'
        '[[person]]\nid = "a"\nname = "A"\nemail = ["a@example.org"]\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def trusted(smtp_ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the test CA trusted the way an admin's system CA store would be."""
    bundle = tmp_path / "ca.pem"
    smtp_ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


async def test_a_good_deployment_passes_and_nothing_is_sent(
    smtp_server: Callable[..., SmtpServer], trusted: None, tmp_path: Path
) -> None:
    server = smtp_server("starttls", auth=True)
    (tmp_path / "smtp-password").write_text(PASSWORD + "\n", encoding="utf-8")
    path = write_config(
        tmp_path,
        f'transport = "smtp"\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "starttls"\n'
        f'username = "{USERNAME}"\npassword_file = "smtp-password"',
    )
    checks = {c.name: c for c in await run_checks(path)}
    assert checks["config"].ok
    assert checks["mail"].ok, checks["mail"].line()
    assert checks["mail"].detail == (
        f"127.0.0.1:{server.port}: connected, TLS, logged in as {USERNAME} (nothing sent)"
    )
    assert server.messages == []
    assert checks["secret"].ok  # not created yet: the daemon creates it on start
    assert checks["holidays"].ok
    assert checks["holidays version"].ok, checks["holidays version"].line()
    # Nothing listens on the public URL: the admin is told to start the daemon.
    assert not checks["public url"].ok
    assert "start the daemon" in checks["public url"].line()
    # A database nobody migrated yet.
    assert not checks["database"].ok
    assert "applies the migrations" in checks["database"].fix


async def test_a_wrong_password_and_an_open_secret_fail_with_what_to_do(
    smtp_server: Callable[..., SmtpServer], trusted: None, tmp_path: Path
) -> None:
    server = smtp_server("starttls", auth=True)
    (tmp_path / "smtp-password").write_text("wrong\n", encoding="utf-8")
    path = write_config(
        tmp_path,
        f'transport = "smtp"\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "starttls"\n'
        f'username = "{USERNAME}"\npassword_file = "smtp-password"',
    )
    secret = tmp_path / "var" / "secret"
    secret.parent.mkdir()
    secret.write_text("0" * 64, encoding="utf-8")
    secret.chmod(0o644)
    checks = {c.name: c for c in await run_checks(path)}
    assert not checks["mail"].ok
    assert "refused the login for staywatch: 535" in checks["mail"].detail
    assert "wrong" not in checks["mail"].line()  # never print the password
    assert connections_to(server.port) == 0  # the probe's connection is closed
    assert not checks["secret"].ok
    assert checks["secret"].fix == f"run chmod 600 {secret}"


async def test_a_broken_config_stops_at_the_config_check(tmp_path: Path) -> None:
    path = tmp_path / "staywatch.toml"
    path.write_text('[service]\nsend_time = "25:00"\n', encoding="utf-8")
    checks = await run_checks(path)
    assert [c.name for c in checks] == ["config"]
    assert not checks[0].ok
    assert f"{path}:2:" in checks[0].detail


@pytest.mark.parametrize(
    ("sender", "warned"),
    [
        ("staywatch <staywatch@localhost>", True),
        ("staywatch@mailhost", True),
        ("staywatch@[192.168.1.10]", True),
        ("staywatch@server.local", True),
        ("staywatch@box.internal", True),
        ("staywatch <reminders@uni.example.ac.kr>", False),
        ("알림 <staywatch@대학교.한국>", False),
    ],
)
async def test_a_sender_domain_that_is_not_fully_qualified_is_a_warning(
    tmp_path: Path, sender: str, warned: bool
) -> None:
    path = write_config(tmp_path, f'transport = "maildir"\nmaildir = "var/mail"\nfrom = "{sender}"')

    checks = {c.name: c for c in await run_checks(path)}

    check = checks["sender"]
    assert check.ok  # a warning never fails the run
    assert check.warning is warned
    if warned:
        assert check.line().startswith("warn  sender: From domain ")
        assert "not a fully qualified domain name" in check.line()
        assert "set [mail] from" in check.line()
        assert check.as_json()["warning"] is True
    else:
        assert check.line().startswith("ok    sender: ")
