"""The async engine from a config URL, transactions, and schema migrations.

Plain URLs from the config (``sqlite:////var/lib/staywatch.db``,
``postgresql://staywatch@db/staywatch``) get their async drivers here. Every
failure to reach the database becomes a :class:`StoreError` that says what to
check, with any password in the URL masked.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    event,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from service.errors import StoreError

if TYPE_CHECKING:
    # alembic is imported only when a migration has to run: it costs ~0.1 s.
    from alembic.config import Config as AlembicConfig

MIGRATIONS: Final = Path(__file__).resolve().parent.parent / "migrations"
#: Execution option that makes a SQLite transaction take the write lock at BEGIN.
WRITE_OPTION: Final = "staywatch_write"
BUSY_TIMEOUT_MS: Final = 5000
PG_CONNECT_TIMEOUT_S: Final = 10
#: A transaction left open by a client that stopped (SIGSTOP, a frozen VM) is ended by
#: the server after this long, so its row locks do not keep the other instances from
#: the claims whose lease ran out. Every transaction of ours lasts milliseconds.
PG_IDLE_IN_TRANSACTION_MS: Final = 20_000
# Any fixed number: serialises concurrent `upgrade head` runs of several instances.
_MIGRATION_LOCK: Final = 0x5747_0001

_URL_HINT: Final = "write sqlite:////path/to/staywatch.db or postgresql://user@host/dbname"


def mask_url(url: str | URL) -> str:
    """The URL as the user wrote it (plain driver name), password replaced by ``***``."""
    if isinstance(url, URL):
        parsed = url
    else:
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            # Not even parseable: hide anything between "user:" and "@".
            return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)
    plain = parsed.set(drivername=parsed.get_backend_name())
    return plain.render_as_string(hide_password=True)


def async_url(url: str) -> URL:
    """The config URL with an async driver: sqlite+aiosqlite or postgresql+asyncpg."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StoreError(f"database URL '{mask_url(url)}' is not valid; {_URL_HINT}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    raise StoreError(
        f"database URL '{mask_url(parsed)}' uses {backend}, which staywatch does not support; "
        f"{_URL_HINT}"
    )


def create_engine_for(url: str) -> AsyncEngine:
    """An async engine for a config URL; SQLite gets WAL, a busy timeout and foreign keys."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        return _sqlite_engine(target)
    return create_async_engine(
        target,
        pool_pre_ping=True,
        connect_args={
            "timeout": PG_CONNECT_TIMEOUT_S,
            "server_settings": {
                "idle_in_transaction_session_timeout": str(PG_IDLE_IN_TRANSACTION_MS)
            },
        },
    )


def _sqlite_engine(target: URL) -> AsyncEngine:
    database = target.database or ":memory:"
    memory = database == ":memory:" or database.startswith("file::memory:")
    if not memory:
        folder = Path(database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if isinstance(exc, FileExistsError) or folder.is_file():
                reason = "it is a file, not a folder"
            raise StoreError(
                f"cannot open database {mask_url(target)}: cannot create folder {folder}: "
                f"{reason}; check the path and permissions"
            ) from None
    # One in-memory database only exists per connection, so keep that one connection.
    options: dict[str, Any] = {"poolclass": StaticPool} if memory else {}
    engine = create_async_engine(target, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over BEGIN from the driver so that writers can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            # WAL makes NORMAL durable against application crashes, and much faster.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A write transaction takes the lock up front: no SQLITE_BUSY on a late upgrade
        # from reader to writer, and the claim is atomic against other processes.
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def open_error(url: str | URL, exc: BaseException) -> StoreError:
    """A StoreError saying why the database at ``url`` cannot be used, and what to check."""
    parsed = url if isinstance(url, URL) else make_url(url)
    reason = _reason(exc, parsed)
    if parsed.get_backend_name() == "sqlite":
        return StoreError(
            f"cannot open database {mask_url(parsed)}: {reason}; check the path and permissions"
        )
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    lowered = reason.lower()
    if "does not exist" in lowered and "database" in lowered:
        hint = f"create it (createdb {parsed.database}) or fix the URL"
    elif "authentication" in lowered or "password" in lowered or "role" in lowered:
        hint = "check the user name and password (or pg_hba.conf)"
    elif "name or service not known" in lowered or "nodename nor servname" in lowered:
        hint = "check the host name"
    else:
        hint = "is it running?"
    return StoreError(f"cannot connect to PostgreSQL at {where}: {reason}; {hint}")


def _reason(exc: BaseException, url: URL) -> str:
    """The driver's own words, one line, without the password."""
    inner: BaseException = exc
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        inner = exc.orig
    if isinstance(inner, OSError) and inner.strerror:
        text_ = inner.strerror
    else:
        text_ = str(inner).strip() or type(inner).__name__
    text_ = text_.splitlines()[0] if text_ else type(inner).__name__
    text_ = re.sub(r"^\(.*?\)\s*", "", text_)  # "(sqlite3.OperationalError) ..." prefixes
    if url.password:
        text_ = text_.replace(str(url.password), "***")
    return text_


def usage_error(url: str | URL, exc: BaseException) -> StoreError:
    """A StoreError for a database that was open but failed in use."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return StoreError(f"database {mask_url(parsed)} failed: {_reason(exc, parsed)}")


class Database:
    """An engine plus the transaction discipline the store relies on.

    Writes on SQLite go one at a time (an asyncio lock in this process, BEGIN
    IMMEDIATE against other processes); PostgreSQL writers run concurrently and
    the queries themselves lock rows.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.url = engine.url
        self.dialect = engine.dialect.name
        self._write_lock = asyncio.Lock()
        #: Write transactions this process committed (what a cached read can be checked by).
        self.commits = 0

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a (read) transaction, rolled back at the end."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except (DBAPIError, OSError) as exc:
            raise usage_error(self.url, exc) from exc

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction, committed when the block succeeds."""
        lock: AbstractAsyncContextManager[object] = (
            self._write_lock if self.dialect == "sqlite" else nullcontext()
        )
        async with lock:
            try:
                async with self.engine.connect() as conn:
                    await conn.execution_options(**{WRITE_OPTION: True})
                    async with conn.begin():
                        yield conn
            except (DBAPIError, OSError) as exc:
                raise usage_error(self.url, exc) from exc
            finally:
                # Counted even when the outcome is unknown: a cache checked by it re-reads.
                self.commits += 1


async def check_connection(engine: AsyncEngine) -> None:
    """Connect once; raise a StoreError that says what to check when that fails."""
    url = engine.url
    database = url.database or ""
    try:
        if url.get_backend_name() == "sqlite" and database and ":memory:" not in database:
            # aiosqlite leaves its worker thread behind when a connect fails, so a bad
            # path is found with the standard library first.
            await asyncio.to_thread(_probe_sqlite, database)
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (DBAPIError, OSError, TimeoutError, sqlite3.Error) as exc:
        raise open_error(engine.url, exc) from None


def _probe_sqlite(path: str) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA schema_version").fetchone()
    finally:
        connection.close()


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """An alembic config for the shipped migrations, without any ini file."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


@cache
def head_revisions() -> frozenset[str]:
    """The revisions the shipped migrations end at."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


_REVISION = re.compile(r'^revision(?::[^=]*)?=\s*["\']([^"\']+)["\']', re.MULTILINE)
_DOWN = re.compile(r'^down_revision(?::[^=]*)?=\s*["\']([^"\']+)["\']', re.MULTILINE)


@cache
def shipped_heads() -> frozenset[str]:
    """:func:`head_revisions` read off the migration files, without importing alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(source))
        parents.update(_DOWN.findall(source))
    return frozenset(revisions - parents)


def _stamped(connection: Connection) -> frozenset[str] | None:
    """The revisions the database says it is at, or None when it has no alembic table."""
    try:
        rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DBAPIError:
        return None
    return frozenset(str(row[0]) for row in rows)


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
    if not _has_tables(connection):
        create_newest(connection)
        return
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def _has_tables(connection: Connection) -> bool:
    if connection.dialect.name == "postgresql":
        found = connection.exec_driver_sql(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() LIMIT 1"
        )
    else:
        found = connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
        )
    return found.first() is not None


def create_newest(connection: Connection) -> None:
    """Create the newest schema in an empty database, stamped as migrated to the head.

    What every migration from the first would build, made in one step from the
    models: a first start does not load alembic (about 0.3 s) nor copy tables
    for SQLite's batch alterations. A test keeps both schemas the same.
    """
    from service.store.models import metadata

    metadata.create_all(connection)
    # Alembic's own version table, as alembic makes it: later upgrades go on from here.
    version = Table(
        "alembic_version",
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
    )
    version.create(connection)
    connection.execute(version.insert(), [{"version_num": h} for h in sorted(shipped_heads())])


def _current(connection: Connection) -> frozenset[str]:
    from alembic.runtime.migration import MigrationContext

    return frozenset(MigrationContext.configure(connection).get_current_heads())


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (alembic ``upgrade head``).

    A database already at the shipped head is left alone without loading alembic
    (every CLI command and daemon start opens the store).
    """
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(_stamped)
        if current is not None and current == shipped_heads():
            return
    except (DBAPIError, OSError) as exc:
        raise open_error(engine.url, exc) from exc
    try:
        async with engine.connect() as conn:
            await conn.execution_options(**{WRITE_OPTION: True})
            await conn.run_sync(_upgrade)
            await conn.commit()
    except (DBAPIError, OSError) as exc:
        raise open_error(engine.url, exc) from exc
    except Exception as exc:
        # Imported here: a new database is created without loading alembic at all.
        from alembic.util import CommandError

        if not isinstance(exc, CommandError):
            raise
        raise StoreError(
            f"cannot migrate database {mask_url(engine.url)}: {exc}; it was probably written "
            "by a newer staywatch, so upgrade staywatch"
        ) from None


async def schema_is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the newest shipped revision."""
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(_current)
    except (DBAPIError, OSError) as exc:
        raise open_error(engine.url, exc) from exc
    return current == head_revisions()
