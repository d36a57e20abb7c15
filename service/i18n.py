"""Message catalogs and locale formatting: the words people read, in their language.

Every string a person or office reads is an English message id looked up in a
gettext catalog, ``service/locale/LANG/LC_MESSAGES/staywatch.po`` (extracted and
compiled with Babel; see ``babel.cfg``). Placeholders are ``%(name)s``, the same
in Python and in the jinja2 templates. A message missing from a catalog falls
back to the English id, never to an empty string.

The language in force is a :class:`~contextvars.ContextVar`, set for one
rendering with :func:`use_locale`; ``asyncio`` tasks and ``asyncio.to_thread``
carry it, so concurrent renderings in different languages never mix.

Dates and numbers go through Babel for the language's locale. Thai dates are
written in the Buddhist era (Babel formats Gregorian years only; see
:func:`format_day`).

Nothing here imports Babel or jinja2 until a catalog or a template is needed:
English needs neither, and the read-only commands stay quick.
"""

from __future__ import annotations

import gettext as _gettext
import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from service.kinds import LANGUAGES, Language

if TYPE_CHECKING:
    from jinja2 import BaseLoader, Environment

DOMAIN = "staywatch"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LANGUAGE: Language = "en"

#: The Babel (CLDR) locale each language's dates and numbers are formatted in.
#: English uses the day-month order of en_GB ("Sun 14 Mar"); Chinese is Simplified;
#: Uzbek is written in Latin script, Mongolian in Cyrillic.
BABEL_LOCALES: dict[Language, str] = {
    "en": "en_GB",
    "ko": "ko_KR",
    "zh": "zh_Hans_CN",
    "vi": "vi_VN",
    "ne": "ne_NP",
    "uz": "uz_Latn_UZ",
    "km": "km_KH",
    "th": "th_TH",
    "mn": "mn_MN",
    "ru": "ru_RU",
    "id": "id_ID",
}

_current: ContextVar[Language] = ContextVar("staywatch_language", default=SOURCE_LANGUAGE)


def language(value: str | None) -> Language:
    """``value`` if it is a supported language, else English."""
    for known in LANGUAGES:
        if value == known:
            return known
    return SOURCE_LANGUAGE


@cache
def has_catalog(lang: str) -> bool:
    """True for English (the message ids) and for languages whose ``.po`` file exists."""
    chosen = language(lang)
    return chosen == SOURCE_LANGUAGE or catalog_path(chosen).exists()


def rendering_language(lang: str | None) -> Language:
    """The language a message for a ``lang`` reader is written in.

    ``lang`` itself when it has a catalog, else English: words, dates and
    numbers alike, so that no sentence mixes two languages while a
    translation is on its way.
    """
    chosen = language(lang)
    return chosen if has_catalog(chosen) else SOURCE_LANGUAGE


def available_languages() -> tuple[Language, ...]:
    """The languages messages can be written in today: English and every catalog."""
    return tuple(lang for lang in LANGUAGES if has_catalog(lang))


def current_language() -> Language:
    """The language of the rendering in progress (English outside :func:`use_locale`)."""
    return _current.get()


@contextmanager
def use_locale(lang: str | None) -> Iterator[Language]:
    """Render for a ``lang`` reader until the block ends; yields the language used.

    Unknown languages and languages without a catalog are written in English
    (see :func:`rendering_language`).
    """
    chosen = rendering_language(lang)
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


# -- catalogs -------------------------------------------------------------------


def catalog_path(lang: str, suffix: str = ".po") -> Path:
    """Where the catalog of ``lang`` lives (``.po`` source or compiled ``.mo``)."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalog of ``lang``, loaded once per process.

    Uses the compiled ``.mo`` when it is at least as new as the ``.po``;
    otherwise compiles the ``.po`` now (and keeps the ``.mo`` when the package
    folder is writable). English, the language of the message ids, and a
    language without a catalog get the ids themselves.
    """
    chosen = language(lang)
    po = catalog_path(chosen)
    if chosen == SOURCE_LANGUAGE or not po.exists():
        return _gettext.NullTranslations()
    mo = catalog_path(chosen, ".mo")
    try:
        fresh = mo.stat().st_mtime >= po.stat().st_mtime
    except FileNotFoundError:
        fresh = False
    data = None
    if fresh:
        try:
            data = mo.read_bytes()
        except OSError:
            data = None  # e.g. written by another user with a private mode
    if data is None:
        data = compile_catalog(po)
        _keep(mo, data)
    return _gettext.GNUTranslations(io.BytesIO(data))


def compile_catalog(po: Path) -> bytes:
    """The ``.mo`` bytes of a ``.po`` file (fuzzy entries are left out, as msgfmt does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def _keep(mo: Path, data: bytes) -> None:
    """Write a compiled catalog atomically; a read-only install just compiles each start."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".staywatch-", suffix=".mo", dir=mo.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp makes the file private; the daemon may run as another user than
        # whoever compiled it first, and a catalog holds nothing secret.
        os.chmod(tmp, 0o644)
        os.replace(tmp, mo)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _catalog() -> _gettext.NullTranslations:
    return translations(_current.get())


# -- looking messages up ------------------------------------------------------------
#
# Python and templates share one placeholder style, ``%(name)s``, and format only
# when values are given: a message formatted with values writes a literal percent
# sign as ``%%``.


def _fill(text: str, values: dict[str, Any]) -> str:
    return text % values if values else text


def _(message: str, /, **values: Any) -> str:
    """``message`` in the current language, with ``%(name)s`` placeholders filled."""
    return _fill(_catalog().gettext(message), values)


def ngettext(singular: str, plural: str, n: int, /, **values: Any) -> str:
    """The plural form for ``n`` in the current language; ``%(num)d`` is ``n``."""
    return _fill(_catalog().ngettext(singular, plural, n), {"num": n, **values})


def pgettext(context: str, message: str, /, **values: Any) -> str:
    """``message`` in ``context`` (e.g. a kind name) in the current language."""
    return _fill(_catalog().pgettext(context, message), values)


def npgettext(context: str, singular: str, plural: str, n: int, /, **values: Any) -> str:
    """:func:`ngettext` within ``context``."""
    return _fill(_catalog().npgettext(context, singular, plural, n), {"num": n, **values})


def N_(message: str, /) -> str:
    """Mark ``message`` for extraction without translating it (tables of messages)."""
    return message


def NP_(context: str, message: str, /) -> tuple[str, str]:
    """Mark ``message`` in ``context`` for extraction; translate later with :func:`pgettext`."""
    return context, message


# -- templates ----------------------------------------------------------------------


def jinja_environment(loader: BaseLoader, **options: Any) -> Environment:
    """A jinja2 environment whose ``_()``, ``gettext`` and ``ngettext`` use the catalogs.

    The callables read the current language (:func:`use_locale`) at call time:
    one shared environment serves every language, without per-render state.
    """
    from jinja2 import Environment

    env = Environment(loader=loader, extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: _catalog().gettext(message),
        lambda singular, plural, n: _catalog().ngettext(singular, plural, n),
        newstyle=True,
        pgettext=lambda context, message: _catalog().pgettext(context, message),
        npgettext=lambda context, singular, plural, n: _catalog().npgettext(
            context, singular, plural, n
        ),
    )
    return env


# -- dates and numbers ----------------------------------------------------------------

DayStyle = Literal[
    "long",
    "short",
    "short_year",
    "date",
    "day_month",
    "day_of_month",
    "weekday",
    "weekday_short",
    "weekday_with_date",
    "month",
    "month_name",
    "numeric",
]

#: Patterns where the locale's CLDR default is not how people there write it in a
#: letter. Korean puts the weekday in brackets right after the day: "3월 14일(일)".
_PATTERNS: dict[tuple[Language, DayStyle], str] = {
    ("ko", "long"): "y년 M월 d일(E)",
    ("ko", "short"): "M월 d일(E)",
    ("ko", "short_year"): "y년 M월 d일(E)",
    ("ko", "date"): "y년 M월 d일",
    ("ko", "day_month"): "M월 d일",
    ("ko", "day_of_month"): "d일",
    ("ko", "weekday_with_date"): "E",
    ("zh", "long"): "y年M月d日（EEEE）",
    ("zh", "short"): "M月d日（EEE）",
    ("zh", "short_year"): "y年M月d日（EEE）",
    ("zh", "date"): "y年M月d日",
    ("zh", "day_month"): "M月d日",
    ("zh", "day_of_month"): "d日",
    ("zh", "weekday_with_date"): "EEE",
    ("zh", "month_name"): "M月",
}
#: CLDR skeletons (or named formats) for the other languages. ``day_of_month``
#: (a day after another of the same month in a list: "10월 10일·11일") falls back
#: to the full ``day_month`` where a language has no pattern for it.
_SKELETONS: dict[DayStyle, str] = {
    "long": "full",
    "short": "MMMEd",
    "short_year": "yMMMEd",
    "date": "yMMMMd",
    "day_month": "MMMMd",
    "day_of_month": "MMMMd",
    "weekday": "EEEE",
    "weekday_short": "EEE",
    "weekday_with_date": "EEEE",
    "month": "yMMMM",
    "month_name": "LLLL",
    "numeric": "yMd",
}
#: The Buddhist era counts from 543 BCE: 2027 CE is 2570 BE.
BUDDHIST_ERA_OFFSET = 543
_YEAR = re.compile(r"('[^']*')|(y+)|(G+)")


def babel_locale(lang: str) -> str:
    """The Babel locale name dates and numbers of ``lang`` are formatted in."""
    return BABEL_LOCALES[language(lang)]


@cache
def _pattern(lang: Language, style: DayStyle) -> str:
    from babel.dates import get_date_format
    from babel.dates import parse_pattern as _parse

    found = _PATTERNS.get((lang, style))
    if found is not None:
        return found
    skeleton = _SKELETONS[style]
    if skeleton == "full":
        return str(get_date_format("full", locale=babel_locale(lang)).pattern)
    if skeleton in ("LLLL", "EEEE", "EEE"):
        return skeleton
    from babel import Locale
    from babel.dates import match_skeleton

    locale = Locale.parse(babel_locale(lang))
    best = match_skeleton(skeleton, locale.datetime_skeletons)
    if best is None:
        return skeleton
    return str(_parse(locale.datetime_skeletons[best]).pattern)


def _buddhist(pattern: str, year: int) -> str:
    """``pattern`` with its year fields replaced by the Buddhist-era year (quoted literal)."""

    def repl(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1)  # a quoted literal stays as it is
        if match.group(2):
            return f"'{year + BUDDHIST_ERA_OFFSET}'"
        return "'พ.ศ.'"  # the era name: "B.E.", instead of CLDR's "ค.ศ." (A.D.)

    return _YEAR.sub(repl, pattern)


def format_day(day: date, lang: str, style: DayStyle = "long") -> str:
    """A calendar day for people: "Sunday, 14 March 2027", "2027년 3월 14일(일)", ...

    Styles: ``short``, the subject-line form with weekday ("Sun 14 Mar");
    ``short_year``, the same with the year; ``date``, the long date without
    weekday ("14 March 2027"); ``day_month`` ("14 March"); ``day_of_month``, a
    day after another of the same month in a list ("11일", where the language
    leaves the month out); ``weekday`` and ``weekday_short``; ``weekday_with_date``,
    the weekday as it goes next to a date ("Sunday", Korean "일"); ``month``
    ("March 2027"); ``month_name`` ("March"); ``numeric``. Thai years are
    Buddhist-era years (2027 is 2570).
    """
    from babel.dates import format_date

    lang_ = language(lang)
    pattern = _pattern(lang_, style)
    if lang_ == "th":
        pattern = _buddhist(pattern, day.year)
    return str(format_date(day, format=pattern, locale=babel_locale(lang_)))


def format_time(when: datetime, lang: str) -> str:
    """The local time of day of an aware instant, 24-hour, with the zone's abbreviation."""
    clock = f"{when:%H:%M}"
    zone = when.tzname() or ""
    return f"{clock} {zone}".rstrip()


def format_number(value: int | float, lang: str) -> str:
    """A number with the locale's digit grouping: "60,000", "60.000", "60 000"."""
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=babel_locale(lang)))


def format_percent(value: float, lang: str) -> str:
    """A share as the locale writes it: 0.05 is "5%" (or "5 %", "%5")."""
    from babel.numbers import format_percent as _format_percent

    return str(_format_percent(value, locale=babel_locale(lang)))


#: How a list of days is joined where CLDR's "A, B and C" is not what people write:
#: Korean joins dates with a middle dot ("10월 10일(일)·11일(월)").
_LIST_JOINERS: dict[Language, str] = {"ko": "·"}


def format_list(items: list[str], lang: str) -> str:
    """Items joined as the language joins a list: "A, B and C", "A、B和C"."""
    lang_ = language(lang)
    joiner = _LIST_JOINERS.get(lang_)
    if joiner is not None:
        return joiner.join(items)
    from babel.lists import format_list as _format_list

    return str(_format_list(items, locale=babel_locale(lang_)))
