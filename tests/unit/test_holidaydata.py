"""The holiday calendar loads one country, and knows the same countries as the package."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import holidays

from service.holidaydata import country_holidays, supported_countries


def test_the_codes_are_the_ones_the_package_supports() -> None:
    assert supported_countries() == frozenset(holidays.list_supported_countries())
    assert {"KR", "KOR", "VN", "NP"} <= supported_countries()


def test_korea_loads_without_the_other_countries() -> None:
    script = (
        "import sys\n"
        "from service.holidaydata import country_holidays\n"
        "kr = country_holidays('KR', years=2026, language='en_US')\n"
        "print(sorted(m for m in sys.modules if m.startswith('holidays.countries.')))\n"
        "print(kr.get('2026-05-01'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert out == ["['holidays.countries.south_korea']", "Labor Day"]


def test_the_same_holidays_as_the_package_loader() -> None:
    ours = country_holidays("KR", years=[2026, 2027], language="en_US")
    theirs = holidays.country_holidays("KR", years=[2026, 2027], language="en_US")
    assert dict(ours.items()) == dict(theirs.items())
    assert ours.get(date(2027, 7, 19)) == theirs.get(date(2027, 7, 19))
    # Other countries still load by name after Korea.
    assert country_holidays("VN", years=2027).get(date(2027, 9, 2)) is not None
