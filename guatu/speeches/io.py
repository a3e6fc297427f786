"""Excel import of supervised tasks (a task list such as the 92 营商环境 tasks) and the exports of
the 任务分解表 as .xlsx and .docx.

Import: every row is parsed and checked first; then each row is written through the task
services (scope via restrict(), one change record per row touched), in one transaction rolled
back if any row fails. A dry run writes each row in its own transaction and rolls it back, so it
finds exactly the errors a commit would meet. Rows are matched to tasks by 类别 + 序号.
"""

import datetime as dt
import os
import re
from collections.abc import Sequence
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.core import xlsx
from guatu.core.imports import Importer, ImportResult, Progress, register
from guatu.core.sheet_import import RowWriter, differs, in_sheet_language, write_sheet
from guatu.core.xlsx import Column, Row
from guatu.org.models import Unit
from guatu.problems.services import OWNER_UNIT_KINDS
from guatu.speeches.models import SupervisedTask
from guatu.speeches.selectors import BreakdownRow
from guatu.speeches.services import task_create, task_update

SHEET_TITLE = "督办任务"
BREAKDOWN_TITLE = "任务分解表"
_UNIT_SEPARATORS = re.compile(r"[、,，;；/\s]+")


def _unit_names(kinds=None) -> list[str]:
    qs = (
        Unit.objects.exclude(kind=Unit.Kind.ENTERPRISE)
        if kinds is None
        else Unit.objects.filter(kind__in=kinds)
    )
    return list(qs.order_by("kind", "name").values_list("name", flat=True))


class _Lookups:
    """Unit names → rows, loaded once per import."""

    def __init__(self) -> None:
        units = {u.name: u for u in Unit.objects.exclude(kind=Unit.Kind.ENTERPRISE)}
        owners = {name: u for name, u in units.items() if u.kind in OWNER_UNIT_KINDS}
        self.owner = xlsx.choice(owners, what=_("牵头单位"))
        self.units = units

    def supporting(self, value: Any) -> list[Unit]:
        names = [n for n in _UNIT_SEPARATORS.split(xlsx.text()(value)) if n]
        unknown = [n for n in names if n not in self.units]
        if unknown:
            raise xlsx.CellError(
                _("未知单位：%(names)s（多个单位用“、”分隔，须与系统中的单位名称一致）")
                % {"names": "、".join(f"“{n}”" for n in unknown)}
            )
        seen: dict[int, Unit] = {}
        for name in names:
            seen.setdefault(self.units[name].pk, self.units[name])
        return list(seen.values())


def columns(*, lookups: _Lookups | None = None) -> list[Column]:
    lk = lookups
    return [
        Column("序号", "code", parse=xlsx.text(30), width=8,
               help=_("任务清单中的序号；与类别一起识别任务：已有同类别同序号的任务则更新")),
        Column("任务", "title", required=True, parse=xlsx.text(300), width=50, help=_("任务内容，300 字以内")),
        Column("牵头领导", "lead_leader", parse=xlsx.text(50), width=14, help=_("如：副市长刘志刚")),
        Column("牵头单位", "owner_unit", required=True, parse=lk and lk.owner, width=22,
               help=_("县(市)区政府、开发区或市直部门，名称须与系统一致"),
               choices=lambda: _unit_names(OWNER_UNIT_KINDS)),
        Column("责任单位", "supporting_units", parse=lk and lk.supporting, width=36,
               help=_("可填多个，用“、”分隔")),
        Column("完成时限", "deadline", required=True, parse=xlsx.date(), width=14,
               help=_("日期，如 2026-06-30"), number_format="yyyy-mm-dd"),
        Column("类别", "category", parse=xlsx.text(50), width=14, help=_("如 营商环境")),
    ]  # fmt: skip


NOTES = (
    "填写说明：",
    "1. 第一行是表头，按表头文字识别列，列的顺序可以调整；带 * 的列必填。",
    "2. 按“类别 + 序号”新增或更新：系统中已有同类别同序号的任务则更新，没有的新建。同一文件中同类别同序号只能出现一次。",
    "3. 责任单位可填多个，用“、”分隔；单位名称须与系统中的一致。",
    "4. 上传后先校验并列出全部有错误的行；没有错误才能确认导入，导入要么全部成功，要么一行也不写入。",
)


def _key(values: dict) -> tuple[str, str] | None:
    code = (values.get("code") or "").strip()
    return ((values.get("category") or "").strip(), code) if code else None


@in_sheet_language
def import_tasks(
    *,
    actor,
    path: str | os.PathLike | IO[bytes],
    commit: bool,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> ImportResult:
    """Create or update supervised tasks from an .xlsx; nothing is written unless every row is good."""
    today = today or timezone.localdate()
    lookups = _Lookups()
    spec = columns(lookups=lookups)
    sheet = xlsx.read_sheet(path, spec, max_bytes=settings.IMPORT_MAX_BYTES)
    result = ImportResult(total=len(sheet.rows))
    report = progress or (lambda done, total: None)
    report(0, result.total)
    if sheet.errors:
        result.errors = sheet.all_errors()
        return result
    by_field = {c.field: c for c in spec}
    first: dict[tuple[str, str], int] = {}
    for row in sheet.rows:
        key = _key(row.values)
        if key is None:
            continue
        if key in first:
            row.error(
                by_field["code"],
                _("序号“%(code)s”（类别“%(category)s”）与第%(row)s行重复")
                % {"code": key[1], "category": key[0] or "—", "row": first[key]},
            )
        else:
            first[key] = row.number
    existing: dict[tuple[str, str], SupervisedTask] = {}
    if first:
        for task in SupervisedTask.objects.filter(code__in={k[1] for k in first}):
            existing.setdefault((task.category, task.code), task)
    writer = _RowWriter(actor=actor, spec=spec, existing=existing, today=today)
    return write_sheet(sheet=sheet, writer=writer, result=result, commit=commit, report=report)


class _RowWriter(RowWriter):
    model = SupervisedTask
    key_field = "code"
    ALIASES = {"region": "owner_unit", "__all__": ""}

    def __init__(self, *, actor, spec: Sequence[Column], existing: dict, today: dt.date):
        super().__init__(actor=actor, spec=spec, existing_ids=[t.pk for t in existing.values()])
        self.existing = existing
        self.today = today

    def _write(self, row: Row) -> str:
        values = row.values
        data = {
            f: values[f]
            for f in (
                "code",
                "title",
                "lead_leader",
                "owner_unit",
                "supporting_units",
                "deadline",
                "category",
            )
            if f in values
        }
        task = self.existing.get(_key(values))
        if task is None:
            task_create(actor=self.actor, data=data, today=self.today)
            return "created"
        if task.pk not in self.changeable:
            raise SupervisedTask.DoesNotExist(_("督办任务不存在或无权操作"))
        task.refresh_from_db()
        changed = {f: v for f, v in data.items() if f != "supporting_units" and differs(getattr(task, f), v)}
        if "supporting_units" in data and {u.pk for u in data["supporting_units"]} != set(
            task.supporting_units.values_list("pk", flat=True)
        ):
            changed["supporting_units"] = data["supporting_units"]
        if not changed:
            return "unchanged"
        if task.status.is_closed:
            raise ValidationError({"code": _("任务“%(task)s”已销号，不能通过导入修改") % {"task": task}})
        task_update(actor=self.actor, task_id=task.pk, version=task.version, data=changed, today=self.today)
        return "updated"


@in_sheet_language
def tasks_template(output: str | os.PathLike | IO[bytes]) -> None:
    xlsx.write_sheet(output, title=SHEET_TITLE, columns=columns(), rows=[], notes=NOTES)


register(
    Importer(
        kind="tasks",
        label=gettext_lazy("督办任务"),
        model=SupervisedTask,
        run=import_tasks,
        template=tasks_template,
        template_filename="督办任务导入模板.xlsx",
        list_url="speeches:task_list",
    )
)


# --- the 任务分解表 ------------------------------------------------------------------------------

BREAKDOWN_HEADERS = ("序号", "任务", "指标/目标值", "牵头领导", "牵头单位", "责任单位", "完成时限")


def _breakdown_columns() -> list[Column]:
    widths = (6, 50, 28, 12, 22, 36, 12)
    return [
        Column(header, f"c{i}", width=width, number_format="yyyy-mm-dd" if header == "完成时限" else None)
        for i, (header, width) in enumerate(zip(BREAKDOWN_HEADERS, widths, strict=True))
    ]


def _cells(row: BreakdownRow) -> list[Any]:
    return [row.number, row.task, row.measure or None, row.lead_leader or None, row.owner or None,
            row.supporting or None, row.deadline]  # fmt: skip


@in_sheet_language
def export_breakdown_xlsx(rows: Sequence[BreakdownRow], output: str | os.PathLike | IO[bytes]) -> int:
    """The table as a sheet (text that would run as a formula is neutralised by the writer)."""
    return xlsx.write_sheet(
        output, title=BREAKDOWN_TITLE, columns=_breakdown_columns(), rows=(_cells(r) for r in rows),
        validation_rows=0,
    )  # fmt: skip


@in_sheet_language
def export_breakdown_docx(
    rows: Sequence[BreakdownRow], output: str | os.PathLike | IO[bytes], *, title: str, source: str = ""
) -> None:
    """The 任务分解表 as a Word document: a title, the source speech, and the table."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document = Document()
    section = document.sections[0]
    # A wide table reads best on a landscape page.
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = section.page_height, section.page_width
    style = document.styles["Normal"]
    style.font.name = "仿宋_GB2312"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋_GB2312")
    style.font.size = Pt(12)
    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(title)
    run.bold = True
    run.font.size = Pt(22)
    if source:
        line = document.add_paragraph(_("来源：%(source)s") % {"source": source})
        line.alignment = WD_ALIGN_PARAGRAPH.CENTER
    table = document.add_table(rows=1, cols=len(BREAKDOWN_HEADERS))
    table.style = "Table Grid"
    for cell, header in zip(table.rows[0].cells, BREAKDOWN_HEADERS, strict=True):
        cell.text = header
        for paragraph in cell.paragraphs:
            for r in paragraph.runs:
                r.bold = True
    for row in rows:
        cells = table.add_row().cells
        values = _cells(row)
        for cell, value in zip(cells, values, strict=True):
            if value is None:
                text = ""
            elif isinstance(value, dt.date):
                text = value.isoformat()
            else:
                text = str(value)
            cell.text = text
    document.save(output)
