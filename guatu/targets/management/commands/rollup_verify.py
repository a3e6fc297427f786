import sys

from django.core.management.base import BaseCommand, CommandError

from guatu.targets import rollups


class Command(BaseCommand):
    help = (
        "从原始数据重新计算全部汇总（仪表盘、排名、目标所读），与库中汇总逐项比对："
        "一致时退出码 0，否则列出每处不同并退出码 1；--rebuild 先按原始数据重建"
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="先按原始数据重建全部汇总（批量导入后）")
        parser.add_argument("--limit", type=int, default=50, help="最多列出多少处不同（默认 50）")

    def handle(self, *args, **options):
        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\r{done}/{total} 个项目")
            if done == total:
                sys.stderr.write("\n")

        if options["rebuild"]:
            n = rollups.rebuild(progress=progress)
            self.stdout.write(f"已按原始数据重建 {n} 个项目的汇总")
        found = rollups.differences(progress=progress)
        if found:
            for line in found[: options["limit"]]:
                self.stderr.write(line)
            more = len(found) - options["limit"]
            tail = f"（另有 {more} 处未列出）" if more > 0 else ""
            raise CommandError(f"汇总与原始数据不符：共 {len(found)} 处{tail}", returncode=1)
        self.stdout.write(
            f"汇总与原始数据一致：{rollups.ProjectRollup.objects.count()} 个项目，"
            f"{rollups.Rollup.objects.exclude(value=0).count()} 行汇总"
        )
