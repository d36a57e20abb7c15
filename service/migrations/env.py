"""Alembic environment: run the migrations on the connection staywatch hands over.

``service.store.db.migrate`` passes its open connection in
``config.attributes["connection"]``. Without one (the ``alembic`` command with an
ini file naming ``sqlalchemy.url``) an async engine is made from that URL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from service.store.db import create_engine_for
from service.store.models import metadata


def run_on(connection: Connection) -> None:
    """Run the pending migrations in one transaction on ``connection``."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    """Open the database at ``url``, migrate it and close it."""
    engine = create_engine_for(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(run_on)
            await conn.commit()
    finally:
        await engine.dispose()


def main() -> None:
    """Pick the mode alembic runs in: handed connection, offline SQL, or a URL."""
    config = context.config
    connection = config.attributes.get("connection")
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url"),
            target_metadata=metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    elif connection is not None:
        run_on(connection)
    else:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise SystemExit("set sqlalchemy.url in the alembic ini file")
        asyncio.run(run_from_url(url))


main()
