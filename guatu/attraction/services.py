"""Writes to the attraction app (招商引资). Each is one transaction, checks scope through restrict(),
and writes one change record per row it touches."""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.attraction.models import (
    FundsInPlace,
    Lead,
    LeadStage,
    LeadStageChange,
    Relocation,
    ScreeningResult,
)
from guatu.core.changelog import record_change, snapshot
from guatu.core.exceptions import Conflict
from guatu.core.permissions import can, restrict
from guatu.org.models import Region, Unit

# --- leads

STALE_MESSAGE = _(
    "线索“%(name)s”已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试"
)
FACT_FIELDS = (
    "name", "investor", "investor_region", "chain", "link", "position", "amount", "attracting_unit", "region",
    "contact_name", "contact_phone", "expected_signing",
)  # fmt: skip
SCREENING_FIELDS = (
    "industry_fit", "relocation", "is_two_high", "is_six_small", "land_mu", "energy_tce", "screening_note",
)  # fmt: skip
ATTRACTING_KINDS = frozenset({Unit.Kind.DEPARTMENT, Unit.Kind.ZONE, Unit.Kind.COUNTY})
SIGNED = "signed"
STARTED = "started"
ACTION_LABELS = {"add": _("新建"), "change": _("修改")}


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


def _actor_user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def max_land_mu() -> Decimal:
    return Decimal(str(getattr(settings, "GUATU_LEAD_MAX_LAND_MU", 1000)))


def max_energy_tce() -> Decimal:
    return Decimal(str(getattr(settings, "GUATU_LEAD_MAX_ENERGY_TCE", 50000)))


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def screening_failures(lead: Lead) -> list[str]:
    """Why the lead may not be signed, in plain words; empty when it may.

    A pending industry-fit judgement blocks signing as well: screening comes before signing, so a
    lead nobody has judged is not ready to sign (研判在前, 签约在后)."""
    reasons = []
    if lead.industry_fit == ScreeningResult.FAILED:
        reasons.append(_("产业契合未通过"))
    elif lead.industry_fit == ScreeningResult.PENDING:
        reasons.append(_("产业契合尚未研判"))
    if lead.relocation == Relocation.SQUEEZED:
        reasons.append(_("属于“挤出”项目"))
    if lead.is_two_high:
        reasons.append(_("两高项目"))
    if lead.is_six_small:
        reasons.append(_("六小项目"))
    if lead.land_mu is not None and lead.land_mu > max_land_mu():
        reasons.append(_("用地超过 %(limit)s 亩") % {"limit": _num(max_land_mu())})
    if lead.energy_tce is not None and lead.energy_tce > max_energy_tce():
        reasons.append(_("能耗超过 %(limit)s 吨标煤") % {"limit": _num(max_energy_tce())})
    return reasons


def signing_refusal(lead: Lead) -> str:
    reasons = screening_failures(lead)
    if not reasons:
        return ""
    return _("线索“%(name)s”研判未通过，不能签约：%(reasons)s") % {
        "name": lead.name,
        "reasons": "；".join(reasons),
    }


def _stage(code: str) -> LeadStage:
    if isinstance(code, LeadStage):
        return code
    try:
        return LeadStage.objects.get(code=code)
    except LeadStage.DoesNotExist:
        raise ValidationError({"stage": _("未知阶段：%(stage)s") % {"stage": code}}) from None


def _check_facts(lead: Lead) -> None:
    """Checks that hold for a lead however it is written (form, API, import, command)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if lead.attracting_unit_id and lead.attracting_unit.kind not in ATTRACTING_KINDS:
        add(
            "attracting_unit",
            _("招商单位“%(unit)s”是%(kind)s，须为县(市)区政府、开发区或市直部门")
            % {"unit": lead.attracting_unit, "kind": lead.attracting_unit.get_kind_display()},
        )
    if lead.region_id and (lead.region.level != Region.Level.COUNTY or lead.region.parent_id is None):
        add("region", _("拟落地地区“%(region)s”不是本市的县(市)区") % {"region": lead.region})
    if lead.link_id:
        if lead.chain_id and lead.link.chain_id != lead.chain_id:
            add(
                "link",
                _("环节“%(link)s”不属于产业链“%(chain)s”") % {"link": lead.link.name, "chain": lead.chain},
            )
        elif not lead.position:
            lead.position = lead.link.position
        elif lead.position != lead.link.position:
            add(
                "position",
                _("环节“%(link)s”位于%(link_pos)s，与链上位置“%(pos)s”不符")
                % {
                    "link": lead.link.name,
                    "link_pos": lead.link.get_position_display(),
                    "pos": lead.get_position_display(),
                },
            )
    if lead.amount is not None and lead.amount <= 0:
        add("amount", _("意向投资须大于 0（填写的是 %(amount)s）") % {"amount": lead.amount})
    for field in ("land_mu", "energy_tce"):
        value = getattr(lead, field)
        if value is not None and value < 0:
            add(field, _("%(field)s不能为负数") % {"field": Lead._meta.get_field(field).verbose_name})
    for field in ("name", "investor", "investor_region"):
        setattr(lead, field, (getattr(lead, field) or "").strip())
    if errors:
        raise ValidationError(errors)


def _apply(lead: Lead, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for field, value in data.items():
        if field not in allowed:
            raise ValidationError({field: _("不能修改的字段：%(field)s") % {"field": field}})
        setattr(lead, field, value)


def _ensure_in_scope(actor, lead: Lead, action: str) -> None:
    # Checked after the write, inside the transaction: a lead written outside the actor's scope
    # rolls the whole write back.
    if actor is None:
        return
    if not restrict(Lead.objects.filter(pk=lead.pk), actor, action).exists():
        raise PermissionDenied(
            _("无权%(action)s由“%(unit)s”招商、拟落地“%(region)s”的线索")
            % {"action": ACTION_LABELS[action], "unit": lead.attracting_unit, "region": lead.region}
        )


def _locked(actor, lead_id: int, action: str = "change") -> Lead:
    qs = Lead.objects.all() if actor is None else restrict(Lead.objects, actor, action)
    try:
        return (
            qs.select_for_update(of=("self",))
            .select_related("stage", "chain", "link", "region", "attracting_unit")
            .get(pk=lead_id)
        )
    except Lead.DoesNotExist:
        raise Lead.DoesNotExist(_("线索不存在或无权操作")) from None


def _check_version(lead: Lead, version: int | None) -> None:
    if version is not None and lead.version != version:
        raise Conflict(STALE_MESSAGE % {"name": lead.name, "current": lead.version, "yours": version})


def _check_date(on: dt.date, today: dt.date, label: str) -> None:
    if on > today:
        raise ValidationError(
            {
                "on": _("%(label)s（%(date)s）不能晚于今天（%(today)s）")
                % {"label": label, "date": on, "today": today}
            }
        )


def _check_not_dropped(lead: Lead) -> None:
    if lead.dropped_at:
        raise ValidationError(
            _("线索“%(name)s”已于 %(date)s 放弃，不能再办理") % {"name": lead.name, "date": lead.dropped_at}
        )


def stage_order(code: str) -> int:
    return _stage(code).order


def last_stage_date(lead: Lead) -> dt.date | None:
    return lead.stage_changes.order_by("-on", "-id").values_list("on", flat=True).first()


def stage_entered_on(lead: Lead, code: str) -> dt.date | None:
    return lead.stage_changes.filter(to_stage__code=code).order_by("on").values_list("on", flat=True).first()


def _save(actor, lead: Lead, before: dict | None) -> Lead:
    lead.updated_by = _actor_user(actor)
    if before is not None:
        lead.version += 1
    lead.full_clean(validate_unique=False, validate_constraints=False)
    lead.save()
    return lead


@transaction.atomic
def lead_create(*, actor, data: Mapping[str, Any], on: dt.date | None = None, today=None) -> Lead:
    """A new lead, at 线索 unless `data["stage"]` names another stage (an import of earlier work);
    `on` is the day it entered that stage (default today). Screening fields may be given too."""
    today = _today(today)
    if actor is not None and not can(actor, "add", Lead):
        raise PermissionDenied(_("无权新建招商线索"))
    data = dict(data)
    stage = _stage(data.pop("stage", None) or "clue")
    on = on or today
    _check_date(on, today, _("进入阶段日期"))
    lead = Lead(stage=stage)
    _apply(lead, data, FACT_FIELDS + SCREENING_FIELDS + ("is_demo",))
    _check_facts(lead)
    if stage.order >= _stage(SIGNED).order and (refusal := signing_refusal(lead)):
        raise ValidationError({"stage": refusal})
    lead.created_by = _actor_user(actor)
    _save(actor, lead, None)
    _ensure_in_scope(actor, lead, "add")
    record_change(actor=actor, obj=lead, action="create")
    change = LeadStageChange.objects.create(
        lead=lead, from_stage=None, to_stage=stage, on=on, actor=_actor_user(actor)
    )
    record_change(actor=actor, obj=change, action="create")
    return lead


@transaction.atomic
def lead_update(*, actor, lead_id: int, version: int, data: Mapping[str, Any]) -> Lead:
    """Change a lead's facts (not its stage or screening). Nothing changed writes nothing."""
    lead = _locked(actor, lead_id)
    _check_version(lead, version)
    before = snapshot(lead)
    _apply(lead, data, FACT_FIELDS)
    _check_facts(lead)
    if snapshot(lead) == before:
        return lead
    _save(actor, lead, before)
    _ensure_in_scope(actor, lead, "change")
    record_change(actor=actor, obj=lead, action="update", before=before)
    return lead


@transaction.atomic
def lead_screen(*, actor, lead_id: int, version: int, data: Mapping[str, Any]) -> Lead:
    """Record the screening (研判): industry fit, 溢出/挤出, 两高, 六小, land and energy needs."""
    lead = _locked(actor, lead_id)
    _check_version(lead, version)
    before = snapshot(lead)
    _apply(lead, data, SCREENING_FIELDS)
    _check_facts(lead)
    if snapshot(lead) == before:
        return lead
    _save(actor, lead, before)
    record_change(actor=actor, obj=lead, action="update", before=before)
    return lead


def next_stage(lead: Lead) -> LeadStage | None:
    return LeadStage.objects.filter(order__gt=lead.stage.order).order_by("order").first()


@transaction.atomic
def lead_advance(
    *, actor, lead_id: int, version: int | None, to_stage: str, on: dt.date, note: str = "", today=None
) -> Lead:
    """Move a lead one stage forward, entered on `on` (not in the future, not before the day it entered
    its current stage). Signing is refused while screening fails; 开工 is entered by lead_convert,
    which creates the registry project in the same step."""
    today = _today(today)
    lead = _locked(actor, lead_id)
    _check_version(lead, version)
    _check_not_dropped(lead)
    target = _stage(to_stage)
    current = lead.stage
    following = next_stage(lead)
    if following is None:
        raise ValidationError(
            {"stage": _("线索“%(name)s”已处于最后阶段“%(stage)s”") % {"name": lead.name, "stage": current}}
        )
    if target.pk != following.pk:
        raise ValidationError(
            {
                "stage": _(
                    "只能逐级推进：线索“%(name)s”当前为“%(current)s”，下一阶段是“%(next)s”，不能进入“%(target)s”"
                )
                % {"name": lead.name, "current": current, "next": following, "target": target}
            }
        )
    if target.code == STARTED and lead.project_id is None:
        raise ValidationError({"stage": _("进入“开工”须转为入库项目（填写投资项目代码），请使用“转为项目”")})
    _check_on(lead, on, today)
    if target.code == SIGNED and (refusal := signing_refusal(lead)):
        raise ValidationError({"stage": refusal})
    return _move(actor, lead, target, on, note)


def _check_on(lead: Lead, on: dt.date, today: dt.date) -> None:
    if on is None:
        raise ValidationError({"on": _("请填写日期")})
    _check_date(on, today, _("日期"))
    last = last_stage_date(lead)
    if last is not None and on < last:
        raise ValidationError(
            {
                "on": _("日期（%(on)s）不能早于进入“%(stage)s”的日期（%(last)s）")
                % {"on": on, "stage": lead.stage, "last": last}
            }
        )


def _move(actor, lead: Lead, target: LeadStage, on: dt.date, note: str, **changes) -> Lead:
    before = snapshot(lead)
    current = lead.stage
    lead.stage = target
    for field, value in changes.items():
        setattr(lead, field, value)
    _save(actor, lead, before)
    record_change(actor=actor, obj=lead, action="update", before=before)
    change = LeadStageChange.objects.create(
        lead=lead,
        from_stage=current,
        to_stage=target,
        on=on,
        actor=_actor_user(actor),
        note=(note or "").strip()[:300],
    )
    record_change(actor=actor, obj=change, action="create")
    return lead


@transaction.atomic
def lead_drop(
    *, actor, lead_id: int, version: int | None, reason: str, on: dt.date | None = None, today=None
) -> Lead:
    """Drop a lead (放弃) with a reason, at any stage before 开工. The stage it reached is kept, so
    signings that happened still count."""
    today = _today(today)
    lead = _locked(actor, lead_id)
    _check_version(lead, version)
    _check_not_dropped(lead)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("放弃线索“%(name)s”须填写原因") % {"name": lead.name}})
    if lead.stage.order >= _stage(STARTED).order:
        raise ValidationError(
            _("线索“%(name)s”已%(stage)s，不能放弃") % {"name": lead.name, "stage": lead.stage}
        )
    on = on or today
    _check_on(lead, on, today)
    before = snapshot(lead)
    lead.dropped_at = on
    lead.drop_reason = reason[:300]
    _save(actor, lead, before)
    record_change(actor=actor, obj=lead, action="update", before=before)
    return lead


@transaction.atomic
def funds_add(
    *, actor, lead_id: int, received_on: dt.date, amount, note: str = "", today=None
) -> FundsInPlace:
    """到位资金 against a lead that has signed: amount > 0, not in the future, not before signing."""
    today = _today(today)
    lead = _locked(actor, lead_id)
    if lead.stage.order < _stage(SIGNED).order:
        raise ValidationError(
            _("线索“%(name)s”尚未签约（当前“%(stage)s”），不能登记到位资金")
            % {"name": lead.name, "stage": lead.stage}
        )
    _check_not_dropped(lead)
    errors: dict[str, list[str]] = {}
    if amount is None or Decimal(str(amount)) <= 0:
        errors["amount"] = [_("到位资金须大于 0（填写的是 %(amount)s）") % {"amount": amount}]
    if received_on is None:
        errors["received_on"] = [_("请填写到位日期")]
    elif received_on > today:
        errors["received_on"] = [
            _("到位日期（%(date)s）不能晚于今天（%(today)s）") % {"date": received_on, "today": today}
        ]
    else:
        signed_on = stage_entered_on(lead, SIGNED)
        if signed_on and received_on < signed_on:
            errors["received_on"] = [
                _("到位日期（%(date)s）不能早于签约日期（%(signed)s）")
                % {"date": received_on, "signed": signed_on}
            ]
    if errors:
        raise ValidationError(errors)
    user = _actor_user(actor)
    funds = FundsInPlace(
        lead=lead,
        region=lead.region,
        received_on=received_on,
        amount=Decimal(str(amount)),
        note=(note or "").strip()[:200],
        created_by=user,
        updated_by=user,
    )
    funds.full_clean()
    funds.save()
    record_change(actor=actor, obj=funds, action="create")
    return funds


CONVERT_FIELDS = (
    "code",
    "kind",
    "build_type",
    "planned_start",
    "planned_completion",
    "on",
    "note",
    "description",
)


@transaction.atomic
def lead_convert(*, actor, lead_id: int, version: int | None, data: Mapping[str, Any], today=None):
    """At 开工 the lead becomes a registry project: one action, no retyping. The project takes the
    lead's name, investor (found or created as an enterprise unit), region, chain, amount as total
    investment and screening flags; the user gives the national project code, the kind and the planned
    dates. The lead moves from 注册落户 to 开工 (data["on"], default today) and links to the project."""
    from guatu.org.services import unit_get_or_create
    from guatu.projects.services import project_create

    today = _today(today)
    lead = _locked(actor, lead_id)
    _check_version(lead, version)
    _check_not_dropped(lead)
    if lead.project_id is not None:
        raise ValidationError(
            _("线索“%(name)s”已转为项目“%(project)s”，不能重复转换")
            % {"name": lead.name, "project": lead.project}
        )
    unknown = set(data) - set(CONVERT_FIELDS)
    if unknown:
        raise ValidationError({f: _("不能填写的字段：%(field)s") % {"field": f} for f in sorted(unknown)})
    started = _stage(STARTED)
    if lead.stage.order not in (started.order - 1, started.order):
        raise ValidationError(
            _("线索“%(name)s”当前为“%(stage)s”，须注册落户后才能转为项目")
            % {"name": lead.name, "stage": lead.stage}
        )
    on = data.get("on") or today
    moving = lead.stage.order != started.order
    if moving:
        _check_on(lead, on, today)
    errors = {}
    if not (data.get("code") or "").strip():
        errors["code"] = [_("请填写投资项目代码")]
    if not data.get("kind"):
        errors["kind"] = [_("请选择项目类型")]
    if errors:
        raise ValidationError(errors)
    enterprise, _created = unit_get_or_create(
        actor=actor, name=lead.investor, kind=Unit.Kind.ENTERPRISE, region=lead.region
    )
    project_data = {
        "code": data["code"].strip(),
        "name": lead.name,
        "enterprise": enterprise,
        "region": lead.region,
        "chain": lead.chain,
        "kind": data["kind"],
        "total_investment": lead.amount,
        "signed_on": stage_entered_on(lead, SIGNED),
        "planned_start": data.get("planned_start"),
        "planned_completion": data.get("planned_completion"),
        "is_two_high": lead.is_two_high,
        "is_six_small": lead.is_six_small,
        "description": data.get("description") or "",
        "is_demo": lead.is_demo,
    }
    if data.get("build_type"):
        project_data["build_type"] = data["build_type"]
    project = project_create(actor=actor, data=project_data)
    if moving:
        note = data.get("note") or _("转为入库项目 %(code)s") % {"code": project.code}
        _move(actor, lead, started, on, note, project=project)
    else:
        before = snapshot(lead)
        lead.project = project
        _save(actor, lead, before)
        record_change(actor=actor, obj=lead, action="update", before=before)
    return project


# --- funnel and chain map
