"""The built-in deadline kinds and the languages messages are written in.

A leaf module, so that the CLI can offer them as choices without importing the
config validation machinery, and the config and the texts share one list.
"""

from __future__ import annotations

from typing import Literal, get_args

Kind = Literal[
    "stay_expiry",
    "arc_registration",
    "arc_expiry",
    "address_report",
    "nhis_premium",
    "passport_expiry",
    "reentry",
    "registration_change",
    "newborn_status",
    "arc_at_17",
    "workplace_change",
    "nhis_enrolment",
    "custom",
]
KINDS: tuple[Kind, ...] = get_args(Kind)

#: The languages of about nine in ten registered foreigners in Korea: zh is
#: Simplified Chinese, uz Uzbek in Latin script, mn Mongolian in Cyrillic.
Language = Literal["en", "ko", "zh", "vi", "ne", "uz", "km", "th", "mn", "ru", "id"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
