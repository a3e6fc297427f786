"""`guatu bench [--projects N] [--repeat R] --json`: one JSON object with every figure (see guatu/core/bench.py)."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from guatu.core.bench import IMPORT_ROWS, SPEECH_CHARS, run_bench


class Command(BaseCommand):
    help = (
        "基准测试：建立（或复用）N 个批量生成项目，测量仪表盘汇总（视图与直接计算）、带两个筛选条件的项目列表"
        "首页与第 1000 页、接口列表、1 万行 Excel 导入（写入后回滚）与导出、排名、通报、20 万字讲话抽取，"
        "各取 R 次的中位数；--json 时标准输出只有一个 JSON 对象，进度写到标准错误"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--projects", type=int, default=10_000, help="批量生成项目数，不足则追加（默认 10000）"
        )
        parser.add_argument("--repeat", type=int, default=5, help="每项测量的次数，取中位数（默认 5）")
        parser.add_argument("--seed", type=int, default=1, help="追加生成时的随机种子（默认 1）")
        parser.add_argument(
            "--import-rows", type=int, default=IMPORT_ROWS, help="导入测试的行数（默认 10000）"
        )
        parser.add_argument(
            "--import-repeat",
            type=int,
            default=1,
            help="导入测量的次数（默认 1：每次导入都要逐行经过服务层，耗时长）",
        )
        parser.add_argument(
            "--speech-chars", type=int, default=SPEECH_CHARS, help="抽取测试的字数（默认 200000）"
        )
        parser.add_argument("--no-bulletin", action="store_true", help="不测通报")
        parser.add_argument("--today", help="按哪一天计算，格式 YYYY-MM-DD（默认今天）")
        parser.add_argument("--json", action="store_true", help="只输出 JSON")

    def handle(self, *args, **options):
        for name in ("projects", "repeat", "import_rows", "speech_chars"):
            if options[name] < (0 if name == "projects" else 1):
                raise CommandError(
                    _("--%(name)s 的值 %(value)s 不对，应为正整数")
                    % {"name": name.replace("_", "-"), "value": options[name]}
                )
        if options["import_repeat"] < 1:
            raise CommandError(
                _("--import-repeat 的值 %(value)s 不对，应为正整数") % {"value": options["import_repeat"]}
            )
        today = None
        if options["today"]:
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError(
                    _("日期“%(value)s”格式不对，应为 YYYY-MM-DD，如 2026-03-31") % {"value": options["today"]}
                ) from None
        result = run_bench(
            projects=options["projects"],
            repeat=options["repeat"],
            seed=options["seed"],
            import_rows=options["import_rows"],
            import_repeat=options["import_repeat"],
            speech_chars=options["speech_chars"],
            bulletin=not options["no_bulletin"],
            today=today,
            progress=lambda line: self.stderr.write(line),
        )
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, default=str))
            return
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        if not result["numbers_match"]:
            self.stderr.write(self.style.ERROR(_("仪表盘汇总的视图数字与直接计算不一致，见 mismatches")))
