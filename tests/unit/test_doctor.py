"""``staywatch doctor``'s holidays release check (service.doctor)."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from service.doctor import holidays_version_check


@pytest.mark.parametrize("installed", ["0.60", "0.99", "0.101", "0.101.post1"])
def test_a_release_before_the_floor_fails_and_says_what_to_do(installed: str) -> None:
    check = holidays_version_check(installed)
    assert not check.ok
    assert check.line() == (
        f"FAIL  holidays version: holidays {installed} is older than 0.102, the first release "
        "with the 2026-2027 Korean holidays right (Labor Day, Constitution Day); upgrade it "
        "(pip install 'holidays>=0.102'), or list the missing days in [service] extra_holidays"
    )


@pytest.mark.parametrize("installed", ["0.102", "0.109", "0.110", "1.0", "1.2.post3"])
def test_the_floor_and_later_releases_pass(installed: str) -> None:
    check = holidays_version_check(installed)
    assert check.ok
    assert check.line() == f"ok    holidays version: holidays {installed} (at least 0.102)"


def test_a_missing_package_fails() -> None:
    check = holidays_version_check(None)
    assert not check.ok
    assert "install holidays>=0.102" in check.fix


def test_the_installed_release_passes() -> None:
    check = holidays_version_check(version("holidays"))
    assert check.ok, check.line()
    assert version("holidays") in check.detail
