"""The holidays package, one country at a time.

``holidays.country_holidays("KR")`` and ``holidays.list_supported_countries()``
import the package ``holidays.countries``, whose ``__init__`` imports all of its
~250 countries: 45 ms and 8 MB of memory that a process keeping one calendar
never uses. Here the country's own module is imported under its parent package
left unexecuted (the package's loader still finds every country by name), and
the codes come from the package's registry, which imports no country.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from holidays import HolidayBase

_PACKAGE = "holidays.countries"
#: Planning runs in worker threads too; the parent package is set up once.
_LOCK = threading.Lock()


@cache
def supported_countries() -> frozenset[str]:
    """The ISO 3166 codes (alpha-2 and alpha-3) the package has a calendar for."""
    from holidays import registry

    return frozenset(
        alias
        for _, *aliases in registry.COUNTRIES.values()
        for alias in aliases
        if len(alias) in (2, 3) and alias.isupper()
    )


def country_holidays(code: str, **options: Any) -> HolidayBase:
    """``holidays.country_holidays(code, **options)`` without importing the other countries."""
    import holidays

    with _LOCK:
        if _PACKAGE not in sys.modules:
            spec = importlib.util.find_spec(_PACKAGE)
            if spec is not None and spec.submodule_search_locations is not None:
                sys.modules[_PACKAGE] = importlib.util.module_from_spec(spec)
    return holidays.country_holidays(code, **options)
