"""`guatu extract FILE [--json] [--year Y]`: the quantities and dated tasks of every speech in a file."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from guatu.speeches.extraction import extract_document
from guatu.speeches.text import SpeechInputError, read_file

KIND_LABELS = {"target": "目标", "fact": "实绩", "funding": "资金", "task": "任务"}
COMPARATOR_LABELS = {"=": "", ">=": "≥", "<=": "≤", "≈": "约", "range": ""}


def _format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return f"{value:,}"


def _value_text(item: dict) -> str:
    if item["kind"] == "task":
        return _("截止 %(deadline)s") % {"deadline": item.get("deadline") or "—"}
    value = _format_value(item["value"])
    if item["comparator"] == "range":
        value = f"{value}—{_format_value(item['value_max'])}"
    return f"{COMPARATOR_LABELS.get(item['comparator'], '')}{value} {item['unit'] or ''}".strip()


class Command(BaseCommand):
    help = "抽取讲话中的量化目标、实绩、资金安排和限时任务（见 EXTRACTION.md）"

    def add_arguments(self, parser):
        parser.add_argument("file", help="讲话文件：.txt（UTF-8 或 GBK）或 .docx")
        parser.add_argument("--json", action="store_true", help="按 EXTRACTION.md 输出 JSON")
        parser.add_argument("--year", type=int, help="讲话年份（文中无日期时用于推断“今年”“一季度”等期间）")

    def handle(self, *args, **options):
        year = options["year"]
        if year is not None and not 1949 <= year <= 2100:
            raise CommandError(_("年份“%(year)s”不合理，应在 1949—2100 之间") % {"year": year})
        path = options["file"]
        try:
            text = read_file(path)
        except SpeechInputError as err:
            raise CommandError(str(err)) from None
        except FileNotFoundError:
            raise CommandError(_("文件“%(path)s”不存在") % {"path": path}) from None
        except IsADirectoryError:
            raise CommandError(_("“%(path)s”是目录，不是文件") % {"path": path}) from None
        except OSError as err:
            raise CommandError(
                _("无法读取文件“%(path)s”：%(error)s") % {"path": path, "error": err.strerror or err}
            ) from None
        speeches = extract_document(text, year=year)
        if options["json"]:
            self.stdout.write(json.dumps({"speeches": speeches}, ensure_ascii=False, indent=2))
            return
        self._write_table(speeches)

    def _write_table(self, speeches: list[dict]) -> None:
        if not speeches:
            self.stdout.write(_("文件中没有找到讲话正文"))
            return
        for number, speech in enumerate(speeches, 1):
            title = speech["title"] or _("（无标题）")
            if speech["is_fragment"]:
                title += _("（片段）")
            who = " ".join(p for p in (speech["position"], speech["speaker"]) if p)
            self.stdout.write(
                _("讲话 %(n)s：%(title)s  %(who)s  %(date)s  %(chars)s 字，约 %(minutes)s 分钟")
                % {
                    "n": number,
                    "title": title,
                    "who": who,
                    "date": speech["date"] or "",
                    "chars": speech["chars"],
                    "minutes": speech["reading_minutes"],
                }
            )
            items = speech["items"]
            if not items:
                self.stdout.write("  " + _("（没有量化目标或限时任务）"))
                continue
            self.stdout.write(
                "  " + "\t".join([_("类型"), _("指标"), _("数值"), _("期间"), _("位置"), _("原文")])
            )
            for item in items:
                self.stdout.write(
                    "  "
                    + "\t".join(
                        [
                            KIND_LABELS[item["kind"]],
                            item["metric"] or "—",
                            _value_text(item),
                            item["period"] or "—",
                            f"{item['start']}-{item['end']}",
                            item["sentence"],
                        ]
                    )
                )
            counts = {k: sum(1 for i in items if i["kind"] == k) for k in KIND_LABELS}
            self.stdout.write(
                "  "
                + _("共 %(n)s 条：") % {"n": len(items)}
                + "，".join(f"{KIND_LABELS[k]} {v}" for k, v in counts.items() if v)
            )
