import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from guatu.progress.models import WarningLevel
from guatu.progress.services import warnings_recompute


class Command(BaseCommand):
    help = "重新计算全部项目的预警红黄绿灯（每日任务，如 cron：0 1 * * * guatu recompute_warnings）"

    def add_arguments(self, parser):
        parser.add_argument("--date", help="按哪一天计算，格式 YYYY-MM-DD（默认今天）")

    def handle(self, *args, **options):
        today = None
        if options["date"]:
            try:
                today = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"日期“{options['date']}”格式不对，应为 YYYY-MM-DD，如 2026-03-31"
                ) from None
        started = time.monotonic()
        counts = warnings_recompute(today=today)
        elapsed = time.monotonic() - started
        levels = WarningLevel.objects.order_by("-order")
        parts = [f"{level.name} {counts.get(level.code, 0)}" for level in levels]
        self.stdout.write(
            f"已计算 {sum(counts.values())} 个项目的预警：{'，'.join(parts)}；用时 {elapsed:.2f} 秒"
        )
