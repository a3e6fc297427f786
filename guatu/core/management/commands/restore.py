"""`guatu restore FILE [--yes]`: replace the whole database by a backup made with `guatu backup`."""

import sys
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from guatu.core import backup
from guatu.core.management.commands.backup import human_size


class Command(BaseCommand):
    help = "用 guatu backup 生成的备份替换整个数据库（现有数据全部丢失）；恢复后校验变更记录链"

    def add_arguments(self, parser):
        parser.add_argument("file", help="备份文件（guatu backup 生成）")
        parser.add_argument(
            "--yes", "--noinput", "--no-input", action="store_true", dest="yes", help="不再询问，直接覆盖"
        )
        parser.add_argument("--database", default="default", help="数据库别名（默认 default）")

    def handle(self, *args, file: str, yes: bool, database: str, **options):
        path = Path(file)
        try:
            backup.check_backup(path, database)  # before asking: a wrong file is refused at once
        except backup.BackupError as err:
            raise CommandError(str(err)) from err
        name = connections[database].settings_dict["NAME"]
        if not yes:
            question = f"将用备份“{path}”覆盖数据库“{name}”，现有数据将全部丢失。确定请输入 yes："
            if not sys.stdin.isatty():
                raise CommandError(f"{question}\n没有终端可以确认：请加 --yes 再运行，数据库未改变")
            if input(question).strip().lower() != "yes":
                raise CommandError("已取消，数据库未改变")
        self.stdout.write(f"开始从“{path}”（{human_size(path.stat().st_size)}）恢复数据库“{name}”…")
        try:
            outcome = backup.restore(path, alias=database, progress=self.stdout.write)
        except backup.BackupError as err:
            raise CommandError(str(err)) from err
        self.stdout.write(
            self.style.SUCCESS(f"恢复完成：{outcome.tables} 张表，用时 {outcome.seconds:.1f} 秒")
        )
        # The restored change log must still be a whole chain.
        call_command("audit_verify", stdout=self.stdout, stderr=self.stderr)
        self.stdout.write("如备份早于当前版本，请再运行 guatu migrate")
