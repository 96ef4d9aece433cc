"""`viza backup`: an online, consistent copy of the database and the stored files."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from backend import backup
from backend.cli import main
from backend.services.attachments import FileStore
from tests.cli import run

POSTGRES_URL = os.environ.get("VIZA_TEST_POSTGRES_URL")




def count(path: Path, sql: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchone()[0]
    finally:
        connection.close()


WRITER_ROWS = "SELECT count(*) FROM history_events WHERE comment LIKE 'writer-%'"
HISTORY_ROW = ("INSERT INTO history_events (request_id, at, action, actor_label, to_status, round, comment, details)"
               " VALUES (?, '2026-01-01 00:00:00.000000', 'comment', 'test writer', 'draft', 0, ?, '{}')")


class Writer(threading.Thread):
    """Commits two history rows per transaction, as fast as it can, until stopped."""

    def __init__(self, path: Path, request_id: int) -> None:
        super().__init__(daemon=True)
        self.path, self.request_id = path, request_id
        self.committed = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=30000")
            while not self.stop.is_set():
                connection.execute("BEGIN IMMEDIATE")
                for _ in range(2):
                    connection.execute(HISTORY_ROW, (self.request_id, f"writer-{self.committed}"))
                connection.execute("COMMIT")
                self.committed += 1
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            connection.close()


def test_backup_is_consistent_while_another_connection_writes(env):
    assert run("demo").exit_code == 0
    database = env / "viza.sqlite3"
    assert count(database, "PRAGMA journal_mode") == "wal"  # as `viza serve` leaves it
    requests = count(database, "SELECT count(*) FROM payment_requests")
    request_id = count(database, "SELECT min(id) FROM payment_requests")
    # A few megabytes of history, so that the copy takes a moment while the writer goes on.
    with sqlite3.connect(database) as connection:
        connection.executemany(HISTORY_ROW, [(request_id, "filler " + "x" * 500) for _ in range(20_000)])
    files = {FileStore(env / "files").put(f"file {n}".encode()) for n in range(5)}

    writer = Writer(database, request_id)
    writer.start()
    try:
        deadline = time.monotonic() + 10
        while writer.committed < 20 and writer.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        committed_before = writer.committed
        output = env.parent / "backups" / "copy.sqlite3"
        result = run("backup", "--output", str(output))
        committed_after = writer.committed
    finally:
        writer.stop.set()
        writer.join(10)
    assert writer.error is None, writer.error
    assert committed_before >= 20
    assert result.exit_code == 0, result.output
    assert "integrity_check ok" in result.output
    assert f"payment_requests {requests}" in result.output and "history_events" in result.output

    # One self-contained file (no -wal beside it), intact, holding whole transactions only.
    assert not output.with_name(output.name + "-wal").exists()
    assert count(output, "PRAGMA journal_mode") == "delete"
    assert count(output, "PRAGMA integrity_check") == "ok"
    assert count(output, "SELECT count(*) FROM payment_requests") == requests
    copied = count(output, WRITER_ROWS)
    assert copied % 2 == 0, "a transaction was copied in half"
    assert committed_before <= copied // 2 <= committed_after + 1  # +1: a commit not yet counted
    with sqlite3.connect(output) as connection:
        halves = connection.execute("SELECT comment FROM history_events WHERE comment LIKE 'writer-%' "
                                    "GROUP BY comment HAVING count(*) != 2").fetchall()
    assert halves == []
    assert stat.S_IMODE(output.stat().st_mode) == 0o600

    # The files, next to the copy, content-addressed as in the store.
    for sha in files | {r[0] for r in sqlite3.connect(output).execute("SELECT sha256 FROM attachments")}:
        assert (output.parent / "files" / sha[:2] / sha[2:4] / sha).read_bytes() == FileStore(env / "files").read(sha)
    assert "files the database names are in the copy" in result.output


def test_refuses_to_overwrite_and_copies_only_new_files(env):
    assert run("demo").exit_code == 0
    first = run("backup")
    assert first.exit_code == 0, first.output
    [made] = (env / "backups").glob("viza-*.sqlite3")  # the default: <data dir>/backups, UTC time in the name
    before = made.read_bytes()

    again = CliRunner().invoke(main, ["backup", "--output", str(made)])
    assert again.exit_code != 0 and "already exists" in again.output
    assert made.read_bytes() == before
    assert not list(made.parent.glob(".*partial*"))

    FileStore(env / "files").put(b"a new invoice")
    second = run("backup", "-o", str(made.with_name("second.sqlite3")))
    assert second.exit_code == 0, second.output
    assert "Files: 1 copied" in second.output and "already there" in second.output


def test_no_files_option(env):
    assert run("demo").exit_code == 0
    result = run("backup", "-o", str(env.parent / "b" / "x.sqlite3"), "--no-files")
    assert result.exit_code == 0 and "not copied" in result.output
    assert not (env.parent / "b" / "files").exists()


def test_a_damaged_stored_file_fails_the_backup(env):
    assert run("migrate").exit_code == 0
    good = FileStore(env / "files").put(b"fine")
    wrong = "ab" * 32
    (env / "files" / "ab" / "ab").mkdir(parents=True)
    (env / "files" / "ab" / "ab" / wrong).write_bytes(b"not what the name says")
    result = CliRunner().invoke(main, ["backup", "-o", str(env.parent / "b" / "x.sqlite3")])
    assert result.exit_code != 0 and "damaged" in result.output and wrong in result.output
    files = env.parent / "b" / "files"
    assert (files / good[:2] / good[2:4] / good).exists() and not (files / "ab" / "ab" / wrong).exists()


def test_no_database_is_a_clear_error(env):
    result = CliRunner().invoke(main, ["backup"])
    assert result.exit_code != 0 and "no SQLite database" in result.output


# --- PostgreSQL ---------------------------------------------------------------------------------

def test_libpq_url_keeps_the_password_apart():
    url = make_url("postgresql+asyncpg://vi%40za:p%40ss%3Aword@db.local:5439/viza?ssl=require"
                   "&prepared_statement_cache_size=0&application_name=viza")
    text, password = backup.libpq_url(url)
    assert password == "p@ss:word" and "p%40ss" not in text and "word" not in text
    assert text == "postgresql://vi%40za@db.local:5439/viza?sslmode=require&application_name=viza"
    assert backup.libpq_url(make_url("postgresql+asyncpg://u@[::1]/d"))[0] == "postgresql://u@[::1]/d"


def test_finds_the_newest_pg_dump_off_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    for version in ("9.6", "15", "16"):
        tool = tmp_path / "postgresql" / version / "bin" / "pg_dump"
        tool.parent.mkdir(parents=True)
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    monkeypatch.setattr(backup, "PG_BIN_GLOB", str(tmp_path / "postgresql" / "*" / "bin"))
    assert backup.find_pg_tool("pg_dump") == str(tmp_path / "postgresql" / "16" / "bin" / "pg_dump")


def test_without_pg_dump_says_the_command_and_hides_the_password(env, tmp_path, monkeypatch):
    monkeypatch.setenv("VIZA_DATABASE_URL", "postgresql://viza:Sup3r-secret-pw@db.example:5432/viza")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(backup, "PG_BIN_GLOB", str(tmp_path / "nothing" / "*" / "bin"))
    result = CliRunner().invoke(main, ["backup", "-o", str(tmp_path / "x.dump")])
    assert result.exit_code != 0
    assert "pg_dump was not found" in result.output
    assert "PGPASSWORD=*** pg_dump --format=custom" in result.output
    assert "postgresql://viza@db.example:5432/viza" in result.output
    assert "Sup3r-secret-pw" not in result.output
    assert not (tmp_path / "x.dump").exists()


@pytest.mark.skipif(not POSTGRES_URL, reason="set VIZA_TEST_POSTGRES_URL for PostgreSQL")
def test_pg_dump_of_a_real_database(request, env, tmp_path, monkeypatch):
    pg_dump = backup.find_pg_tool("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    url = make_url(request.getfixturevalue("postgres_database"))
    # Loopback trust auth ignores the password; it is there to be kept out of every line printed.
    monkeypatch.setenv("VIZA_DATABASE_URL", url.set(password="Sup3r-secret-pw").render_as_string(hide_password=False))
    FileStore(env / "files").put(b"an invoice")
    output = tmp_path / "dumps" / "viza.dump"
    result = CliRunner().invoke(main, ["backup", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "Sup3r-secret-pw" not in result.output and "PGPASSWORD=***" in result.output
    assert "pg_restore --list reads it" in result.output and "Files: 1 copied" in result.output
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    listing = subprocess.run([str(Path(pg_dump).with_name("pg_restore")), "--list", str(output)],
                             capture_output=True, text=True, check=True).stdout
    assert "TABLE public payment_requests" in listing and "TABLE DATA public history_events" in listing

    again = CliRunner().invoke(main, ["backup", "--output", str(output)])
    assert again.exit_code != 0 and "already exists" in again.output
