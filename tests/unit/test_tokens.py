from __future__ import annotations

import base64
import hmac
import re
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from service import tokens
from service.errors import StaywatchError
from service.tokens import (
    ActionClaim,
    ExpiredLink,
    InvalidLink,
    SecretFileError,
    TokenIndex,
    admin_token,
    feed_token,
    load_or_create_secret,
    office_token,
    sign_action,
    verify_action,
)

SECRET = b"0123456789abcdef0123456789abcdef"
URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
NOW = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
OCCURRENCE = "wang-fang/visa/2027-03-14"


def _bits(token: str) -> int:
    return len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8


# -- feed tokens -----------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        feed_token(SECRET, "wang-fang"),
        feed_token(SECRET, "wang-fang", 7),
        admin_token(SECRET),
        office_token(SECRET, "snu-international"),
    ],
)
def test_tokens_are_url_safe_and_at_least_128_bits(token: str) -> None:
    assert URL_SAFE.match(token)
    assert _bits(token) >= 128
    assert "=" not in token


def test_feed_token_is_deterministic() -> None:
    assert feed_token(SECRET, "wang-fang", 2) == feed_token(SECRET, "wang-fang", 2)


def test_different_people_get_different_tokens() -> None:
    assert feed_token(SECRET, "wang-fang") != feed_token(SECRET, "maria-schmidt")


def test_generation_changes_the_token() -> None:
    assert feed_token(SECRET, "wang-fang", 0) != feed_token(SECRET, "wang-fang", 1)
    assert admin_token(SECRET, 0) != admin_token(SECRET, 1)
    assert office_token(SECRET, "hr", 0) != office_token(SECRET, "hr", 1)


def test_another_secret_gives_other_tokens() -> None:
    assert feed_token(SECRET, "wang-fang") != feed_token(SECRET[::-1], "wang-fang")


def test_token_kinds_are_domain_separated() -> None:
    # The same id as a person and as an office must not share a URL.
    assert feed_token(SECRET, "hr") != office_token(SECRET, "hr")
    assert feed_token(SECRET, "0") != admin_token(SECRET, 0)


# -- the secret file -------------------------------------------------------------


def test_secret_file_is_created_0600_with_its_folders(tmp_path: Path) -> None:
    path = tmp_path / "var" / "deeper" / "secret"

    secret = load_or_create_secret(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret) >= 32
    assert path.read_bytes().strip() == secret
    assert load_or_create_secret(path) == secret
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temp file left


def test_two_new_secrets_differ(tmp_path: Path) -> None:
    assert load_or_create_secret(tmp_path / "a") != load_or_create_secret(tmp_path / "b")


def test_existing_secret_is_used_as_is(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"my own long and random secret text\n")
    path.chmod(0o600)

    assert load_or_create_secret(path) == b"my own long and random secret text"


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (0o644, "is readable by others (mode 0644); run chmod 600 {path}"),
        (0o640, "is readable by others (mode 0640); run chmod 600 {path}"),
        (0o620, "is writable by others (mode 0620); run chmod 600 {path}"),
    ],
)
def test_secret_open_to_others_is_refused(tmp_path: Path, mode: int, message: str) -> None:
    path = tmp_path / "secret"
    path.write_text("a" * 64)
    path.chmod(mode)

    with pytest.raises(SecretFileError) as caught:
        load_or_create_secret(path)

    assert str(caught.value) == f"secret file {path} " + message.format(path=path)
    assert isinstance(caught.value, StaywatchError)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "is empty"), (b"  \n", "is empty"), (b"short", "holds only 5 bytes")],
)
def test_empty_or_short_secret_is_refused(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "secret"
    path.write_bytes(content)
    path.chmod(0o600)

    with pytest.raises(SecretFileError, match=problem):
        load_or_create_secret(path)


# -- the token index -------------------------------------------------------------


def test_index_finds_people_offices_and_admin() -> None:
    index = TokenIndex(SECRET, {"wang-fang": 0, "maria-schmidt": 3}, 2, offices={"hr": 1})

    assert index.lookup(feed_token(SECRET, "wang-fang")) == ("person", "wang-fang")
    assert index.lookup(feed_token(SECRET, "maria-schmidt", 3)) == ("person", "maria-schmidt")
    assert index.lookup(admin_token(SECRET, 2)) == ("admin", None)
    assert index.lookup(office_token(SECRET, "hr", 1)) == ("office", "hr")
    assert len(index) == 4


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nope",
        feed_token(SECRET, "wang-fang")[:-1],
        feed_token(SECRET, "wang-fang") + "A",
        feed_token(SECRET, "stranger"),
        feed_token(SECRET[::-1], "wang-fang"),
        "ÿ" * 24,
        "\udcff",
    ],
)
def test_index_refuses_unknown_tokens(token: str) -> None:
    index = TokenIndex(SECRET, {"wang-fang": 0})

    assert index.lookup(token) is None


def test_rotation_revokes_the_old_url_at_once() -> None:
    old = feed_token(SECRET, "wang-fang", 0)
    admin_old = admin_token(SECRET, 0)

    index = TokenIndex(SECRET, {"wang-fang": 1}, admin_generation=1)

    assert index.lookup(old) is None
    assert index.lookup(admin_old) is None
    assert index.lookup(feed_token(SECRET, "wang-fang", 1)) == ("person", "wang-fang")


def _spy_compare(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, object]]:
    calls: list[tuple[object, object]] = []
    real: Callable[..., bool] = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    return calls


def test_index_compares_in_constant_time_on_hits_and_misses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = TokenIndex(SECRET, {"wang-fang": 0})
    calls = _spy_compare(monkeypatch)

    index.lookup(feed_token(SECRET, "wang-fang"))
    index.lookup("x" * 24)

    assert len(calls) == 2  # a miss is compared (against a decoy) like a hit


# -- signed action links ---------------------------------------------------------


def test_action_link_round_trip() -> None:
    expires = NOW + timedelta(days=30)

    signed = sign_action(SECRET, occurrence=OCCURRENCE, expires=expires)

    assert URL_SAFE.match(signed.replace(".", ""))
    assert signed.count(".") == 1
    assert verify_action(SECRET, signed, NOW) == ActionClaim(OCCURRENCE, "ack", expires)


@pytest.mark.parametrize("action", ["ack\n", "ack\r\n", "\nack"])
def test_action_names_with_a_line_end_are_refused(action: str) -> None:
    with pytest.raises(ValueError, match="not an action name"):
        sign_action(SECRET, occurrence=OCCURRENCE, action=action, expires=NOW)


def test_action_link_is_deterministic() -> None:
    expires = NOW + timedelta(days=30)
    first = sign_action(SECRET, occurrence=OCCURRENCE, action="ack", expires=expires)
    again = sign_action(SECRET, occurrence=OCCURRENCE, action="ack", expires=expires)

    assert first == again
    assert first != sign_action(SECRET, occurrence=OCCURRENCE, action="snooze", expires=expires)


def test_action_link_keeps_the_instant_not_the_zone() -> None:
    seoul = timezone(timedelta(hours=9))
    expires = datetime(2027, 2, 1, 18, 0, 0, 999_000, tzinfo=seoul)

    claim = verify_action(SECRET, sign_action(SECRET, occurrence=OCCURRENCE, expires=expires), NOW)

    assert claim.expires == expires.replace(microsecond=0)
    assert claim.expires.tzinfo is UTC


def test_expired_link_is_refused_with_its_claim() -> None:
    expires = NOW + timedelta(days=1)
    signed = sign_action(SECRET, occurrence=OCCURRENCE, expires=expires)

    with pytest.raises(ExpiredLink) as caught:
        verify_action(SECRET, signed, expires)

    assert caught.value.claim == ActionClaim(OCCURRENCE, "ack", expires)
    assert OCCURRENCE in str(caught.value)
    assert verify_action(SECRET, signed, expires - timedelta(seconds=1)).occurrence == OCCURRENCE


def _flip(text: str, at: int) -> str:
    swapped = "B" if text[at] == "A" else "A"
    return text[:at] + swapped + text[at + 1 :]


_GOOD = sign_action(SECRET, occurrence=OCCURRENCE, expires=NOW + timedelta(days=30))
_PAYLOAD, _, _TAG = _GOOD.partition(".")


@pytest.mark.parametrize(
    "signed",
    [
        pytest.param(_flip(_GOOD, 3), id="payload-changed"),
        pytest.param(_flip(_GOOD, len(_GOOD) - 2), id="tag-changed"),
        pytest.param(_PAYLOAD, id="no-tag"),
        pytest.param(_PAYLOAD + ".", id="empty-tag"),
        pytest.param("." + _TAG, id="empty-payload"),
        pytest.param(_GOOD + ".x", id="extra-part"),
        pytest.param(_GOOD[:-4], id="cut-short"),
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param("é.é", id="non-ascii"),
        pytest.param(
            sign_action(SECRET[::-1], occurrence=OCCURRENCE, expires=NOW + timedelta(days=1)),
            id="other-secret",
        ),
        pytest.param(
            # A payload for another occurrence grafted onto a genuine tag.
            sign_action(
                SECRET, occurrence="maria-schmidt/card/2027-06-06", expires=NOW + timedelta(days=30)
            ).partition(".")[0]
            + "."
            + _TAG,
            id="grafted",
        ),
    ],
)
def test_tampered_or_garbled_link_is_invalid(signed: str) -> None:
    with pytest.raises(InvalidLink) as caught:
        verify_action(SECRET, signed, NOW)

    assert type(caught.value) is InvalidLink
    assert str(caught.value)


def test_verification_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _spy_compare(monkeypatch)

    verify_action(SECRET, _GOOD, NOW)
    with pytest.raises(InvalidLink):
        verify_action(SECRET, _flip(_GOOD, 3), NOW)

    assert len(calls) == 2


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"occurrence": OCCURRENCE, "action": "Ack!"}, "not an action name"),
        ({"occurrence": "a|b", "action": "ack"}, "not an occurrence key"),
        ({"occurrence": "", "action": "ack"}, "not an occurrence key"),
    ],
)
def test_sign_refuses_bad_input(kwargs: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        sign_action(SECRET, expires=NOW, **kwargs)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        sign_action(SECRET, occurrence=OCCURRENCE, expires=datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        verify_action(SECRET, _GOOD, datetime(2027, 1, 1))
