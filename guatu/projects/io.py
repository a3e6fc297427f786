"""Excel import and export of the project registry.

Import upserts by 项目代码. Every row is parsed and checked first; then the rows are written
through the project services (scope via restrict(), model validation, one change record per row):
new projects together through projects_create_many, updated ones one by one, in one transaction
that is rolled back if any row fails. A dry run does the same writes and rolls them back, so it
finds exactly the errors a commit would meet.
"""

import logging
import os
from collections.abc import Iterable, Sequence
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.core import xlsx
from guatu.core.imports import Importer, ImportResult, Progress, register
from guatu.core.sheet_import import RowWriter, differs, in_sheet_language, write_each, write_sheet
from guatu.core.xlsx import Column, Row
from guatu.org.models import Chain, Region, Unit
from guatu.org.selectors import regions_held
from guatu.org.services import unit_get_or_create
from guatu.projects.codes import code_errors
from guatu.projects.models import BuildType, Project, ProjectKind, Stage
from guatu.projects.services import (
    RowsRefused,
    project_change_stage,
    project_create,
    project_update,
    projects_create_many,
)

logger = logging.getLogger(__name__)
# A file with fewer new projects than this is written row by row, exactly as the project form
# writes; from this many on, new projects are written together (see _RowWriter.write_rows).
BULK_FROM_ROWS = 50

SHEET_TITLE = "项目"
# The sheet is Chinese whatever language the user reads the site in.
# Fields written straight onto the project (enterprise and stage are resolved separately).
DATA_FIELDS = (
    "code", "name", "region", "chain", "kind", "build_type", "total_investment",
    "annual_planned_investment", "planned_start", "planned_completion", "lead_leader",
    "latitude", "longitude",
)  # fmt: skip


def _region_names() -> list[str]:
    return [r.name for r in Region.objects.order_by("code")]


def _chain_names() -> list[str]:
    return list(Chain.objects.values_list("name", flat=True))


def _stage_names() -> list[str]:
    return list(Stage.objects.order_by("order").values_list("name", flat=True))


def _labels(choices) -> list[str]:
    return [str(label) for _value, label in choices]


def columns(*, lookups: "_Lookups | None" = None) -> list[Column]:
    """The registry's sheet, in template order. With lookups, names parse to rows of the database."""
    lk = lookups
    investment = xlsx.number(places=2, negative_message=_("投资额不能为负数"))
    coordinate = xlsx.number(places=6, max_digits=9)
    return [
        Column(
            "项目代码", "code", required=True, parse=_code, width=28,
            help=_("格式 YYYY-RRRRRR-DD-TT-NNNNNN，如 2026-211302-44-01-000123；按此代码新增或更新"),
        ),
        Column("项目名称", "name", required=True, parse=xlsx.text(200), width=36, help=_("不超过 200 字")),
        Column(
            "项目单位", "enterprise", required=True, parse=xlsx.text(100), width=30,
            help=_("单位全称；系统中没有的单位将作为项目单位新建在所在地区"),
        ),
        Column(
            "所在地区", "region", required=True, parse=lk and lk.region, width=16,
            help=_("县(市)区名称、简称或行政区划代码"), choices=_region_names,
        ),
        Column(
            "产业链", "chain", parse=lk and lk.chain, width=14,
            help=_("从下拉列表选择"), choices=_chain_names,
        ),
        Column(
            "项目类型", "kind", required=True, parse=lk and lk.kind, width=12,
            help=_("产业、基础设施或民生"), choices=lambda: _labels(ProjectKind.choices),
        ),
        Column(
            "建设性质", "build_type", parse=lk and lk.build_type, width=10,
            help=_("新建或续建；新项目留空为新建"), choices=lambda: _labels(BuildType.choices),
        ),
        Column(
            "总投资(万元)", "total_investment", required=True, parse=investment, width=14,
            help=_("单位万元，不能为负数"), number_format="#,##0.00",
        ),
        Column(
            "年度计划投资(万元)", "annual_planned_investment", parse=investment, width=18,
            help=_("单位万元，不大于总投资"), number_format="#,##0.00",
        ),
        Column(
            "计划开工日期", "planned_start", parse=xlsx.date(), width=14,
            help=_("日期，如 2026-03-01、2026/3/1 或 2026年3月1日"), number_format="yyyy-mm-dd",
        ),
        Column(
            "计划竣工日期", "planned_completion", parse=xlsx.date(), width=14,
            help=_("不早于计划开工日期"), number_format="yyyy-mm-dd",
        ),
        Column(
            "阶段", "stage", parse=lk and lk.stage, width=10,
            help=_("新项目留空为谋划；已有项目的阶段不同时按阶段规则调整"), choices=_stage_names,
        ),
        Column("牵头领导", "lead_leader", parse=xlsx.text(50), width=12, help=_("不超过 50 字")),
        Column(
            "纬度", "latitude", parse=coordinate, width=12,
            help=_("如 41.5734；须与经度同时填写，且在本市范围内"), number_format="0.000000",
        ),
        Column(
            "经度", "longitude", parse=coordinate, width=12, help=_("如 120.4508"), number_format="0.000000",
        ),
    ]  # fmt: skip


NOTES = (
    "填写说明：",
    "1. 第一行是表头，按表头文字识别列，列的顺序可以调整；带 * 的列必填。",
    "2. 按项目代码新增或更新：系统中已有的代码更新该项目，没有的新建。同一文件中同一代码只能出现一次。",
    "3. 更新已有项目时，空白单元格表示保持原值。",
    "4. 上传后先校验并列出全部有错误的行；没有错误才能确认导入，导入要么全部成功，要么一行也不写入。",
    "5. 县(市)区用户只能导入本地区的项目。",
)


def _code(value: Any) -> str:
    code = xlsx.text()(value)
    if errors := code_errors(code):
        raise xlsx.CellError("；".join(errors))
    return code


class _Lookups:
    """Names as people write them → rows, loaded once per import."""

    def __init__(self) -> None:
        regions = list(Region.objects.all())
        region_map: dict[str, Region] = {}
        stripped: dict[str, list[Region]] = {}
        for r in regions:
            stripped.setdefault(r.name.rstrip("区县市"), []).append(r)
        # "双塔" for 双塔区, but only where it names one division ("朝阳" is both 市 and 县).
        region_map.update({name: rs[0] for name, rs in stripped.items() if len(rs) == 1 and name})
        for r in regions:
            region_map.update({r.name: r, r.code: r, **({r.short_name: r} if r.short_name else {})})
        self.region = xlsx.choice(region_map, what=_("地区"), shown=[r.name for r in regions])
        chains = {c.name: c for c in Chain.objects.all()}
        self.chain = xlsx.choice(chains, what=_("产业链"))
        kinds = {
            **{str(label): value for value, label in ProjectKind.choices},
            **{v: v for v in ProjectKind.values},
        }
        self.kind = xlsx.choice(kinds, what=_("项目类型"), shown=_labels(ProjectKind.choices))
        builds = {
            **{str(label): value for value, label in BuildType.choices},
            **{v: v for v in BuildType.values},
        }
        self.build_type = xlsx.choice(builds, what=_("建设性质"), shown=_labels(BuildType.choices))
        stages = list(Stage.objects.all())
        self.stage = xlsx.choice(
            {**{s.code: s for s in stages}, **{s.name: s for s in stages}},
            what=_("阶段"),
            shown=[s.name for s in stages],
        )


# --- import -----------------------------------------------------------------------------------


@in_sheet_language
def import_projects(
    *, actor, path: str | os.PathLike | IO[bytes], commit: bool, progress: Progress | None = None
) -> ImportResult:
    """Upsert projects from an .xlsx by 项目代码; nothing is written unless every row is good."""
    # Every row's code and coordinates are checked against the same regions, read once.
    with regions_held():
        return _import_projects(actor=actor, path=path, commit=commit, progress=progress)


def _import_projects(*, actor, path, commit: bool, progress: Progress | None) -> ImportResult:
    spec = columns(lookups=_Lookups())
    sheet = xlsx.read_sheet(path, spec, max_bytes=settings.IMPORT_MAX_BYTES)
    result = ImportResult(total=len(sheet.rows))
    report = progress or (lambda done, total: None)
    report(0, result.total)
    if sheet.errors:
        result.errors = sheet.all_errors()
        return result
    _check_rows(sheet.rows, spec)
    codes = [row.values["code"] for row in sheet.rows if "code" in row.values]
    existing = {
        p.code: p
        for p in Project.objects.filter(code__in=codes).select_related(
            "enterprise", "region", "chain", "stage"
        )
    }
    writer = _RowWriter(actor=actor, spec=spec, existing=existing)
    return write_sheet(sheet=sheet, writer=writer, result=result, commit=commit, report=report)


def _check_rows(rows: Sequence[Row], spec: Sequence[Column]) -> None:
    """Checks across cells and rows that no single cell's parser can make."""
    by_field = {c.field: c for c in spec}
    first_row: dict[str, int] = {}
    for row in rows:
        code = row.values.get("code")
        if code is not None:
            if code in first_row:
                row.error(
                    by_field["code"],
                    _("项目代码“%(code)s”与第%(row)s行重复，同一文件中每个项目只能出现一次")
                    % {"code": code, "row": first_row[code]},
                )
            else:
                first_row[code] = row.number
        start, end = row.values.get("planned_start"), row.values.get("planned_completion")
        if start and end and end < start:
            row.error(by_field["planned_completion"], _("计划竣工日期不能早于计划开工日期"))


class _RowWriter(RowWriter):
    model = Project
    key_field = "code"
    ALIASES = {"override_reason": "stage", "__all__": ""}

    def __init__(self, *, actor, spec: Sequence[Column], existing: dict[str, Project]):
        super().__init__(actor=actor, spec=spec, existing_ids=[p.pk for p in existing.values()])
        self.existing = existing

    def write_rows(
        self, rows: Sequence[Row], *, result: ImportResult, report: Progress, trial: bool
    ) -> list[str]:
        """New projects together through projects_create_many (most of a large import); rows that
        update a project one by one through the services, with their version and stage checks."""
        new = [row for row in rows if row.values["code"] not in self.existing]
        if len(new) < BULK_FROM_ROWS:
            return write_each(rows, self, result, report, trial=trial)
        updates = [row for row in rows if row.values["code"] in self.existing]
        with transaction.atomic():
            outcomes = self._create_many(new, result=result, trial=trial)
            if trial:
                transaction.set_rollback(True)  # the new units too
        report(len(new), result.total)
        return outcomes + write_each(updates, self, result, report, trial=trial, before=len(new))

    def _create_many(self, rows: Sequence[Row], *, result: ImportResult, trial: bool) -> list[str]:
        units, refused = self._enterprises(rows)
        for row in rows:
            row.errors.extend(refused.get(row.number, []))
        good = [row for row in rows if not row.errors]
        data = []
        for row in good:
            values = row.values
            item = {f: values[f] for f in DATA_FIELDS if f in values}
            item["enterprise"] = units[values["enterprise"]]
            if values.get("stage") is not None:
                item["stage"] = values["stage"]
            data.append(item)
        try:
            # A savepoint of its own: refused rows leave nothing behind, even in a trial.
            with transaction.atomic():
                projects_create_many(actor=self.actor, rows=data, check_only=trial)
        except RowsRefused as refusal:
            for index, err in refusal.errors.items():
                good[index].errors.extend(self.refusal_errors(good[index], err))
        except PermissionDenied as err:
            for row in good:
                row.errors.extend(self.refusal_errors(row, err))
        except DatabaseError:
            # Not a refusal the checks foresaw: write the rows one by one to find the row at fault.
            logger.warning("项目批量写入失败，改为逐行写入", exc_info=True)
            return write_each(good, self, result, lambda done, total: None, trial=trial)
        # As row by row: the rows that were (or, beside refused ones, would be) created.
        return ["created" for row in good if not row.errors]

    def _enterprises(self, rows: Sequence[Row]) -> tuple[dict[str, Unit], dict[int, list]]:
        """Each row's 项目单位 by name, as _enterprise finds or creates it, with one query for those that
        exist; returns {name: unit} and the errors of rows whose new unit is refused."""
        names = list(dict.fromkeys(row.values["enterprise"] for row in rows))
        units: dict[str, Unit] = {}
        for start in range(0, len(names), 500):
            # The first by the model's order, as Unit.objects.filter(name=...).first() picks it.
            for unit in Unit.objects.filter(name__in=names[start : start + 500]).order_by(
                "kind", "name", "pk"
            ):
                units.setdefault(unit.name, unit)
        refused: dict[int, list] = {}
        for row in rows:
            name = row.values["enterprise"]
            if name in units:
                continue
            try:
                units[name] = self._enterprise(name, row.values["region"])
            except ValidationError as err:
                refused[row.number] = self.refusal_errors(row, err)
        return units, refused

    def _write(self, row: Row) -> str:
        values = row.values
        project = self.existing.get(values["code"])
        data = {f: values[f] for f in DATA_FIELDS if f in values}
        stage: Stage | None = values.get("stage")
        if project is None:
            data["enterprise"] = self._enterprise(values["enterprise"], values["region"])
            project_create(actor=self.actor, data={**data, **({"stage": stage} if stage else {})})
            return "created"
        if project.pk not in self.changeable:
            raise Project.DoesNotExist(_("项目不存在或无权操作"))
        if values["enterprise"] != project.enterprise.name:
            data["enterprise"] = self._enterprise(values["enterprise"], values["region"])
        changes = {f: v for f, v in data.items() if differs(getattr(project, f), v)}
        moves = stage is not None and stage.pk != project.stage_id
        if changes:
            project_update(actor=self.actor, project_id=project.pk, version=project.version, data=changes)
        if moves:
            jump = abs(stage.order - project.stage.order) > 1
            project_change_stage(
                actor=self.actor,
                project_id=project.pk,
                to_stage=stage.code,
                note=_("Excel 导入"),
                # The project office may move several stages at once; the import is its reason.
                override_reason=_("Excel 批量导入调整阶段") if jump else "",
            )
        return "updated" if changes or moves else "unchanged"

    def _enterprise(self, name: str, region: Region) -> Unit:
        unit = Unit.objects.filter(name=name).first()
        if unit is not None:
            return unit
        try:
            unit, _created = unit_get_or_create(
                actor=self.actor, name=name, kind=Unit.Kind.ENTERPRISE, region=region
            )
        except ValidationError as err:
            raise ValidationError({"enterprise": err.messages}) from None
        return unit


# --- export -----------------------------------------------------------------------------------


def _export_row(project: Project) -> list[Any]:
    return [
        project.code,
        project.name,
        project.enterprise.name,
        project.region.name,
        project.chain.name if project.chain_id else None,
        project.get_kind_display(),
        project.get_build_type_display(),
        project.total_investment,
        project.annual_planned_investment,
        project.planned_start,
        project.planned_completion,
        project.stage.name,
        project.lead_leader or None,
        project.latitude,
        project.longitude,
    ]


@in_sheet_language
def export_projects(queryset: QuerySet[Project], output: str | os.PathLike | IO[bytes]) -> int:
    """Write the given (already filtered and scoped) projects as an importable sheet; returns rows written."""
    rows: Iterable[list[Any]] = (
        _export_row(p)
        for p in queryset.select_related("enterprise", "region", "chain", "stage").iterator(chunk_size=1000)
    )
    return xlsx.write_sheet(output, title=SHEET_TITLE, columns=columns(), rows=rows, notes=NOTES)


@in_sheet_language
def projects_template(output: str | os.PathLike | IO[bytes]) -> None:
    xlsx.write_sheet(output, title=SHEET_TITLE, columns=columns(), rows=[], notes=NOTES)


register(
    Importer(
        kind="projects",
        label=gettext_lazy("项目"),
        model=Project,
        run=import_projects,
        template=projects_template,
        template_filename="项目导入模板.xlsx",
        list_url="projects:project_list",
    )
)
