"""Writes to targets and pledges. Each is one transaction, checks scope through restrict()/can(),
refuses bad input with a Chinese message naming the field and value (writing nothing), checks the
row's version, and writes one change record per row it touches."""

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from guatu.core.changelog import record_change, snapshot
from guatu.core.exceptions import Conflict
from guatu.core.permissions import can, restrict
from guatu.org.models import Region, Unit
from guatu.targets.metrics import get_metric
from guatu.targets.models import Comparator, Pledge, Target
from guatu.targets.periods import Period

TARGET_FIELDS = ("metric", "period", "comparator", "value", "region", "unit", "pledge", "source", "is_demo")
PLEDGE_FIELDS = ("unit", "title", "signer", "signer_title", "signed_on", "text", "is_demo")
SCOPE_UNIT_KINDS = (Unit.Kind.ZONE, Unit.Kind.DEPARTMENT)
TARGET_STALE = _("该目标已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试")
PLEDGE_STALE = _("该军令状已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试")


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _require(actor, action: str, model, message: str) -> None:
    if actor is not None and not can(actor, action, model):
        raise PermissionDenied(message)


def _locked(model, actor, pk: int, action: str, missing: str):
    qs = model.objects.all() if actor is None else restrict(model.objects, actor, action)
    try:
        return qs.select_for_update(of=("self",)).get(pk=pk)
    except model.DoesNotExist:
        raise model.DoesNotExist(missing) from None


# ---------------------------------------------------------------- targets


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({"value": _("目标值“%(v)s”不是数字") % {"v": value}}) from None


def _apply_target(target: Target, data: Mapping[str, Any]) -> None:
    for name, value in data.items():
        if name not in TARGET_FIELDS and name != "parent":
            raise ValidationError({name: _("不能修改的字段：%(field)s") % {"field": name}})
        setattr(target, name, value)


def _check_target(target: Target) -> None:
    """Every rule a target must meet, however it is written; raises one ValidationError with all
    the fields at fault."""
    errors: dict[str, list[str]] = {}
    try:
        get_metric(target.metric)
    except ValidationError as err:
        errors.setdefault("metric", []).extend(err.message_dict["metric"])
    period = None
    try:
        period = Period.parse(target.period)
    except ValidationError as err:
        errors.setdefault("period", []).extend(err.messages)
    if period is not None:
        target.period = str(period)
        target.period_kind, target.start, target.end = period.kind, period.start, period.end
    if target.comparator not in Comparator.values:
        errors.setdefault("comparator", []).append(
            _("比较方式“%(c)s”无效：须为 ≥、= 或 ≤") % {"c": target.comparator}
        )
    if target.value is None or target.value == "":
        errors.setdefault("value", []).append(_("请填写目标值"))
    else:
        try:
            target.value = _decimal(target.value)
        except ValidationError as err:
            errors.setdefault("value", []).extend(err.message_dict["value"])
        else:
            if target.value < 0:
                errors.setdefault("value", []).append(_("目标值不能为负数：%(v)s") % {"v": target.value})
    region, unit = target.region if target.region_id else None, target.unit if target.unit_id else None
    if (region is None) == (unit is None):
        errors.setdefault("region", []).append(
            _("目标须落在一个范围上：市、县(市)区填“地区”，开发区、市直部门填“单位”，二者只填一个")
        )
    if unit is not None and unit.kind not in SCOPE_UNIT_KINDS:
        errors.setdefault("unit", []).append(
            _("单位“%(unit)s”是%(kind)s，目标只能落在开发区或市直部门")
            % {"unit": unit.name, "kind": unit.get_kind_display()}
        )
    if region is not None and region.level not in (Region.Level.CITY, Region.Level.COUNTY):
        errors.setdefault("region", []).append(_("地区“%(r)s”不是市或县(市)区") % {"r": region})
    if target.parent_id:
        parent = target.parent
        if not (region is not None and region.parent_id == parent.region_id):
            errors.setdefault("region", []).append(
                _("分解目标须落在“%(city)s”所辖的县(市)区") % {"city": parent.scope_label}
            )
    if not errors and period is not None:
        duplicate = _overlapping(target)
        if duplicate is not None:
            errors.setdefault("period", []).append(
                _("与已有目标重复：“%(other)s”（同一指标、同一范围、同一期间类型，期间重叠）")
                % {"other": duplicate}
            )
    if not errors:
        try:
            target.full_clean(validate_constraints=False)
        except ValidationError as err:
            errors = err.message_dict
    if errors:
        raise ValidationError(errors)


def _overlapping(target: Target) -> Target | None:
    qs = Target.objects.filter(
        metric=target.metric,
        period_kind=target.period_kind,
        start__lte=target.end,
        end__gte=target.start,
    )
    qs = qs.filter(region=target.region_id) if target.region_id else qs.filter(unit=target.unit_id)
    if target.pk:
        qs = qs.exclude(pk=target.pk)
    return qs.select_related("region", "unit").first()


@transaction.atomic
def target_create(*, actor, data: Mapping[str, Any]) -> Target:
    """A new target. `data`: metric, period (2026 / 2026Q1 / 2026-03), comparator, value, region or
    unit, and optionally pledge, source, is_demo."""
    _require(actor, "add", Target, _("无权新建目标：目标由项目办制定"))
    target = Target(comparator=Comparator.GE)
    _apply_target(target, data)
    target.created_by = target.updated_by = _user(actor)
    _check_target(target)
    target.save()
    record_change(actor=actor, obj=target, action="create")
    return target


@transaction.atomic
def target_update(*, actor, target_id: int, version: int, data: Mapping[str, Any]) -> Target:
    """Change a target; its split parts follow a change of metric, period or comparator."""
    target = _locked(Target, actor, target_id, "change", _("目标不存在或无权修改"))
    if target.version != version:
        raise Conflict(TARGET_STALE % {"current": target.version, "yours": version})
    before = snapshot(target)
    _apply_target(target, {k: v for k, v in data.items() if k != "parent"})
    _check_target(target)
    target.version += 1
    target.updated_by = _user(actor)
    target.save()
    record_change(actor=actor, obj=target, action="update", before=before)
    for part in target.parts.select_for_update(of=("self",)).order_by("pk"):
        changed = {
            name: getattr(target, name)
            for name in ("metric", "period", "comparator")
            if getattr(part, name) != getattr(target, name)
        }
        if changed:
            part_before = snapshot(part)
            _apply_target(part, changed)
            _check_target(part)
            part.version += 1
            part.updated_by = _user(actor)
            part.save()
            record_change(actor=actor, obj=part, action="update", before=part_before)
    return target


@transaction.atomic
def target_delete(*, actor, target_id: int, version: int | None = None) -> None:
    """Delete a target and its split parts."""
    target = _locked(Target, actor, target_id, "delete", _("目标不存在或无权删除"))
    if version is not None and target.version != version:
        raise Conflict(TARGET_STALE % {"current": target.version, "yours": version})
    for part in target.parts.all():
        record_change(actor=actor, obj=part, action="delete", before=snapshot(part))
    record_change(actor=actor, obj=target, action="delete", before=snapshot(target))
    target.delete()


@transaction.atomic
def target_split(
    *, actor, target_id: int, parts: Mapping[str, Any], version: int | None = None
) -> list[Target]:
    """Split a city target across its counties: {county code: value}. A part that exists is updated
    (a county's own target of the same metric and period becomes the part); a value of None or ""
    removes the part. The parts need not add up to the whole: the pages show where they do not."""
    target = _locked(Target, actor, target_id, "change", _("目标不存在或无权修改"))
    if version is not None and target.version != version:
        raise Conflict(TARGET_STALE % {"current": target.version, "yours": version})
    if not (target.region_id and target.region.parent_id is None):
        raise ValidationError(_("只有全市目标可以分解到县(市)区：“%(t)s”不是全市目标") % {"t": target})
    counties = {r.code: r for r in Region.objects.filter(parent=target.region_id)}
    errors = []
    for code in parts:
        if code not in counties:
            errors.append(_("“%(code)s”不是%(city)s所辖的县(市)区") % {"code": code, "city": target.region})
    if errors:
        raise ValidationError({"parts": errors})
    existing = {
        t.region.code: t
        for t in Target.objects.select_for_update(of=("self",))
        .filter(metric=target.metric, period=target.period, region__in=counties.values())
        .select_related("region")
    }
    result = []
    for code, raw in parts.items():
        part = existing.get(code)
        if raw is None or raw == "":
            if part is not None and part.parent_id == target.pk:
                record_change(actor=actor, obj=part, action="delete", before=snapshot(part))
                part.delete()
            continue
        value = _decimal(raw)
        if part is None:
            part = Target(region=counties[code], created_by=_user(actor))
            before = None
        else:
            before = snapshot(part)
            if part.value == value and part.parent_id == target.pk and part.comparator == target.comparator:
                result.append(part)
                continue
            part.version += 1
        part.metric, part.period, part.comparator = target.metric, target.period, target.comparator
        part.value, part.parent, part.is_demo = value, target, target.is_demo
        part.source = part.source or _("分解自：%(t)s") % {"t": target}
        part.updated_by = _user(actor)
        try:
            _check_target(part)
        except ValidationError as err:
            raise ValidationError({"parts": [f"{counties[code].label}：{m}" for m in err.messages]}) from None
        part.save()
        record_change(actor=actor, obj=part, action="create" if before is None else "update", before=before)
        result.append(part)
    return result


# ---------------------------------------------------------------- pledges (军令状)


def pledge_owns(pledge: Pledge, target: Target) -> bool:
    """A county government's pledge covers its division's targets; a zone's or department's, its own."""
    unit = pledge.unit
    if target.unit_id == unit.pk:
        return True
    return unit.kind == Unit.Kind.COUNTY and target.region_id == unit.region_id


def _apply_pledge(pledge: Pledge, data: Mapping[str, Any]) -> None:
    for name, value in data.items():
        if name not in PLEDGE_FIELDS:
            raise ValidationError({name: _("不能修改的字段：%(field)s") % {"field": name}})
        setattr(pledge, name, value)
    if pledge.unit_id:
        pledge.region_id = pledge.unit.region_id


def _check_pledge(pledge: Pledge) -> None:
    errors: dict[str, list[str]] = {}
    if pledge.unit_id and pledge.unit.kind == Unit.Kind.ENTERPRISE:
        errors["unit"] = [_("“%(u)s”是项目单位，军令状由县(市)区、开发区或市直部门签署") % {"u": pledge.unit}]
    try:
        pledge.full_clean()
    except ValidationError as err:
        for name, messages in err.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _attach(actor, pledge: Pledge, target_ids: Iterable[int]) -> None:
    """Make exactly these targets the pledge's: attach the new, detach the dropped."""
    wanted = set(target_ids)
    qs = Target.objects.all() if actor is None else restrict(Target.objects, actor, "change")
    found = {
        t.pk: t
        for t in qs.select_for_update(of=("self",)).filter(pk__in=wanted).select_related("region", "unit")
    }
    errors = [_("目标 #%(id)s 不存在或无权修改") % {"id": pk} for pk in sorted(wanted - set(found))]
    errors += [
        _("目标“%(t)s”不属于立状单位“%(u)s”") % {"t": t, "u": pledge.unit}
        for t in found.values()
        if not pledge_owns(pledge, t)
    ]
    if errors:
        raise ValidationError({"targets": errors})
    for target in found.values():
        if target.pledge_id != pledge.pk:
            before = snapshot(target)
            target.pledge, target.version = pledge, target.version + 1
            target.save(update_fields=["pledge", "version", "updated_at"])
            record_change(actor=actor, obj=target, action="update", before=before)
    for target in (
        Target.objects.select_for_update(of=("self",))
        .filter(pledge=pledge)
        .order_by("pk")
        .exclude(pk__in=wanted)
    ):
        before = snapshot(target)
        target.pledge, target.version = None, target.version + 1
        target.save(update_fields=["pledge", "version", "updated_at"])
        record_change(actor=actor, obj=target, action="update", before=before)


@transaction.atomic
def pledge_create(*, actor, data: Mapping[str, Any], target_ids: Iterable[int] = ()) -> Pledge:
    """A signed 军令状: unit, title, signer, signer_title, signed_on, text; with its targets."""
    _require(actor, "add", Pledge, _("无权新建军令状：军令状由项目办登记"))
    pledge = Pledge()
    _apply_pledge(pledge, data)
    pledge.created_by = pledge.updated_by = _user(actor)
    _check_pledge(pledge)
    pledge.save()
    record_change(actor=actor, obj=pledge, action="create")
    _attach(actor, pledge, target_ids)
    return pledge


@transaction.atomic
def pledge_update(
    *, actor, pledge_id: int, version: int, data: Mapping[str, Any], target_ids: Iterable[int] | None = None
) -> Pledge:
    pledge = _locked(Pledge, actor, pledge_id, "change", _("军令状不存在或无权修改"))
    if pledge.version != version:
        raise Conflict(PLEDGE_STALE % {"current": pledge.version, "yours": version})
    before = snapshot(pledge)
    _apply_pledge(pledge, data)
    _check_pledge(pledge)
    pledge.version += 1
    pledge.updated_by = _user(actor)
    pledge.save()
    record_change(actor=actor, obj=pledge, action="update", before=before)
    if target_ids is not None:
        _attach(actor, pledge, target_ids)
    else:
        strays = [t for t in pledge.targets.select_related("region", "unit") if not pledge_owns(pledge, t)]
        if strays:
            raise ValidationError(
                {"unit": [_("目标“%(t)s”不属于立状单位“%(u)s”") % {"t": t, "u": pledge.unit} for t in strays]}
            )
    return pledge


@transaction.atomic
def pledge_delete(*, actor, pledge_id: int, version: int | None = None) -> None:
    """Delete a pledge; its targets stay, no longer pledged."""
    pledge = _locked(Pledge, actor, pledge_id, "delete", _("军令状不存在或无权删除"))
    if version is not None and pledge.version != version:
        raise Conflict(PLEDGE_STALE % {"current": pledge.version, "yours": version})
    _attach(actor, pledge, ())
    record_change(actor=actor, obj=pledge, action="delete", before=snapshot(pledge))
    pledge.delete()
