"""考核计分与擂台排名: assessment scores of units per period, and the rankings made of them.

Rankings live here beside the computation because they are one mechanism: a ranking is one
period's scores in order, and the bonus a rank earns goes back into the score.

Which units a scheme ranks (its group):

- ``county``: the county-level regions under the configured city (``org.Region`` whose parent is
  the city ``GUATU_CITY_CODE``; projects: ``metrics.scope_projects(region=…)``) and the development
  zones (``org.Unit`` of kind zone; projects: ``scope_projects(unit=…)``, i.e. Project.departments).
- ``department``: the city departments (``org.Unit`` of kind department; projects through
  Project.departments).

A ranking reads each metric for all its units at once (``metrics.actuals``, the metric's grouped
form), so it costs the same number of queries for 3 units as for 30.

Which scheme: the active scheme of the period's year and group with the highest version.
Periods are ``Period.parse`` periods (2026-11, 2026Q1, 2026); the 擂台 is monthly by default.

Each item of the scheme gives one line of a unit's breakdown:

- weighted: ratio = actual ÷ target, where the target is the unit's Target for that metric and
  period (the rule of ``selectors.target_for``). A rate metric (%) without a target is judged
  against 100. points = weight × min(ratio, ratio_cap or 1). A count or amount metric without a
  target scores 0, noted "未下达目标". A target of 0 counts as met (ratio 1). A rate the period
  cannot compute (nothing to divide by, e.g. no project due to start) scores 0, noted "本期无数据".
- count: points = per × actual, at most ``cap`` (no cap when empty).
- deduction: points = −per × actual, at least −``cap`` (no floor when empty).

Points are rounded to 0.01 (half up) line by line, so the lines add up to the score exactly.

Ranking: units are first ranked by their items total, competition style (equal totals share the
rank and the next rank is skipped: 1, 1, 3). The units at rank 1, 2, 3 … get
``ranking_bonuses[0]``, ``[1]``, ``[2]`` …; tied units share the rank and its bonus. The final
score is items total + bonus; the final ranking is by final score, equal scores share the rank and
are listed by name (pinyin order, see ``name_key``). The breakdown is the item lines plus the bonus line ("名次加分"); the sum of its
points is the score.

擂台: movement = previous period's rank − this rank (positive: moved up); None when the unit was
not ranked in the previous period (no scheme then, or the unit is new). Rank 1 is the leader
(擂主, all units sharing it). The bottom three (后三位) are the units whose rank falls in the last
three places (rank > n − 3, n units ranked; none when n ≤ 3): a tie reaching across that line is
not flagged, because a shared rank is the better place of the tie.

Access: rankings are read through restrict() on ScoringScheme (every business role reads them);
the figures behind them are the whole city's, as an assessment's must be. Schemes are written by
``scheme_create`` and ``scheme_new_version`` (the project office), which validate the whole scheme
before writing anything and leave every version in place.
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.core.changelog import record_change
from guatu.core.exceptions import Conflict
from guatu.core.permissions import can, restrict
from guatu.org.models import Region, Unit
from guatu.targets.metrics import Scope, get_metric, metric_name, scope_projects
from guatu.targets.metrics import actual as metric_actual
from guatu.targets.metrics import actuals as metric_actuals
from guatu.targets.models import ItemKind, SchemeGroup, SchemeItem, ScoringScheme, Target
from guatu.targets.periods import MONTH, Period

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
BOTTOM = 3  # 后三位


# --- results


@dataclass
class Line:
    """One line of a breakdown: an item of the scheme, or the ranking bonus (kind "bonus")."""

    label: str
    metric: str
    actual: Decimal | None
    target: Decimal | None
    points: Decimal
    note: str = ""
    kind: str = ""  # weighted, count, deduction, bonus
    measure: str = ""  # the unit actual and target are in: 个, %, 万元


@dataclass
class UnitScore:
    key: str  # region code (211302) or "unit:<pk>"
    name: str
    region: Region | None
    unit: Unit | None
    score: Decimal
    rank: int
    items_total: Decimal
    bonus: Decimal
    breakdown: list[Line] = field(default_factory=list)
    movement: int | None = None
    is_bottom: bool = False  # 后三位

    @property
    def is_leader(self) -> bool:  # 擂主
        return self.rank == 1


@dataclass
class RankedUnit:
    """A unit a scheme ranks: a county-level region, a zone or a department, with its projects."""

    key: str
    name: str
    region: Region | None
    unit: Unit | None
    projects: QuerySet


# --- computation


def _cent(value: Decimal) -> Decimal:
    value = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return value if value else Decimal("0.00")  # never "-0.00"


def name_key(name: str) -> bytes:
    """Order names as a Chinese reader expects: GB18030 byte order follows pinyin for the common
    characters (GB2312 level 1), which place names and unit names are written in."""
    return name.encode("gb18030", errors="replace")


def competition_ranks(values: Sequence[Decimal]) -> list[int]:
    """Rank of each value, highest first; equal values share a rank and the next is skipped."""
    return [1 + sum(1 for other in values if other > value) for value in values]


def ranked_units(group: str) -> list[RankedUnit]:
    """The units a scheme of this group ranks, each with the projects it answers for."""
    if group == SchemeGroup.COUNTY:
        regions = Region.objects.filter(parent__code=settings.CITY_CODE).order_by("code")
        zones = Unit.objects.filter(kind=Unit.Kind.ZONE).order_by("name")
        return [
            *(RankedUnit(r.code, r.label, r, None, scope_projects(region=r)) for r in regions),
            *(RankedUnit(f"unit:{u.pk}", u.name, None, u, scope_projects(unit=u)) for u in zones),
        ]
    if group == SchemeGroup.DEPARTMENT:
        units = Unit.objects.filter(kind=Unit.Kind.DEPARTMENT).order_by("name")
        return [RankedUnit(f"unit:{u.pk}", u.name, None, u, scope_projects(unit=u)) for u in units]
    raise ValidationError({"group": _("未知考核对象：%(group)s") % {"group": group}})


def _targets(period: Period, metrics: Iterable[str], units: Sequence[RankedUnit]) -> dict[tuple, Decimal]:
    """Every ranked unit's target of the scheme's metrics for the period, in one query.

    The same rule as ``selectors.target_for(metric=, period=, region=, unit=)`` (exactly this
    period, this region or this unit; the first in the model's order), read in bulk so that a
    ranking costs one query for targets rather than one per unit and item."""
    region_ids = [u.region.pk for u in units if u.region is not None]
    unit_ids = [u.unit.pk for u in units if u.unit is not None]
    qs = Target.objects.filter(metric__in=list(metrics), period=str(period)).filter(
        Q(region__in=region_ids) | Q(unit__in=unit_ids)
    )
    found: dict[tuple, Decimal] = {}
    for metric, region_id, unit_id, value in qs.values_list("metric", "region_id", "unit_id", "value"):
        key = (metric, "region", region_id) if region_id else (metric, "unit", unit_id)
        found.setdefault(key, value)
    return found


def _target_of(targets: Mapping[tuple, Decimal], metric: str, unit: RankedUnit) -> Decimal | None:
    if unit.region is not None:
        return targets.get((metric, "region", unit.region.pk))
    return targets.get((metric, "unit", unit.unit.pk))


def item_line(item: SchemeItem, value: Decimal | None, target: Decimal | None) -> Line:
    """One item's line for a unit: its points from the actual (and the target, when weighted)."""
    metric = get_metric(item.metric)
    line = Line(
        label=item.label or metric_name(item.metric),
        metric=item.metric,
        actual=value,
        target=target,
        points=Decimal("0.00"),
        kind=item.kind,
        measure=metric.unit,
    )
    if item.kind == ItemKind.WEIGHTED:
        if target is None and metric.kind == "rate":
            line.target = target = HUNDRED
        if target is None:
            line.note = _("未下达目标")
            return line
        if value is None:
            line.note = _("本期无数据")
            return line
        cap = item.ratio_cap if item.ratio_cap is not None else Decimal(1)
        ratio = value / target if target > 0 else Decimal(1)
        if target <= 0:
            line.note = _("目标为 0，视为完成")
        elif ratio > cap:
            line.note = _("完成率 %(ratio)s%%，按 %(cap)s%% 计") % {
                "ratio": _number(ratio * HUNDRED, "0.1"),
                "cap": _number(cap * HUNDRED, "0.1"),
            }
        line.points = _cent(item.weight * min(ratio, cap))
    elif item.kind == ItemKind.COUNT:
        points = item.per * (value or 0)
        if item.cap is not None and points > item.cap:
            points = item.cap
            line.note = _("封顶 %(cap)s 分") % {"cap": _number(item.cap)}
        line.points = _cent(points)
    elif item.kind == ItemKind.DEDUCTION:
        points = -item.per * (value or 0)
        if item.cap is not None and points < -item.cap:
            points = -item.cap
            line.note = _("最多扣 %(cap)s 分") % {"cap": _number(item.cap)}
        line.points = _cent(points)
    return line


def _number(value: Decimal, places: str = "0.01") -> str:
    """A number as people write it: 95, 1.2, 66.7 (no trailing zeros, no exponent)."""
    text = format(value.quantize(Decimal(places), rounding=ROUND_HALF_UP), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def scheme_items(scheme: ScoringScheme) -> list[SchemeItem]:
    return list(scheme.items.order_by("order", "pk"))


def unit_actuals(
    metrics: Iterable[str],
    units: Sequence[RankedUnit],
    period: Period,
    today: dt.date,
    *,
    grouped: bool = True,
) -> dict[str, dict[str, Decimal | None]]:
    """Each metric's actual for every ranked unit: metric → unit key → value.

    A metric with a grouped form is computed for all the units at once, so a ranking costs the
    same number of queries however many units it ranks; a metric without one (or every metric,
    with grouped=False) unit by unit over the unit's projects, as ``metrics.actual`` does."""
    scopes = [Scope(u.key, u.region, u.unit) for u in units]
    found: dict[str, dict[str, Decimal | None]] = {}
    for code in dict.fromkeys(metrics):
        if grouped and get_metric(code).grouped is not None:
            found[code] = metric_actuals(code, scopes, period, today)
            continue
        found[code] = {
            u.key: metric_actual(code, u.projects, period, today, region=u.region, unit=u.unit) for u in units
        }
    return found


def rank_units(
    *, scheme: ScoringScheme, period: Period | str, today: dt.date | None = None, grouped: bool = True
) -> list[UnitScore]:
    """Score and rank every unit of the scheme's group for the period (movement left None).
    grouped=False computes every actual unit by unit (the reference the grouped path must equal)."""
    period = Period.parse(period) if isinstance(period, str) else period
    today = today or timezone.localdate()
    items = scheme_items(scheme)
    units = ranked_units(scheme.group)
    weighted = {i.metric for i in items if i.kind == ItemKind.WEIGHTED}
    targets = _targets(period, weighted, units) if weighted else {}
    actuals = unit_actuals([i.metric for i in items], units, period, today, grouped=grouped)
    scores = []
    for unit in units:
        lines = []
        for item in items:
            target = _target_of(targets, item.metric, unit) if item.kind == ItemKind.WEIGHTED else None
            lines.append(item_line(item, actuals[item.metric][unit.key], target))
        total = sum((line.points for line in lines), Decimal("0.00"))
        scores.append(
            UnitScore(
                key=unit.key,
                name=unit.name,
                region=unit.region,
                unit=unit.unit,
                score=total,
                rank=0,
                items_total=total,
                bonus=Decimal("0.00"),
                breakdown=lines,
            )
        )
    _apply_bonuses(scores, [Decimal(str(b)) for b in scheme.ranking_bonuses or []])
    return _final_order(scores)


def _apply_bonuses(scores: list[UnitScore], bonuses: list[Decimal]) -> None:
    for score, rank in zip(scores, competition_ranks([s.items_total for s in scores]), strict=True):
        bonus = _cent(bonuses[rank - 1]) if rank <= len(bonuses) else Decimal("0.00")
        note = _("项目得分第 %(rank)s 名") % {"rank": rank} if bonus else ""
        score.bonus = bonus
        score.score = score.items_total + bonus
        score.breakdown.append(
            Line(
                label=_("名次加分"),
                metric="",
                actual=None,
                target=None,
                points=bonus,
                note=note,
                kind="bonus",
            )
        )


def _final_order(scores: list[UnitScore]) -> list[UnitScore]:
    for score, rank in zip(scores, competition_ranks([s.score for s in scores]), strict=True):
        score.rank = rank
    scores.sort(key=lambda s: (s.rank, name_key(s.name), s.key))
    count = len(scores)
    for score in scores:
        score.is_bottom = count > BOTTOM and score.rank > count - BOTTOM
    return scores


# --- reads (always through restrict())


def scheme_queryset(*, user, action: str = "view") -> QuerySet[ScoringScheme]:
    return restrict(ScoringScheme.objects, user, action)


def scheme_list(*, user, year: int | None = None, group: str | None = None) -> QuerySet[ScoringScheme]:
    qs = scheme_queryset(user=user)
    if year:
        qs = qs.filter(year=year)
    if group:
        qs = qs.filter(group=group)
    return qs.order_by("-year", "group", "-version")


def scheme_get(*, user, pk: int, action: str = "view") -> ScoringScheme:
    return scheme_queryset(user=user, action=action).get(pk=pk)


def scheme_versions(*, user, scheme: ScoringScheme) -> QuerySet[ScoringScheme]:
    """Every version of the scheme's year and group, newest first."""
    return scheme_list(user=user, year=scheme.year, group=scheme.group)


def scheme_for(*, period: Period, group: str = SchemeGroup.COUNTY, schemes: QuerySet | None = None):
    """The scheme a period is scored by: active, of the period's year and group, highest version."""
    qs = schemes if schemes is not None else ScoringScheme.objects.all()
    return qs.filter(year=period.year, group=group, is_active=True).order_by("-version").first()


def parse_group(group: str | None) -> str:
    value = group or SchemeGroup.COUNTY
    if value not in SchemeGroup.values:
        raise ValidationError(
            {
                "group": _("考核对象“%(group)s”有误：应为 %(all)s")
                % {"group": value, "all": "、".join(SchemeGroup.values)}
            }
        )
    return value


def default_period(today: dt.date | None = None) -> Period:
    """The 擂台 is monthly: the month of today."""
    return Period.containing(today or timezone.localdate(), MONTH)


def ranking_for(
    *, user, period: Period | str, group: str = SchemeGroup.COUNTY, today: dt.date | None = None
) -> tuple[ScoringScheme | None, list[UnitScore]]:
    """The ranking a user may read, with movement since the previous period of the same kind.

    (None, []) when the user may not view schemes or no scheme applies to the period."""
    period = Period.parse(period) if isinstance(period, str) else period
    today = today or timezone.localdate()
    group = parse_group(group)
    if not can(user, "view", ScoringScheme):
        return None, []
    schemes = scheme_queryset(user=user)
    scheme = scheme_for(period=period, group=group, schemes=schemes)
    if scheme is None:
        return None, []
    scores = rank_units(scheme=scheme, period=period, today=today)
    previous_period = period.previous()
    previous = scheme_for(period=previous_period, group=group, schemes=schemes)
    if previous is not None:
        before = {s.key: s.rank for s in rank_units(scheme=previous, period=previous_period, today=today)}
        for score in scores:
            if score.key in before:
                score.movement = before[score.key] - score.rank
    return scheme, scores


# --- writes

SCHEME_FIELDS = ("name", "ranking_bonuses", "note", "is_active")
ITEM_FIELDS = ("metric", "label", "kind", "weight", "per", "ratio_cap", "cap")


def _decimal(value: Any, label: str, errors: list[str], *, optional: bool = False) -> Decimal | None:
    if value is None or value == "":
        if optional:
            return None
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.append(_("%(label)s“%(value)s”不是数字") % {"label": label, "value": value})
        return None
    if not number.is_finite():
        errors.append(_("%(label)s“%(value)s”不是数字") % {"label": label, "value": value})
        return None
    return number


def _clean_items(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check every item and the weights together; raise one ValidationError naming each problem."""
    errors: list[str] = []
    cleaned = []
    total = Decimal(0)
    for position, raw in enumerate(items, start=1):
        unknown = set(raw) - set(ITEM_FIELDS) - {"order"}
        name = raw.get("label") or raw.get("metric") or ""
        where = _("第 %(n)s 项“%(name)s”") % {"n": position, "name": name}
        if unknown:
            errors.append(where + _("：不能设置的字段 %(fields)s") % {"fields": "、".join(sorted(unknown))})
        item_errors: list[str] = []
        code = (raw.get("metric") or "").strip()
        try:
            get_metric(code)
        except ValidationError as err:
            item_errors.extend(err.messages)
        kind = raw.get("kind") or ItemKind.WEIGHTED
        if kind not in ItemKind.values:
            item_errors.append(
                _("计分方式“%(kind)s”有误：应为 %(all)s") % {"kind": kind, "all": "、".join(ItemKind.values)}
            )
        weight = _decimal(raw.get("weight"), _("权重"), item_errors)
        per = _decimal(raw.get("per"), _("每个计分"), item_errors)
        ratio_cap = _decimal(raw.get("ratio_cap"), _("完成率上限"), item_errors, optional=True)
        cap = _decimal(raw.get("cap"), _("封顶"), item_errors, optional=True)
        if ratio_cap is not None and ratio_cap < 1:
            item_errors.append(_("完成率上限须不小于 1（现为 %(v)s）") % {"v": _number(ratio_cap)})
        if cap is not None and cap < 0:
            item_errors.append(_("封顶分须不小于 0（现为 %(v)s）") % {"v": _number(cap)})
        if kind == ItemKind.WEIGHTED and weight is not None:
            if weight <= 0:
                item_errors.append(_("权重须大于 0（现为 %(v)s）") % {"v": _number(weight)})
            total += weight
        if kind in (ItemKind.COUNT, ItemKind.DEDUCTION):
            if weight:
                item_errors.append(_("按数计分和扣分项不设权重（现为 %(v)s）") % {"v": _number(weight)})
            if per is not None and per <= 0:
                item_errors.append(_("每个计分须大于 0（现为 %(v)s）") % {"v": _number(per)})
        errors.extend(where + "：" + message for message in item_errors)
        cleaned.append(
            {
                "order": position,
                "metric": code,
                "label": (raw.get("label") or "").strip()[:50],
                "kind": kind,
                "weight": weight or Decimal(0),
                "per": per or Decimal(0),
                "ratio_cap": ratio_cap,
                "cap": cap,
            }
        )
    if total != HUNDRED:
        errors.insert(0, _("权重合计为 %(total)s，应为 100") % {"total": _number(total)})
    if errors:
        raise ValidationError({"items": errors})
    return cleaned


def _clean_bonuses(value: Any) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [part for part in value.replace("，", ",").replace("、", ",").split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValidationError({"ranking_bonuses": _("名次加分应为一列数，如 7, 5, 3")})
    result = []
    for raw in value:
        errors: list[str] = []
        number = _decimal(raw, _("名次加分"), errors)
        if errors or number is None:
            raise ValidationError({"ranking_bonuses": errors})
        if number < 0:
            raise ValidationError(
                {"ranking_bonuses": _("名次加分须不小于 0（现为 %(v)s）") % {"v": _number(number)}}
            )
        result.append(int(number) if number == number.to_integral_value() else float(number))
    return result


def _check_add(actor) -> None:
    if actor is not None and not can(actor, "add", ScoringScheme):
        raise PermissionDenied(_("无权制定考核方案"))


def _write(actor, *, year: int, group: str, version: int, data: Mapping[str, Any], items) -> ScoringScheme:
    unknown = set(data) - set(SCHEME_FIELDS)
    if unknown:
        raise ValidationError(_("不能设置的字段：%(fields)s") % {"fields": "、".join(sorted(unknown))})
    cleaned_items = _clean_items(items)
    user = actor if getattr(actor, "is_authenticated", False) else None
    scheme = ScoringScheme(
        year=year,
        group=group,
        version=version,
        name=(data.get("name") or "").strip(),
        ranking_bonuses=_clean_bonuses(data.get("ranking_bonuses")),
        note=data.get("note") or "",
        is_active=data.get("is_active", True),
        created_by=user,
        updated_by=user,
    )
    scheme.full_clean()
    scheme.save()
    record_change(actor=actor, obj=scheme, action="create")
    for values in cleaned_items:
        item = SchemeItem(scheme=scheme, **values)
        item.full_clean()
        item.save()
        record_change(actor=actor, obj=item, action="create")
    return scheme


@transaction.atomic
def scheme_create(
    *, actor, year: int, group: str, data: Mapping[str, Any], items: Sequence[Mapping[str, Any]]
) -> ScoringScheme:
    """The first version of a year's scheme for a group. `data`: name, ranking_bonuses, note,
    is_active; `items`: metric, label, kind, weight, per, ratio_cap, cap (in order)."""
    _check_add(actor)
    group = parse_group(group)
    if ScoringScheme.objects.filter(year=year, group=group).exists():
        raise ValidationError(
            {"year": _("%(year)s年“%(group)s”已有考核方案，请在其上新建版本")
             % {"year": year, "group": SchemeGroup(group).label}}
        )  # fmt: skip
    return _write(actor, year=year, group=group, version=1, data=data, items=items)


@transaction.atomic
def scheme_new_version(
    *,
    actor,
    scheme_id: int,
    data: Mapping[str, Any] | None = None,
    items: Sequence[Mapping[str, Any]] | None = None,
) -> ScoringScheme:
    """A new version of a scheme, written beside the old (which stays as it was, for history).
    The version must be the latest of its year and group: a change based on an older one is a
    conflict. Fields and items not given are copied from the version it is based on."""
    _check_add(actor)
    qs = ScoringScheme.objects.all() if actor is None else scheme_queryset(user=actor)
    try:
        base = qs.get(pk=scheme_id)
    except ScoringScheme.DoesNotExist:
        raise ScoringScheme.DoesNotExist(_("考核方案不存在或无权查看")) from None
    siblings = ScoringScheme.objects.select_for_update().filter(year=base.year, group=base.group)
    latest = max(s.version for s in siblings)
    if base.version != latest:
        raise Conflict(
            _(
                "%(year)s年“%(group)s”考核方案已有更新的版本 v%(latest)s，您依据的是 v%(yours)s，请在最新版本上修改"
            )
            % {"year": base.year, "group": base.get_group_display(), "latest": latest, "yours": base.version}
        )
    values = {f: getattr(base, f) for f in SCHEME_FIELDS}
    values.update(data or {})
    if items is None:
        items = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in scheme_items(base)]
    return _write(actor, year=base.year, group=base.group, version=latest + 1, data=values, items=items)
