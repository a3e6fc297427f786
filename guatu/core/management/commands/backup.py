"""`guatu backup [--output FILE]`: a backup of the whole database, taken while the server runs."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from guatu.core import backup


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


class Command(BaseCommand):
    help = (
        "备份整个数据库（服务运行中也可备份）：SQLite 用在线备份接口，PostgreSQL 用 pg_dump 自定义格式；"
        "用 guatu restore 恢复"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", "-o", help="备份文件路径（默认 var/backups/guatu-日期时间.sqlite3 或 .dump）"
        )
        parser.add_argument("--database", default="default", help="数据库别名（默认 default）")

    def handle(self, *args, output: str | None, database: str, **options):
        try:
            suffix = backup.default_suffix(database)
            path = (
                Path(output)
                if output
                else Path(settings.VAR_DIR)
                / "backups"
                / f"guatu-{timezone.localtime():%Y%m%d-%H%M%S}{suffix}"
            )
            self.stdout.write(f"开始备份 {backup.VENDOR_NAMES[backup.vendor(database)]} 数据库到“{path}”…")
            outcome = backup.backup(path, alias=database, progress=self.stdout.write)
        except backup.BackupError as err:
            raise CommandError(str(err)) from err
        self.stdout.write(
            self.style.SUCCESS(
                f"备份完成：“{outcome.path}”，{human_size(outcome.size)}，{outcome.tables} 张表，"
                f"用时 {outcome.seconds:.1f} 秒"
            )
        )
