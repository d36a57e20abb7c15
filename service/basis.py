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
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from service.config import Config

#: Meta key of the digest of what the last full re-plan was made from.
PLAN_BASIS = "plan_basis"


@cache
def _code_digest() -> str:
    """What else decides the plan: staywatch's planning code and the holiday tables."""
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


def plan_basis(config: Config, today: date) -> str:
    """A digest of everything a full re-plan on ``today`` depends on.

    The plan is a pure function of the config and the day, so a restart with
    the same basis as the last full re-plan has nothing to write.
    """
    semantic = config.model_dump(mode="python", warnings=False, exclude={"mail", "feed"})
    digest = hashlib.sha256(_code_digest().encode())
    digest.update(today.isoformat().encode())
    digest.update(repr(semantic).encode())
    return digest.hexdigest()
