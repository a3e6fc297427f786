"""Excel import and export of 招商 leads, with the registry's rules (guatu/projects/io.py).

Import matches rows to leads by 项目名称 + 投资方. Every row is parsed and checked first; then each
row is written through the lead services (scope via restrict(), one change record per row touched),
in one transaction that is rolled back if any row fails. A dry run writes each row in its own
transaction and rolls it back, so it finds exactly the errors a commit would meet.
"""

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guatu.attraction.models import (
    ChainLink,
    Lead,
    LeadStage,
    LeadStageChange,
    LinkPosition,
    Relocation,
    ScreeningResult,
)
from guatu.attraction.services import (
    ATTRACTING_KINDS,
    FACT_FIELDS,
    SCREENING_FIELDS,
    STARTED,
    lead_advance,
    lead_create,
    lead_drop,
    lead_screen,
    lead_update,
)
from guatu.core import xlsx
from guatu.core.imports import Importer, ImportResult, Progress, register
from guatu.core.sheet_import import RowWriter, differs, in_sheet_language, write_sheet
from guatu.core.xlsx import Column, Row
from guatu.org.models import Chain, Region, Unit

SHEET_TITLE = "招商线索"
YES, NO = "是", "否"


def _labels(choices) -> list[str]:
    return [str(label) for _value, label in choices]


def _counties() -> QuerySet[Region]:
    return Region.objects.filter(level=Region.Level.COUNTY).order_by("code")


def _units() -> QuerySet[Unit]:
    return Unit.objects.filter(kind__in=ATTRACTING_KINDS).order_by("kind", "name")


def _link_names() -> list[str]:
    return sorted(set(ChainLink.objects.values_list("name", flat=True)))


def _stage_names() -> list[str]:
    return list(LeadStage.objects.order_by("order").values_list("name", flat=True))


def _positive(value: Any) -> Decimal:
    amount = xlsx.number(places=2, negative_message=_("意向投资不能为负数"))(value)
    if amount == 0:
        raise xlsx.CellError(_("意向投资须大于 0"))
    return amount


def _yes_no(value: Any) -> bool:
    text = xlsx.text()(value)
    if text in {YES, "Y", "y", "1", "TRUE", "True", "true"}:
        return True
    if text in {NO, "N", "n", "0", "FALSE", "False", "false"}:
        return False
    raise xlsx.CellError(_("请填写“是”或“否”"))


def columns(*, lookups: "_Lookups | None" = None) -> list[Column]:
    """The leads sheet, in template order. With lookups, names parse to rows of the database."""
    lk = lookups
    measure = xlsx.number(places=2, max_digits=12, negative_message=_("不能为负数"))
    return [
        Column("项目名称", "name", required=True, parse=xlsx.text(200), width=36,
               help=_("与投资方一起识别线索：系统中已有同名同投资方的线索则更新，没有则新建")),
        Column("投资方", "investor", required=True, parse=xlsx.text(200), width=30, help=_("投资企业全称")),
        Column("投资方所在地", "investor_region", required=True, parse=xlsx.text(50), width=14,
               help=_("如 北京市、天津市、河北省")),
        Column("产业链", "chain", required=True, parse=lk and lk.chain, width=14,
               help=_("从下拉列表选择"), choices=lambda: list(Chain.objects.values_list("name", flat=True))),
        Column("产业链环节", "link", parse=xlsx.text(50), width=16,
               help=_("须是所填产业链的环节；可留空"), choices=_link_names),
        Column("链上位置", "position", parse=lk and lk.position, width=10,
               help=_("上游、中游或下游；填了环节可留空"), choices=lambda: _labels(LinkPosition.choices)),
        Column("意向投资(万元)", "amount", required=True, parse=_positive, width=14,
               help=_("单位万元，须大于 0"), number_format="#,##0.00"),
        Column("招商单位", "attracting_unit", required=True, parse=lk and lk.unit, width=24,
               help=_("县(市)区政府、开发区或市直部门"), choices=lambda: [u.name for u in _units()]),
        Column("拟落地县(市)区", "region", required=True, parse=lk and lk.region, width=14,
               help=_("县(市)区名称、简称或行政区划代码"), choices=lambda: [r.name for r in _counties()]),
        Column("联系人", "contact_name", parse=xlsx.text(50), width=10),
        Column("联系电话", "contact_phone", parse=xlsx.text(30), width=14),
        Column("预计签约日期", "expected_signing", parse=xlsx.date(), width=14,
               help=_("日期，如 2026-03-01"), number_format="yyyy-mm-dd"),
        Column("阶段", "stage", parse=lk and lk.stage, width=10,
               help=_("新线索留空为线索；已有线索只能向后推进，进入开工须在页面上转为入库项目"),
               choices=_stage_names),
        Column("阶段日期", "stage_on", parse=xlsx.date(), width=14,
               help=_("进入该阶段的日期，不晚于今天；留空为今天"), number_format="yyyy-mm-dd"),
        Column("产业契合", "industry_fit", parse=lk and lk.industry_fit, width=10,
               help=_("待审、通过或未通过"), choices=lambda: _labels(ScreeningResult.choices)),
        Column("转移类型", "relocation", parse=lk and lk.relocation, width=12,
               help=_("非转移项目、溢出或挤出"), choices=lambda: _labels(Relocation.choices)),
        Column("两高项目", "is_two_high", parse=_yes_no, width=10, help=_("是或否"), choices=lambda: [YES, NO]),
        Column("六小项目", "is_six_small", parse=_yes_no, width=10, help=_("是或否"), choices=lambda: [YES, NO]),
        Column("用地(亩)", "land_mu", parse=measure, width=10, number_format="#,##0.00"),
        Column("年综合能耗(吨标准煤)", "energy_tce", parse=measure, width=18, number_format="#,##0.00"),
        Column("研判意见", "screening_note", parse=xlsx.text(), width=30),
        Column("放弃日期", "dropped_at", parse=xlsx.date(), width=14, number_format="yyyy-mm-dd",
               help=_("填写放弃原因时的放弃日期，留空为今天")),
        Column("放弃原因", "drop_reason", parse=xlsx.text(300), width=30,
               help=_("填写即放弃该线索（开工前）；已放弃的线索保持原样")),
    ]  # fmt: skip


NOTES = (
    "填写说明：",
    "1. 第一行是表头，按表头文字识别列，列的顺序可以调整；带 * 的列必填。",
    "2. 按“项目名称 + 投资方”新增或更新：系统中已有的更新该线索，没有的新建。同一文件中同名同投资方只能出现一次。",
    "3. 更新已有线索时，空白单元格表示保持原值。",
    "4. 上传后先校验并列出全部有错误的行；没有错误才能确认导入，导入要么全部成功，要么一行也不写入。",
    "5. 研判未通过（产业契合未通过或待审、挤出、两高、六小、用地或能耗超限）的线索不能进入正式签约及以后阶段。",
    "6. 县(市)区用户只能导入本地区或本地区单位招引的线索；市直部门不能导入。",
)


class _Lookups:
    """Names as people write them → rows, loaded once per import."""

    def __init__(self) -> None:
        counties = list(_counties())
        region_map: dict[str, Region] = {}
        stripped: dict[str, list[Region]] = {}
        for r in counties:
            stripped.setdefault(r.name.rstrip("区县市"), []).append(r)
        region_map.update({name: rs[0] for name, rs in stripped.items() if len(rs) == 1 and name})
        for r in counties:
            region_map.update({r.name: r, r.code: r, **({r.short_name: r} if r.short_name else {})})
        self.region = xlsx.choice(region_map, what=_("县(市)区"), shown=[r.name for r in counties])
        self.chain = xlsx.choice({c.name: c for c in Chain.objects.all()}, what=_("产业链"))
        units = list(_units())
        self.unit = xlsx.choice({u.name: u for u in units}, what=_("招商单位"))
        stages = list(LeadStage.objects.order_by("order"))
        self.stage = xlsx.choice(
            {**{s.code: s for s in stages}, **{s.name: s for s in stages}},
            what=_("阶段"),
            shown=[s.name for s in stages],
        )
        self.position = self._choices(LinkPosition, _("链上位置"))
        self.industry_fit = self._choices(ScreeningResult, _("产业契合"))
        self.relocation = self._choices(Relocation, _("转移类型"))
        self.links: dict[tuple[int, str], ChainLink] = {
            (link.chain_id, link.name): link for link in ChainLink.objects.select_related("chain")
        }

    @staticmethod
    def _choices(choices, what: str):
        options = {
            **{str(label): value for value, label in choices.choices},
            **{v: v for v in choices.values},
        }
        return xlsx.choice(options, what=what, shown=_labels(choices.choices))


# --- import -----------------------------------------------------------------------------------


@in_sheet_language
def import_leads(
    *,
    actor,
    path: str | os.PathLike | IO[bytes],
    commit: bool,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> ImportResult:
    """Upsert leads from an .xlsx by 项目名称 + 投资方; nothing is written unless every row is good."""
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
    _check_rows(sheet.rows, spec, lookups)
    existing = _existing(sheet.rows)
    writer = _RowWriter(actor=actor, spec=spec, existing=existing, today=today)
    return write_sheet(sheet=sheet, writer=writer, result=result, commit=commit, report=report)


def _key(values: dict) -> tuple[str, str] | None:
    if "name" in values and "investor" in values:
        return values["name"].strip(), values["investor"].strip()
    return None


def _check_rows(rows: Sequence[Row], spec: Sequence[Column], lookups: _Lookups) -> None:
    """Checks across cells and rows that no single cell's parser can make."""
    by_field = {c.field: c for c in spec}
    first_row: dict[tuple[str, str], int] = {}
    for row in rows:
        values = row.values
        key = _key(values)
        if key is not None:
            if key in first_row:
                row.error(
                    by_field["name"],
                    _("“%(name)s”（%(investor)s）与第%(row)s行重复，同一文件中每条线索只能出现一次")
                    % {"name": key[0], "investor": key[1], "row": first_row[key]},
                )
            else:
                first_row[key] = row.number
        name = values.pop("link", None)
        chain = values.get("chain")
        if name and chain is not None:
            link = lookups.links.get((chain.pk, name))
            if link is None:
                owners = sorted({str(lk.chain) for (_c, n), lk in lookups.links.items() if n == name})
                message = _("环节“%(link)s”不属于产业链“%(chain)s”") % {"link": name, "chain": chain}
                if owners:
                    message += _("（属于%(chains)s）") % {"chains": "、".join(f"“{o}”" for o in owners)}
                row.error(by_field["link"], message)
            else:
                values["link"] = link
        reason, dropped_at = values.get("drop_reason"), values.get("dropped_at")
        if dropped_at and not reason:
            row.error(by_field["drop_reason"], _("填写放弃日期须同时填写放弃原因"))


def _existing(rows: Sequence[Row]) -> dict[tuple[str, str], list[Lead]]:
    keys = {key for row in rows if (key := _key(row.values))}
    found: dict[tuple[str, str], list[Lead]] = {}
    if not keys:
        return found
    qs = Lead.objects.filter(name__in={k[0] for k in keys}).select_related(
        "stage", "chain", "link", "region", "attracting_unit"
    )
    for lead in qs:
        key = (lead.name, lead.investor)
        if key in keys:
            found.setdefault(key, []).append(lead)
    return found


class _RowWriter(RowWriter):
    model = Lead
    key_field = "name"
    ALIASES = {"on": "stage_on", "reason": "drop_reason", "__all__": ""}

    def __init__(self, *, actor, spec: Sequence[Column], existing: dict, today: dt.date):
        ids = [lead.pk for leads in existing.values() for lead in leads]
        super().__init__(actor=actor, spec=spec, existing_ids=ids)
        self.existing = existing
        self.today = today

    def _write(self, row: Row) -> str:
        values = row.values
        leads = self.existing.get(_key(values), [])
        if len(leads) > 1:
            raise ValidationError(
                {"name": _("系统中有 %(n)s 条同名同投资方的线索，无法确定更新哪一条") % {"n": len(leads)}}
            )
        data = {f: values[f] for f in (*FACT_FIELDS, *SCREENING_FIELDS) if f in values}
        stage: LeadStage | None = values.get("stage")
        on = values.get("stage_on") or self.today
        if not leads:
            if stage is not None:
                data["stage"] = stage
            lead = lead_create(actor=self.actor, data=data, on=on, today=self.today)
            if values.get("drop_reason"):
                self._drop(lead, values)
            return "created"
        lead = leads[0]
        if lead.pk not in self.changeable:
            raise Lead.DoesNotExist(_("线索不存在或无权操作"))
        facts = {f: v for f, v in data.items() if f in FACT_FIELDS and differs(getattr(lead, f), v)}
        screening = {f: v for f, v in data.items() if f in SCREENING_FIELDS and differs(getattr(lead, f), v)}
        changed = bool(facts or screening)
        if facts:
            lead = lead_update(actor=self.actor, lead_id=lead.pk, version=lead.version, data=facts)
        if screening:
            lead = lead_screen(actor=self.actor, lead_id=lead.pk, version=lead.version, data=screening)
        if stage is not None and stage.pk != lead.stage_id:
            lead = self._advance(lead, stage, on)
            changed = True
        if values.get("drop_reason") and lead.dropped_at is None:
            self._drop(lead, values)
            changed = True
        return "updated" if changed else "unchanged"

    def _advance(self, lead: Lead, stage: LeadStage, on: dt.date) -> Lead:
        if stage.order < lead.stage.order:
            raise ValidationError(
                {"stage": _("阶段不能后退：线索当前为“%(current)s”，不能改为“%(stage)s”")
                 % {"current": lead.stage, "stage": stage}}
            )  # fmt: skip
        # Several stages at once are entered one by one, on the same day, each with its rules.
        for step in LeadStage.objects.filter(order__gt=lead.stage.order, order__lte=stage.order):
            if step.code == STARTED and lead.project_id is None:
                raise ValidationError(
                    {"stage": _("进入“开工”须在线索页面上转为入库项目（填写投资项目代码），不能通过导入完成")}
                )
            lead = lead_advance(
                actor=self.actor, lead_id=lead.pk, version=lead.version, to_stage=step.code, on=on,
                note=_("Excel 导入"), today=self.today,
            )  # fmt: skip
        return lead

    def _drop(self, lead: Lead, values: dict) -> Lead:
        return lead_drop(
            actor=self.actor, lead_id=lead.pk, version=lead.version, reason=values["drop_reason"],
            on=values.get("dropped_at") or self.today, today=self.today,
        )  # fmt: skip


# --- export -----------------------------------------------------------------------------------


def _yes_no_cell(value: bool) -> str:
    return YES if value else NO


def _export_row(lead: Lead) -> list[Any]:
    return [
        lead.name,
        lead.investor,
        lead.investor_region,
        lead.chain.name,
        lead.link.name if lead.link_id else None,
        lead.get_position_display() if lead.position else None,
        lead.amount,
        lead.attracting_unit.name,
        lead.region.name,
        lead.contact_name or None,
        lead.contact_phone or None,
        lead.expected_signing,
        lead.stage.name,
        lead.stage_on,
        lead.get_industry_fit_display(),
        lead.get_relocation_display(),
        _yes_no_cell(lead.is_two_high),
        _yes_no_cell(lead.is_six_small),
        lead.land_mu,
        lead.energy_tce,
        lead.screening_note or None,
        lead.dropped_at,
        lead.drop_reason or None,
    ]


@in_sheet_language
def export_leads(queryset: QuerySet[Lead], output: str | os.PathLike | IO[bytes]) -> int:
    """Write the given (already filtered and scoped) leads as an importable sheet; returns rows written."""
    entered = (
        LeadStageChange.objects.filter(lead=OuterRef("pk"), to_stage=OuterRef("stage"))
        .order_by("-on", "-id")
        .values("on")[:1]
    )
    qs = queryset.select_related("chain", "link", "stage", "region", "attracting_unit").annotate(
        stage_on=Subquery(entered)
    )
    rows: Iterable[list[Any]] = (_export_row(lead) for lead in qs.iterator(chunk_size=1000))
    return xlsx.write_sheet(output, title=SHEET_TITLE, columns=columns(), rows=rows, notes=NOTES)


@in_sheet_language
def leads_template(output: str | os.PathLike | IO[bytes]) -> None:
    xlsx.write_sheet(output, title=SHEET_TITLE, columns=columns(), rows=[], notes=NOTES)


register(
    Importer(
        kind="leads",
        label=gettext_lazy("招商线索"),
        model=Lead,
        run=import_leads,
        template=leads_template,
        template_filename="招商线索导入模板.xlsx",
        list_url="attraction:lead_list",
    )
)
