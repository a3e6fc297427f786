"""Excel import of a month's reports: county staff enter their region's whole month from one sheet.

Every row is parsed and checked first, across rows too (a project twice for one month, 形象进度
falling below an earlier month's, in the system or in an earlier row of the file). Then every good
row is written through report_save (and report_submit when 报送 is 是) inside one transaction:
a dry run rolls it all back at the end, a commit rolls it back if any row failed. So the dry run
meets exactly the errors a commit would, and a commit writes all rows or none.
"""

# --- monthly reports

import datetime as dt
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.core import xlsx
from guatu.core.exceptions import Conflict
from guatu.core.imports import Importer, ImportResult, Progress, register
from guatu.core.permissions import restrict
from guatu.core.sheet_import import RowFailed, in_sheet_language
from guatu.core.xlsx import Column, Row, RowError
from guatu.progress.filters import parse_month
from guatu.progress.models import MonthlyReport
from guatu.progress.services import (
    EDITABLE,
    month_start,
    month_text,
    percent_floor_message,
    percent_text,
    report_save,
    report_submit,
)
from guatu.projects.models import Project

SHEET_TITLE = "月报"
YES, NO = "是", "否"


def _month(value: Any) -> dt.date:
    month = parse_month(value)
    if month is None and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            day = xlsx.date()(value)  # a date cell that lost its format shows as a serial number
        except xlsx.CellError:
            day = None
        month = day if day and day.day == 1 else None
    if month is None:
        raise xlsx.CellError(_("不是有效的月份，请填写如 2026-10 或 2026年10月"))
    current = month_start(timezone.localdate())
    if month > current:
        raise xlsx.CellError(
            _("月份（%(month)s）不能晚于本月（%(current)s）")
            % {"month": month_text(month), "current": month_text(current)}
        )
    return month


def _percent(value: Any) -> Decimal:
    percent = xlsx.number(places=2, max_digits=5, negative_message=_("形象进度须在 0 到 100 之间"))(
        value.rstrip("%％") if isinstance(value, str) else value
    )
    if percent > 100:
        raise xlsx.CellError(_("形象进度须在 0 到 100 之间"))
    return percent


def _count(value: Any) -> int:
    number = xlsx.number(places=2, max_digits=11, negative_message=_("在岗人数不能为负数"))(value)
    if number != number.to_integral_value():
        raise xlsx.CellError(_("在岗人数须为整数"))
    return int(number)


def columns() -> list[Column]:
    return [
        Column(
            "项目代码", "code", required=True, parse=xlsx.text(24), width=28,
            help=_("投资项目代码，如 2026-211302-44-01-000123；按代码找到项目"),
        ),
        Column("项目名称", "name", parse=xlsx.text(200), width=32, help=_("仅供核对，不导入")),
        Column(
            "月份", "month", required=True, parse=_month, width=10,
            help=_("如 2026-10 或 2026年10月；不能晚于本月"), number_format="@",
        ),
        Column(
            "本月完成投资(万元)", "investment_done", required=True,
            parse=xlsx.number(places=2, negative_message=_("本月完成投资不能为负数")), width=18,
            help=_("单位万元，不能为负数；累计完成投资由系统按月相加，不必填写"), number_format="#,##0.00",
        ),
        Column(
            "形象进度(%)", "percent_complete", required=True, parse=_percent, width=12,
            help=_("累计完成的百分比，0–100，不能低于上月"), number_format="0.00",
        ),
        Column("形象进度描述", "physical_progress", parse=xlsx.text(), width=40, help=_("如：主体结构完成至第12层")),
        Column("在岗人数", "jobs_on_site", parse=_count, width=10, help=_("整数，不能为负数")),
        Column(
            "报送", "submit", parse=xlsx.choice({YES: True, NO: False}, what=_("选项")), width=8,
            help=_("填“是”则导入后直接报送，留空或“否”保存为草稿"), choices=lambda: [YES, NO],
        ),
    ]  # fmt: skip


NOTES = (
    "填写说明：",
    "1. 第一行是表头，按表头文字识别列，列的顺序可以调整；带 * 的列必填。",
    "2. 每行是一个项目一个月的月报；同一文件中同一项目同一月份只能出现一次，可以填写多个月份。",
    "3. 累计完成投资由系统按月相加，不必填写；形象进度是累计的，不能低于该项目此前月份的形象进度。",
    "4. 已有的草稿或已退回的月报按本表更新；已报送或已审核的月报不能通过导入修改。",
    "5. 上传后先校验并列出全部有错误的行；没有错误才能确认导入，导入要么全部成功，要么一行也不写入。",
    "6. 县(市)区用户只能填报本地区项目的月报。",
)

DATA_FIELDS = ("investment_done", "percent_complete", "physical_progress", "jobs_on_site")


@in_sheet_language
def import_reports(
    *, actor, path: str | os.PathLike | IO[bytes], commit: bool, progress: Progress | None = None
) -> ImportResult:
    """Save (and optionally submit) a month's reports from an .xlsx; nothing is written unless every
    row is good."""
    spec = columns()
    sheet = xlsx.read_sheet(path, spec, max_bytes=settings.IMPORT_MAX_BYTES)
    result = ImportResult(total=len(sheet.rows))
    report = progress or (lambda done, total: None)
    report(0, result.total)
    if sheet.errors:
        result.errors = sheet.all_errors()
        return result
    by_field = {c.field: c for c in spec}
    projects = _check_projects(actor, sheet.rows, by_field)
    existing = _existing_reports(projects)
    _check_rows(sheet.rows, by_field, projects, existing)
    good = [row for row in sheet.rows if not row.errors]
    outcomes: list[str] = []
    with transaction.atomic():
        for done, row in enumerate(good, start=1):
            try:
                with transaction.atomic():  # a savepoint: a failed row leaves no trace
                    outcomes.append(_write(actor, row, projects, existing, by_field))
            except RowFailed as failed:
                row.errors.extend(failed.errors)
            report(done, result.total)
        result.errors = sheet.all_errors()
        if not commit or result.errors:
            transaction.set_rollback(True)  # a dry run, or all or nothing
    if not (commit and result.errors):
        for outcome in outcomes:
            setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def _check_projects(actor, rows: Sequence[Row], by_field) -> dict[str, Project]:
    """Each row's project by code; a row error for a code the system does not know, or a project
    outside the user's scope."""
    codes = {row.values["code"] for row in rows if "code" in row.values}
    known = {p.code: p for p in Project.objects.filter(code__in=codes).select_related("region")}
    allowed = Project.objects.filter(code__in=list(known))
    if actor is not None:
        allowed = restrict(
            allowed, actor, "change"
        )  # the MonthlyReport policy: add where one may change the project
    allowed_codes = set(allowed.values_list("code", flat=True))
    for row in rows:
        code = row.values.get("code")
        if code is None:
            continue
        if code not in known:
            row.error(by_field["code"], _("系统中没有项目代码“%(code)s”") % {"code": code})
        elif code not in allowed_codes:
            row.error(
                by_field["code"],
                _("项目“%(name)s”（%(region)s）不在您的管辖范围内，不能填报其月报")
                % {"name": known[code].name, "region": known[code].region},
            )
    return {code: project for code, project in known.items() if code in allowed_codes}


def _existing_reports(projects: dict[str, Project]) -> dict[int, dict[dt.date, MonthlyReport]]:
    found: dict[int, dict[dt.date, MonthlyReport]] = defaultdict(dict)
    reports = MonthlyReport.objects.filter(project__in=list(projects.values())).select_related("status")
    for report in reports:
        found[report.project_id][report.month] = report
    return found


def _check_rows(rows: Sequence[Row], by_field, projects, existing) -> None:
    """Checks across rows and against the system that no single cell's parser can make."""
    first_row: dict[tuple[str, dt.date], int] = {}
    mine: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        code, month = row.values.get("code"), row.values.get("month")
        if code is None or month is None or code not in projects:
            continue
        key = (code, month)
        if key in first_row:
            row.error(
                by_field["month"],
                _("项目“%(code)s”%(month)s的月报与第%(row)s行重复，同一项目同一月份只能出现一次")
                % {"code": code, "month": month_text(month), "row": first_row[key]},
            )
            continue
        first_row[key] = row.number
        project = projects[code]
        report = existing[project.pk].get(month)
        if report is not None and report.status.code not in EDITABLE:
            row.error(
                by_field["month"],
                _("%(month)s月报已是“%(status)s”，不能通过导入修改")
                % {"month": month_text(month), "status": report.status.name},
            )
            continue
        mine[project.pk].append(row)
    for project_id, project_rows in mine.items():
        _check_percents(project_rows, existing[project_id], by_field)


def _check_percents(rows: list[Row], existing: dict[dt.date, MonthlyReport], by_field) -> None:
    """形象进度 is cumulative: month by month, the file's rows and the system's reports together
    (a row replaces the system's figure for its month) must never go down."""
    timeline: dict[dt.date, tuple[Decimal, Row | None]] = {
        month: (report.percent_complete, None) for month, report in existing.items()
    }
    for row in rows:
        if "percent_complete" in row.values:
            timeline[row.values["month"]] = (row.values["percent_complete"], row)
    months = sorted(timeline)
    column = by_field["percent_complete"]
    for index, month in enumerate(months):
        percent, row = timeline[month]
        if row is None:
            continue
        earlier = months[index - 1] if index else None
        if earlier is not None and percent < timeline[earlier][0]:
            source = timeline[earlier][1]
            message = percent_floor_message(earlier, month, timeline[earlier][0])
            if source is not None:
                message += _("（见第%(row)s行）") % {"row": source.number}
            row.error(column, message)
            continue
        later = next((m for m in months[index + 1 :] if timeline[m][1] is None), None)
        if later is not None and percent > timeline[later][0]:
            row.error(
                column,
                _("形象进度不能高于%(month)s月报的 %(value)s%%（形象进度是累计的，不能倒退）")
                % {"month": month_text(later), "value": percent_text(timeline[later][0])},
            )


def _write(actor, row: Row, projects, existing, by_field) -> str:
    values = row.values
    project = projects[values["code"]]
    report = existing[project.pk].get(values["month"])
    data = {field: values[field] for field in DATA_FIELDS if field in values}
    data.setdefault("physical_progress", "")
    data.setdefault("jobs_on_site", 0)
    try:
        if report is not None and not _differs(report, data):
            outcome = "unchanged"
            saved = report
        else:
            saved = report_save(
                actor=actor,
                project_id=project.pk,
                month=values["month"],
                data=data,
                version=report.version if report else None,
            )
            outcome = "updated" if report else "created"
        if values.get("submit"):
            report_submit(actor=actor, report_id=saved.pk, version=saved.version)
            outcome = "created" if outcome == "created" else "updated"
    except ValidationError as err:
        raise RowFailed(_validation_errors(row, err, by_field)) from None
    except (PermissionDenied, Project.DoesNotExist, MonthlyReport.DoesNotExist) as err:
        raise RowFailed([_error(row, by_field["code"], str(err) or _("无权操作"))]) from None
    except Conflict as err:
        raise RowFailed([_error(row, by_field["month"], err.message)]) from None
    return outcome


def _differs(report: MonthlyReport, data: dict) -> bool:
    for field, value in data.items():
        current = getattr(report, field)
        if isinstance(current, Decimal) and isinstance(value, Decimal):
            if current.compare(value) != 0:
                return True
        elif current != value:
            return True
    return False


def _error(row: Row, column: Column | None, message: str) -> RowError:
    if column is None:
        return RowError(row.number, "", "", message)
    return RowError(row.number, column.header, xlsx.display(row.raw.get(column.field)), message)


def _validation_errors(row: Row, err: ValidationError, by_field) -> list[RowError]:
    if not hasattr(err, "error_dict"):
        return [_error(row, None, message) for message in err.messages]
    return [
        _error(row, by_field.get(field), message)
        for field, messages in err.message_dict.items()
        for message in messages
    ]


# --- templates --------------------------------------------------------------------------------


@in_sheet_language
def reports_template(output: str | os.PathLike | IO[bytes]) -> None:
    xlsx.write_sheet(output, title=SHEET_TITLE, columns=columns(), rows=[], notes=NOTES)


@in_sheet_language
def write_month_sheet(output, *, month: dt.date, rows: Iterable) -> int:
    """The month's sheet filled in with the projects that still owe their report (no report, a draft
    or a returned one) and what those reports say so far."""

    def values(row) -> list[Any]:
        report = row.report
        return [
            row.project.code,
            row.project.name,
            f"{month:%Y-%m}",
            report.investment_done if report else None,
            report.percent_complete if report else None,
            report.physical_progress if report else None,
            report.jobs_on_site if report else None,
            None,
        ]

    wanted = (values(row) for row in rows if row.report is None or row.report.status.code in EDITABLE)
    return xlsx.write_sheet(output, title=SHEET_TITLE, columns=columns(), rows=wanted, notes=NOTES)


register(
    Importer(
        kind="reports",
        label=gettext_lazy("月报"),
        model=MonthlyReport,
        run=import_reports,
        template=reports_template,
        template_filename="月报导入模板.xlsx",
        list_url="progress:report_list",
    )
)
