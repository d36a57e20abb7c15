"""The message catalogs: complete, current, and true to their message ids.

``pybabel compile`` skips untranslated and fuzzy entries without failing, so
these checks are the gate: every catalog translates every message of the
template, nothing is fuzzy or left over, placeholders match, and the committed
template is what a fresh extraction gives (``make catalogs`` was run).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from service.i18n import BABEL_LOCALES, LOCALE_DIR, catalog_path, has_catalog
from service.kinds import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = LOCALE_DIR / "staywatch.pot"
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Every language with a catalog in the tree (English is the message ids themselves).
CATALOGS = sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/staywatch.po"))
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _key(message: Message) -> tuple[str | None, str]:
    ident = message.id[0] if isinstance(message.id, tuple) else message.id
    return message.context, str(ident)


def _entries(catalog: Catalog) -> dict[tuple[str | None, str], Message]:
    return {_key(m): m for m in catalog if m.id}


def _forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(form) for form in value]


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_korean_and_chinese_have_catalogs() -> None:
    assert {"ko", "zh"} <= set(CATALOGS)
    for lang in CATALOGS:
        assert lang in LANGUAGES, f"{lang} has a catalog but is not a language of the config"
        assert has_catalog(lang)


@pytest.mark.parametrize("lang", CATALOGS)
def test_every_message_is_translated_and_nothing_is_left_over(lang: str) -> None:
    template = _entries(_read(TEMPLATE))
    catalog = _read(catalog_path(lang))
    entries = _entries(catalog)
    missing = sorted(str(k) for k in template.keys() - entries.keys())
    stale = sorted(str(k) for k in entries.keys() - template.keys())
    assert not missing, f"{lang}: not in the catalog (run make catalogs): {missing}"
    assert not stale, f"{lang}: no longer in the template (run make catalogs): {stale}"
    assert not catalog.obsolete, f"{lang}: obsolete entries: {sorted(catalog.obsolete)}"
    for key, message in entries.items():
        assert "fuzzy" not in message.flags, f"{lang}: fuzzy, check and translate: {key}"
        forms = _forms(message.string)
        assert forms, f"{lang}: no translation: {key}"
        assert all(form.strip() for form in forms), f"{lang}: empty translation: {key}"
        if message.pluralizable:
            assert len(forms) == catalog.num_plurals, f"{lang}: plural forms of {key}"


@pytest.mark.parametrize("lang", CATALOGS)
def test_placeholders_match_the_message_id(lang: str) -> None:
    for key, message in _entries(_read(catalog_path(lang))).items():
        wanted = set().union(*(_placeholders(ident) for ident in _forms(message.id)))
        for form in _forms(message.string):
            assert _placeholders(form) == wanted, (
                f"{lang}: {key}: the translation has placeholders {sorted(_placeholders(form))}, "
                f"the message id {sorted(wanted)}; keep every %(name)s, add none"
            )
            ids = "".join(_forms(message.id))
            # A stray % would break formatting; literal signs are written %% where a
            # message takes values.
            assert form.count("%%") == ids.count("%%"), f"{lang}: {key}: %% differs"
            assert ("<" in form) == ("<" in ids), f"{lang}: {key}: HTML in a translation"


@pytest.mark.parametrize("lang", CATALOGS)
def test_web_addresses_and_phone_numbers_are_kept(lang: str) -> None:
    keep = re.compile(r"www\.[a-z.]+\.kr|\b\d{3,4}-\d{3,4}(?:-\d{4})?\b|\b1345\b|\b1350\b")
    for key, message in _entries(_read(catalog_path(lang))).items():
        ids = " ".join(_forms(message.id))
        for form in _forms(message.string):
            for literal in keep.findall(ids):
                assert literal in form, f"{lang}: {key}: {literal} is missing"


@pytest.mark.parametrize("lang", CATALOGS)
def test_plural_forms_come_from_cldr(lang: str) -> None:
    catalog = _read(catalog_path(lang))
    expected = Catalog(locale=BABEL_LOCALES[lang]).plural_forms
    assert catalog.plural_forms == expected
    assert str(catalog.locale).split("_")[0] == lang


def test_chinese_never_says_before_a_date_it_means_by() -> None:
    # "3月12日之前" reads as "by the 11th": the last day must be named as the last day.
    for key, message in _entries(_read(catalog_path("zh"))).items():
        for form in _forms(message.string):
            assert not re.search(r"%\(\w+\)s\s*(之前|以前|前)", form), f"zh: {key}: {form}"


#: Korean particles whose form depends on the last sound of the word before them.
_KO_PARTICLES = re.compile(r"%\((\w+)\)s(은|는|을|를|와|과|으로|로|이었|였|이|가)(?![가-힣])")
#: Placeholders whose value always ends the same way: a list of dates ("…11일(월)"),
#: so the particle for a final consonant is right.
_KO_ENDS_IN_DAY = {"days"}


def test_korean_particles_never_guess_the_end_of_a_placeholder() -> None:
    for key, message in _entries(_read(catalog_path("ko"))).items():
        for form in _forms(message.string):
            for name, _particle in _KO_PARTICLES.findall(form):
                assert name in _KO_ENDS_IN_DAY, f"ko: {key}: a particle after %({name})s"


def _extract(out: Path) -> None:
    # The same extraction as `make catalogs`.
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "NP_:1c,2",
            "--no-location",
            "--sort-output",
            "--project=staywatch",
            "--copyright-holder=staywatch contributors",
            "-o",
            str(out),
            str(ROOT / "service"),
        ]
    )


def _without_dates(text: str) -> str:
    return "\n".join(
        line
        for line in text.splitlines()
        if not line.startswith(('"POT-Creation-Date:', "# Copyright (C)", "# FIRST AUTHOR"))
    )


def test_the_template_is_a_fresh_extraction(tmp_path: Path) -> None:
    fresh = tmp_path / "staywatch.pot"
    _extract(fresh)
    assert _entries(_read(fresh)).keys() == _entries(_read(TEMPLATE)).keys(), (
        "service/locale/staywatch.pot is out of date: run make catalogs"
    )
    assert _without_dates(fresh.read_text("utf-8")) == _without_dates(
        TEMPLATE.read_text("utf-8")
    ), "service/locale/staywatch.pot is out of date: run make catalogs"


def test_the_template_holds_the_messages_of_the_templates() -> None:
    entries = _entries(_read(TEMPLATE))
    # One from Python, one from an email template, one from a page.
    assert ("stay_expiry", "Visa expires %(date)s") in entries
    assert (None, "What this is") in entries
    assert (None, "Nothing matches these filters.") in entries


def _readme_languages() -> dict[str, list[str]]:
    section = README.split("## Languages", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"`[a-z]{2}`", cells[0]):
            rows[cells[0].strip("`")] = cells
    return rows


def _review(lang: str) -> str:
    found = re.search(r"^# Native review: (yes|no)\b", _read_text(lang), re.M)
    assert found, f"{lang}: the header comment says no 'Native review: yes|no'"
    return found.group(1)


def _read_text(lang: str) -> str:
    return catalog_path(lang).read_text("utf-8")


def test_readme_lists_every_language_and_says_who_reviewed_it() -> None:
    rows = _readme_languages()
    assert set(rows) == set(LANGUAGES), "README 'Languages' needs one row per language"
    for lang in LANGUAGES:
        _code, _name, catalog, reviewed = rows[lang][:4]
        if lang == "en":
            continue
        if lang in CATALOGS:
            assert f"locale/{lang}/" in catalog, (lang, catalog)
            assert reviewed == _review(lang), (
                f"{lang}: README says '{reviewed}', the catalog header '{_review(lang)}'"
            )
        else:
            assert "English" in catalog, (lang, catalog)


@pytest.mark.parametrize("lang", CATALOGS)
def test_catalog_headers_name_the_language_and_do_not_claim_a_review(lang: str) -> None:
    catalog = _read(catalog_path(lang))
    assert catalog.language_team
    if _review(lang) == "no":
        assert "not yet reviewed" in catalog.language_team
    buffer = io.StringIO(_read_text(lang))
    assert "Language: " in buffer.read()
