"""The built-in deadline kinds.

A leaf module, so that the CLI can offer them as choices without importing the
config validation machinery.
"""

from __future__ import annotations

KINDS = (
    "stay_expiry",
    "arc_registration",
    "arc_expiry",
    "address_report",
    "nhis_premium",
    "passport_expiry",
    "custom",
)
