"""Alembic migrations for the store's schema, shipped inside the package."""

from __future__ import annotations
