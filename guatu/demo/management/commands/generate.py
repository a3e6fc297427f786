import datetime as dt
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.demo.scale import MARK, generate
from guatu.org.services import ReferenceDataMissing

ORDER = (
    "units", "projects", "project_departments", "stage_changes", "approvals", "milestones", "reports",
    "problems", "problem_steps", "leads", "lead_stage_changes", "warnings",
)  # fmt: skip


class Command(BaseCommand):
    help = (
        "批量生成规模测试数据：N 个项目及其月报、前期手续、节点、阶段变更、问题、招商线索和预警，"
        "在已有数据之上追加（--reset 先删除此前生成的数据）。数据为虚构的演示数据（is_demo），"
        f"项目和问题的说明以“{MARK}”结尾；同一 --seed 和 --today 生成相同的数据"
    )

    def add_arguments(self, parser):
        parser.add_argument("--projects", type=int, required=True, help="追加生成的项目数")
        parser.add_argument("--years", type=int, default=3, help="计划开工日期跨越的年数，截至今年（默认 3）")
        parser.add_argument("--seed", type=int, default=1, help="随机种子（默认 1）")
        parser.add_argument("--today", help="按哪一天生成，格式 YYYY-MM-DD（默认今天）")
        parser.add_argument("--reset", action="store_true", help="先删除此前批量生成的数据")

    def handle(self, *args, **options):
        if options["projects"] < 0:
            raise CommandError(_("--projects 应为非负整数，收到 %(value)s") % {"value": options["projects"]})
        if options["years"] < 1:
            raise CommandError(_("--years 应为正整数，收到 %(value)s") % {"value": options["years"]})
        today = timezone.localdate()
        if options["today"]:
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError(
                    _("日期“%(value)s”格式不对，应为 YYYY-MM-DD，如 2026-03-31") % {"value": options["today"]}
                ) from None
        self.stdout.write(
            f"生成 {options['projects']} 个项目（数据库 {connection.vendor}，种子 {options['seed']}，"
            f"{options['years']} 年，截至 {today}）"
        )
        started = time.monotonic()
        try:
            result = generate(
                projects=options["projects"],
                years=options["years"],
                seed=options["seed"],
                today=today,
                reset=options["reset"],
                progress=lambda line: self.stdout.write(line),
            )
        except (ReferenceDataMissing, ValidationError) as err:
            raise CommandError("; ".join(getattr(err, "messages", [str(err)]))) from err
        elapsed = time.monotonic() - started
        counts = result.counts
        rows = sum(counts.get(k, 0) for k in ORDER)
        self.stdout.write("完成。写入的行数：")
        for key in ORDER:
            self.stdout.write(f"  {key:<20}{counts.get(key, 0):>12,}")
        extra = sorted(k for k in counts if k not in ORDER)
        for key in extra:
            self.stdout.write(f"  {key:<20}{counts[key]:>12,}")
        phases = "，".join(f"{name} {seconds:.1f} 秒" for name, seconds in result.seconds.items())
        self.stdout.write(
            f"共 {rows:,} 行，用时 {elapsed:.1f} 秒（{rows / max(elapsed, 1e-6):,.0f} 行/秒；{phases}）"
        )
