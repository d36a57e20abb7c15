"""The plan basis: a digest of everything a full re-plan depends on.

The plan is a pure function of the config, the day and staywatch's planning
code. The store keeps the basis of its last full re-plan, so that a daemon
restart with nothing changed skips re-planning, and ``upcoming`` can read the
stored rows instead of planning again.
"""

from __future__ import annotations

import hashlib
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.config import Config

#: Meta key of the digest of what the last full re-plan was made from.
PLAN_BASIS = "plan_basis"


@cache
def _code_digest() -> str:
    """What else decides the plan: staywatch's planning code and the holiday tables."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    for package in ("staywatch", "holidays"):
        try:
            digest.update(f"{package}={version(package)}\n".encode())
        except PackageNotFoundError:
            digest.update(f"{package}=?\n".encode())
    here = Path(__file__).resolve().parent
    for name in ("config.py", "rules.py", "keys.py", "plan.py", "store/reconcile.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def config_digest(config: Config) -> str:
    """A digest of the code and of everything in ``config`` a plan depends on."""
    semantic = config.model_dump(mode="python", warnings=False, exclude={"mail", "feed"})
    digest = hashlib.sha256(_code_digest().encode())
    digest.update(repr(semantic).encode())
    return digest.hexdigest()


def basis_for(digest: str, today: date) -> str:
    """The plan basis of a config with :func:`config_digest` ``digest`` on ``today``."""
    return hashlib.sha256(f"{digest} {today.isoformat()}".encode()).hexdigest()


def plan_basis(config: Config, today: date) -> str:
    """A digest of everything a full re-plan on ``today`` depends on.

    The plan is a pure function of the config and the day, so a restart with
    the same basis as the last full re-plan has nothing to write.
    """
    return basis_for(config_digest(config), today)
