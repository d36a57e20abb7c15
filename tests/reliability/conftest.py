from __future__ import annotations

from tests.reliability.helpers import pg_db

__all__ = ["pg_db"]
