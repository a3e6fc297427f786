"""Backup and restore of the whole database, for `guatu backup` and `guatu restore`.

SQLite: the online backup API (one consistent snapshot while the server goes on writing; in WAL mode
readers do not block writers). PostgreSQL: pg_dump in its custom format, restored by pg_restore with
--clean --if-exists in a single transaction, so a restore that fails half way leaves the database as
it was. Connection parameters come from settings.DATABASES; a password travels in PGPASSWORD, never on
the command line where `ps` would show it.
"""

import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.contrib.contenttypes.models import ContentType
from django.db import connections

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"  # pg_dump's custom format
VENDOR_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SUFFIXES = {"sqlite": ".sqlite3", "postgresql": ".dump"}

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in Chinese."""


@dataclass
class Outcome:
    path: Path
    vendor: str
    size: int  # bytes of the backup file
    seconds: float
    tables: int


def _quiet(message: str) -> None:
    pass


def vendor(alias: str = "default") -> str:
    name = connections[alias].vendor
    if name not in VENDOR_NAMES:
        raise BackupError(f"不支持备份 {name} 数据库，只支持 SQLite 与 PostgreSQL")
    return name


def default_suffix(alias: str = "default") -> str:
    return SUFFIXES[vendor(alias)]


def file_vendor(path: Path) -> str | None:
    """Which kind of backup the file looks like by its first bytes, or None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    return None


def _pg_args(alias: str) -> tuple[list[str], dict[str, str]]:
    """libpq connection arguments and environment for the alias's database."""
    settings_dict = connections[alias].settings_dict
    args = []
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if settings_dict.get(key):
            args += [flag, str(settings_dict[key])]
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    options = settings_dict.get("OPTIONS") or {}
    for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT")):
        if options.get(option):
            env[variable] = str(options[option])
    return args, env


# --- checks -----------------------------------------------------------------------------------


def check_backup(path: Path, alias: str = "default") -> str:
    """Raise BackupError unless `path` is a backup this database can be restored from; returns its vendor."""
    if not path.is_file():
        raise BackupError(f"找不到备份文件“{path}”")
    kind = file_vendor(path)
    if kind is None:
        raise BackupError(
            f"文件“{path}”不是 guatu 备份（既不是 SQLite 数据库，也不是 pg_dump 自定义格式），未做任何修改"
        )
    current = vendor(alias)
    if kind != current:
        raise BackupError(
            f"文件“{path}”是 {VENDOR_NAMES[kind]} 备份，当前数据库是 {VENDOR_NAMES[current]}，不能恢复；未做任何修改"
        )
    if kind == "sqlite":
        _check_sqlite_backup(path)
    else:
        _check_pg_backup(path)
    return kind


def _check_sqlite_backup(path: Path) -> None:
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = source.execute("PRAGMA quick_check").fetchone()[0]
            tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            source.close()
    except sqlite3.DatabaseError as err:
        raise BackupError(f"文件“{path}”不是可读的 SQLite 数据库（{err}），未做任何修改") from err
    if check != "ok":
        raise BackupError(f"备份文件“{path}”已损坏（SQLite 完整性检查：{check}），未做任何修改")
    if "django_migrations" not in tables:
        raise BackupError(
            f"文件“{path}”是 SQLite 数据库，但不是 guatu 备份（没有 django_migrations 表），未做任何修改"
        )


def _check_pg_backup(path: Path) -> None:
    listing = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"备份文件“{path}”无法读取：{listing.stderr.strip()}；未做任何修改")
    if not re.search(r"TABLE( DATA)? public django_migrations ", listing.stdout):
        raise BackupError(
            f"文件“{path}”是 pg_dump 文件，但不是 guatu 备份（没有 django_migrations 表），未做任何修改"
        )


# --- backup -----------------------------------------------------------------------------------


def backup(output: Path, *, alias: str = "default", progress: Progress = _quiet) -> Outcome:
    """Write a backup of the alias's database to `output` (first to output.part, renamed when complete,
    so an interrupted backup never looks like a whole one). The file is readable by its owner only:
    it holds password hashes."""
    kind = vendor(alias)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    part = output.with_name(output.name + ".part")
    part.unlink(missing_ok=True)
    started = time.monotonic()
    tables = len(connections[alias].introspection.table_names())
    try:
        if kind == "sqlite":
            _sqlite_backup(part, alias, progress)
        else:
            _pg_dump(part, alias, tables, progress)
        os.chmod(part, 0o600)
        os.replace(part, output)
    finally:
        part.unlink(missing_ok=True)
    return Outcome(output, kind, output.stat().st_size, time.monotonic() - started, tables)


def _sqlite_backup(part: Path, alias: str, progress: Progress) -> None:
    connection = connections[alias]
    connection.ensure_connection()
    target = sqlite3.connect(part)
    try:
        # All pages in one step: one consistent snapshot. Stepping a few pages at a time would restart
        # from the beginning whenever another connection writes, and might never end on a busy server.
        connection.connection.backup(
            target,
            progress=lambda status, remaining, total: progress(f"已复制 {total - remaining}/{total} 页"),
        )
        # A file that stands alone: no -wal beside it.
        target.execute("PRAGMA journal_mode=DELETE")
        check = target.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        target.close()
    if check != "ok":
        raise BackupError(f"备份文件“{part}”写入后完整性检查失败：{check}")


def _pg_dump(part: Path, alias: str, tables: int, progress: Progress) -> None:
    args, env = _pg_args(alias)
    name = connections[alias].settings_dict["NAME"]
    command = ["pg_dump", "--format=custom", "--verbose", "--file", str(part), *args, "--dbname", name]
    done = 0
    errors = []
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if "dumping contents of table" in line:
                done += 1
                if done % 10 == 0 or done == tables:
                    progress(f"已导出 {done}/{tables} 张表")
            elif "error" in line.lower():
                errors.append(line.strip())
    if process.returncode != 0:
        raise BackupError(f"pg_dump 失败（退出码 {process.returncode}）：{' '.join(errors) or '见上方输出'}")


# --- restore ----------------------------------------------------------------------------------


def restore(path: Path, *, alias: str = "default", progress: Progress = _quiet) -> Outcome:
    """Replace every table of the alias's database by the backup's. Checks the file first."""
    path = Path(path)
    kind = check_backup(path, alias)
    started = time.monotonic()
    connection = connections[alias]
    if connection.in_atomic_block:
        raise BackupError("不能在事务中恢复数据库")
    if kind == "sqlite":
        _sqlite_restore(path, alias, progress)
    else:
        # pg_restore drops and recreates the tables: our own idle connection must not hold a lock.
        connection.close()
        _pg_restore(path, alias, progress)
    # Rows cached by id (content types) may name other ids now.
    ContentType.objects.clear_cache()
    tables = len(connection.introspection.table_names())
    return Outcome(path, kind, path.stat().st_size, time.monotonic() - started, tables)


def _sqlite_restore(path: Path, alias: str, progress: Progress) -> None:
    connection = connections[alias]
    connection.ensure_connection()
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        # Page by page into the live database under its write lock: readers of other connections see
        # either the old database or the restored one.
        source.backup(
            connection.connection,
            progress=lambda status, remaining, total: progress(f"已恢复 {total - remaining}/{total} 页"),
        )
    finally:
        source.close()


def _pg_restore(path: Path, alias: str, progress: Progress) -> None:
    args, env = _pg_args(alias)
    name = connections[alias].settings_dict["NAME"]
    command = [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",  # all or nothing
        "--exit-on-error",
        "--verbose",
        *args,
        "--dbname",
        name,
        str(path),
    ]
    done = 0
    lines = []
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.strip())
            if "processing data for table" in line:
                done += 1
                if done % 10 == 0:
                    progress(f"已恢复 {done} 张表的数据")
    if process.returncode != 0:
        detail = " ".join(line for line in lines if "error" in line.lower())[-2000:]
        raise BackupError(f"pg_restore 失败（退出码 {process.returncode}），数据库未改变：{detail}")
