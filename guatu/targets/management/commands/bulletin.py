import datetime as dt
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from guatu.targets.bulletin import bulletin_content, bulletin_docx
from guatu.targets.periods import Period


class Command(BaseCommand):
    help = "按 GB/T 9704-2012 公文格式生成一期通报（Word）：目标完成与预测、考核排名、红灯项目、逾期问题"

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="期间：2026Q1、2026-03 或 2026")
        parser.add_argument("--output", required=True, help="写入的 .docx 文件")
        parser.add_argument(
            "--number", type=int, help="发文字号的序号，如 7 即〔2026〕7号（默认：季度或月份的序数）"
        )
        parser.add_argument("--date", help="成文日期，格式 YYYY-MM-DD（默认今天）；数字按这一天计算")

    def handle(self, *args, **options):
        try:
            period = Period.parse(options["period"])
        except ValidationError as err:
            raise CommandError("；".join(err.messages)) from None
        today = None
        if options["date"]:
            try:
                today = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"日期“{options['date']}”格式不对，应为 YYYY-MM-DD，如 2026-04-05"
                ) from None
        number = options["number"]
        if number is not None and number < 1:
            raise CommandError(f"发文字号的序号须为正整数（现为 {number}）")
        output = Path(options["output"])
        if output.suffix.lower() != ".docx":
            raise CommandError(f"输出文件“{output}”应以 .docx 结尾")
        if not output.parent.is_dir():
            raise CommandError(f"目录“{output.parent}”不存在")
        # The system reads the whole city (user=None): see guatu/targets/bulletin.py.
        content = bulletin_content(user=None, period=period, today=today, number=number)
        data = bulletin_docx(content)
        output.write_bytes(data)
        self.stdout.write(
            f"已写入 {output}（{len(data) // 1024} KB）：{content.title}，{content.document_number}，"
            f"目标 {len(content.targets)} 项，排名 {len(content.units)} 个单位，"
            f"红灯项目 {len(content.red)} 个，逾期问题 {len(content.problems)} 个"
            + (
                f"；附件：{'、'.join(content.annex_title(key) for key in content.annexes)}"
                if content.annexes
                else ""
            )
        )
