from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from guatu.attraction.io import import_leads
from guatu.core import changelog


class Command(BaseCommand):
    help = "从 Excel（.xlsx）导入招商线索：按项目名称 + 投资方新增或更新；有任何错误则一行也不写入。"

    def add_arguments(self, parser):
        parser.add_argument("file", help="招商线索表 .xlsx（表头同导入模板）")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")

    def handle(self, *args, file: str, dry_run: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        # One request id for the whole import, so its change records read as one operation.
        token = changelog.current_request_id.set(changelog.new_request_id("import"))
        try:
            result = import_leads(actor=None, path=path, commit=not dry_run)
        finally:
            changelog.current_request_id.reset(token)
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(f"共 {len(result.errors)} 处错误，未写入任何数据", returncode=1)
        counts = f"新增 {result.created} 条，更新 {result.updated} 条，未变化 {result.unchanged} 条"
        if dry_run:
            self.stdout.write(f"校验通过（试运行，未写入）：将{counts}")
        else:
            self.stdout.write(self.style.SUCCESS(f"导入完成：{counts}"))
