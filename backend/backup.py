"""`viza backup`: a consistent copy of the database and of the stored files, safe while serving.

SQLite (the embedded default): SQLite's online backup API copies the database in one step inside
one read transaction, so the copy is the database as it was at one moment, with every
transaction in it either whole or absent. The database runs in WAL mode (backend/db.py), where a
reader does not block writers: `viza serve` goes on writing while the copy is made. The copy is
switched to an ordinary rollback journal (one self-contained file), checked with
``PRAGMA integrity_check`` and only then given its name.

PostgreSQL: ``pg_dump --format=custom`` (a snapshot in one transaction, restored with
``pg_restore``), checked by reading its table of contents back with ``pg_restore --list``.

The attachments (data_dir/files) are content-addressed and never changed or deleted, so they are
copied into ``files/`` next to the backup: a file already there is not copied again, and every
backup in that folder shares it. They are copied after the database: a file is written before the
transaction that records it commits, so every file the database copy names is already there.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from sqlalchemy.engine import URL, make_url

from backend.settings import Settings

# Where Debian's PostgreSQL packages keep the binaries of each major version (pg_dump is also on
# PATH through postgresql-client-common's wrapper when that package is installed).
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# Tables whose row counts the report shows, when they exist.
COUNTED_TABLES = ("payment_requests", "history_events", "attachments", "employees", "outbox")
# Tables whose sha256 column names a file in the store.
FILE_REFERENCES = (("attachments", "sha256"), ("document_templates", "sha256"))
SHA256_NAME = re.compile(r"^[0-9a-f]{64}$")
# libpq's URI parameters we pass on; asyncpg's own (prepared_statement_cache_size, …) mean nothing to pg_dump.
LIBPQ_PARAMETERS = {
    "host", "hostaddr", "port", "dbname", "user", "passfile", "connect_timeout", "client_encoding",
    "options", "application_name", "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl",
    "sslpassword", "gssencmode", "channel_binding", "target_session_attrs", "keepalives",
}


class BackupError(Exception):
    """A backup that did not happen or did not check out; the message says what to do."""


@dataclass
class FilesCopy:
    copied: int = 0
    already_there: int = 0
    bytes_copied: int = 0


def default_output(settings: Settings, suffix: str, now: datetime | None = None) -> Path:
    """``<data_dir>/backups/viza-YYYYmmdd-HHMMSS<suffix>``, the time in UTC."""
    now = now or datetime.now(UTC)
    return settings.data_dir / "backups" / f"viza-{now:%Y%m%d-%H%M%S}{suffix}"


def run_backup(settings: Settings, output: Path | None = None, *, files: bool = True,
               say: Callable[[str], None] = print) -> Path:
    """Back up the database of ``settings`` (and its files unless ``files`` is false); the path written."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        target = _backup_sqlite(url, output or default_output(settings, ".sqlite3"), say)
    elif url.get_backend_name() == "postgresql":
        target = _backup_postgresql(url, output or default_output(settings, ".dump"), say)
    else:  # settings accept only these two
        raise BackupError(f"cannot back up a {url.get_backend_name()} database")
    if files:
        copy = copy_files(settings.files_dir, target.parent / "files")
        say(f"Files: {copy.copied} copied ({_size(copy.bytes_copied)}), {copy.already_there} already there, "
            f"in {target.parent / 'files'}")
        if url.get_backend_name() == "sqlite":
            _check_references(target, settings.files_dir, target.parent / "files", say)
    else:
        say(f"Files: not copied (--no-files); back up {settings.files_dir} yourself.")
    return target


# --- SQLite -------------------------------------------------------------------------------------

def _backup_sqlite(url: URL, output: Path, say: Callable[[str], None]) -> Path:
    source_path = Path(url.database or "")
    if not url.database or url.database == ":memory:" or not source_path.is_file():
        raise BackupError(f"no SQLite database at {source_path or url.database!r}: nothing to back up "
                          "(check VIZA_DATA_DIR / VIZA_DATABASE_URL)")
    _refuse_existing(output)
    partial = _partial_path(output)
    try:
        source = sqlite3.connect(source_path, timeout=30)
        try:
            copy = sqlite3.connect(partial)
            try:
                # pages=-1: one step, one read transaction on the source, so one consistent moment.
                source.backup(copy)
                # The copy inherits WAL mode; make it one self-contained file.
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        finally:
            source.close()
        _fsync(partial)
        os.chmod(partial, 0o600)  # it holds everything, the session signing key too
        report = verify_sqlite(partial)
        _put_in_place(partial, output)
    except sqlite3.Error as error:
        raise BackupError(f"SQLite backup of {source_path} failed: {error}") from None
    finally:
        partial.unlink(missing_ok=True)
    say(f"Database: {source_path} copied to {output} ({_size(output.stat().st_size)})")
    say(f"Checked: integrity_check ok; schema revision {report.get('alembic_version', '—')}")
    counts = ", ".join(f"{table} {count}" for table, count in report.items() if table != "alembic_version")
    if counts:
        say(f"Rows: {counts}")
    return output


def verify_sqlite(path: Path) -> dict[str, int | str]:
    """Open a copy read-only, run ``PRAGMA integrity_check`` and count the main tables' rows."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise BackupError(f"the copy failed PRAGMA integrity_check: {shown}")
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        report: dict[str, int | str] = {}
        if "alembic_version" in tables:
            report["alembic_version"] = ", ".join(r[0] for r in connection.execute("SELECT version_num FROM alembic_version"))
        for table in COUNTED_TABLES:
            if table in tables:
                report[table] = connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        return report
    finally:
        connection.close()


def _check_references(database: Path, source_files: Path, copied_files: Path, say: Callable[[str], None]) -> None:
    """Every file the database copy names must be in the files copy."""
    connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        named: set[str] = set()
        for table, column in FILE_REFERENCES:
            if table in tables:
                named.update(row[0] for row in connection.execute(f'SELECT DISTINCT "{column}" FROM "{table}"') if row[0])
    finally:
        connection.close()
    missing = sorted(sha for sha in named if not _store_path(copied_files, sha).is_file())
    lost_at_source = [sha for sha in missing if not _store_path(source_files, sha).is_file()]
    not_copied = [sha for sha in missing if sha not in lost_at_source]
    if not_copied:
        raise BackupError(f"{len(not_copied)} files the database names were not copied, e.g. {not_copied[0]}")
    if lost_at_source:
        # Not this backup's fault, and failing every backup for it would leave none: say it loudly.
        say(f"WARNING: {len(lost_at_source)} files the database names are missing from {source_files} itself, "
            f"e.g. {lost_at_source[0]}")
    else:
        say(f"Checked: all {len(named)} files the database names are in the copy")


# --- PostgreSQL ---------------------------------------------------------------------------------

def libpq_url(url: URL) -> tuple[str, str | None]:
    """The libpq connection URI of a SQLAlchemy URL (no password in it), and the password apart."""
    host = url.host or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = quote(url.username, safe="") + "@" if url.username else ""
    netloc += host + (f":{url.port}" if url.port else "")
    query: list[tuple[str, str]] = []
    for key, value in url.query.items():
        values = value if isinstance(value, tuple) else (value,)
        if key == "ssl":  # asyncpg's name; libpq says sslmode
            key = "sslmode"
            values = tuple("require" if v.lower() in ("true", "1") else v for v in values)
        if key in LIBPQ_PARAMETERS:
            query.extend((key, v) for v in values)
    text = f"postgresql://{netloc}/{quote(url.database or '', safe='')}"
    if query:
        text += "?" + urlencode(query)
    return text, url.password


def find_pg_tool(name: str) -> str | None:
    """``name`` (pg_dump, pg_restore) on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = [Path(d) / name for d in glob.glob(PG_BIN_GLOB)]
    candidates = [c for c in candidates if c.is_file() and os.access(c, os.X_OK)]
    if not candidates:
        return None
    return str(max(candidates, key=lambda c: _version_key(c.parent.parent.name)))


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)) or (0,)


def pg_dump_command(pg_dump: str, url: URL, output: Path) -> list[str]:
    connection, _ = libpq_url(url)
    return [pg_dump, "--format=custom", "--no-password", f"--file={output}", f"--dbname={connection}"]


def shown_command(command: list[str], password: str | None) -> str:
    """The command as a person would type it, the password as ***."""
    text = shlex.join(command)
    return ("PGPASSWORD=*** " + text) if password else text


def _backup_postgresql(url: URL, output: Path, say: Callable[[str], None]) -> Path:
    _refuse_existing(output)
    password = url.password
    pg_dump = find_pg_tool("pg_dump")
    if pg_dump is None:
        command = shown_command(pg_dump_command("pg_dump", url, output), password)
        raise BackupError(
            f"pg_dump was not found (on PATH or in {PG_BIN_GLOB}). Install the PostgreSQL client "
            "(Debian: apt-get install postgresql-client; its major version must be at least the server's), "
            f"then run `viza backup` again, or run yourself (*** being the database password):\n  {command}")
    partial = _partial_path(output)
    command = pg_dump_command(pg_dump, url, partial)
    environment = {**os.environ}
    if password:
        environment["PGPASSWORD"] = password
    say(f"Running: {_mask(shown_command(pg_dump_command(pg_dump, url, output), password), password)}")
    try:
        result = subprocess.run(command, env=environment, capture_output=True, text=True)
        if result.returncode != 0:
            message = _mask(result.stderr.strip() or result.stdout.strip(), password)
            hint = ""
            if "version mismatch" in message:
                hint = ("\npg_dump must be at least the server's major version: install a newer "
                        "postgresql-client, or run the server's own pg_dump "
                        "(e.g. docker compose exec postgres pg_dump …).")
            raise BackupError(f"pg_dump failed (exit code {result.returncode}):\n{message}{hint}")
        _fsync(partial)
        os.chmod(partial, 0o600)
        entries = _check_dump(pg_dump, partial, password)
        _put_in_place(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    say(f"Database: {_mask(libpq_url(url)[0], password)} dumped to {output} ({_size(output.stat().st_size)})")
    say(f"Checked: pg_restore --list reads it ({entries} entries)")
    return output


def _check_dump(pg_dump: str, dump: Path, password: str | None) -> int:
    sibling = Path(pg_dump).with_name("pg_restore")
    pg_restore = str(sibling) if sibling.is_file() else find_pg_tool("pg_restore")
    if pg_restore is None:
        raise BackupError("pg_restore was not found, so the dump could not be checked")
    result = subprocess.run([pg_restore, "--list", str(dump)], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore --list cannot read the dump: {_mask(result.stderr.strip(), password)}")
    entries = [line for line in result.stdout.splitlines() if line.strip() and not line.startswith(";")]
    if not any(" TABLE " in line and "payment_requests" in line for line in entries):
        raise BackupError("the dump has no payment_requests table: is VIZA_DATABASE_URL Viza's database?")
    return len(entries)


def _mask(text: str, password: str | None) -> str:
    if password:
        text = text.replace(password, "***").replace(quote(password, safe=""), "***")
    return text


# --- Files --------------------------------------------------------------------------------------

def copy_files(source: Path, target: Path) -> FilesCopy:
    """Copy the content-addressed store incrementally: each file checked against its name (the hash)."""
    report = FilesCopy()
    if not source.is_dir():
        return report
    damaged: list[str] = []
    for path in sorted(source.rglob("*")):
        if not path.is_file() or not SHA256_NAME.match(path.name):
            continue  # a write in progress (tempfile) or something that is not ours
        destination = _store_path(target, path.name)
        size = path.stat().st_size
        if destination.is_file() and destination.stat().st_size == size:
            report.already_there += 1
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, temporary = tempfile.mkstemp(dir=destination.parent, prefix=".partial-")
        try:
            with path.open("rb") as reader, os.fdopen(fd, "wb") as writer:
                while chunk := reader.read(1 << 20):
                    digest.update(chunk)
                    writer.write(chunk)
            if digest.hexdigest() != path.name:
                damaged.append(str(path))
                continue
            os.replace(temporary, destination)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        report.copied += 1
        report.bytes_copied += size
    if damaged:
        raise BackupError(f"{len(damaged)} stored files do not match their hash (damaged), e.g. {damaged[0]}; "
                          "they were not copied")
    return report


def _store_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256  # as backend.services.attachments.FileStore


# --- Helpers ------------------------------------------------------------------------------------

def _refuse_existing(output: Path) -> None:
    if output.exists():
        raise BackupError(f"{output} already exists; a backup never overwrites one: choose another --output")
    output.parent.mkdir(parents=True, exist_ok=True)


def _partial_path(output: Path) -> Path:
    partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    return partial


def _put_in_place(partial: Path, output: Path) -> None:
    """Give the checked copy its name, never replacing a file that appeared there meanwhile."""
    try:
        os.link(partial, output)
    except FileExistsError:
        raise BackupError(f"{output} appeared while the backup ran; not overwriting it") from None
    except OSError:  # a file system without hard links
        if output.exists():
            raise BackupError(f"{output} appeared while the backup ran; not overwriting it") from None
        os.replace(partial, output)


def _fsync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"
