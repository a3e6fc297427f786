"""The demo campaign's targets and pledges (军令状), from the seed speech, for the current year.

- Signing days (签约日期): every demo project at or past 签约 gets one, drawn per project (before its
  planned start, never after today), so 新引进 counts spread over the year as signings do.
- The city's targets from the speech: 一季度开工120个, 二季度达产191个, 全年引进项目200个以上,
  开复工项目1000个以上; a year 计划完成率 ≥ 100 %; and targets for the fourth quarter (收官), so the
  current quarter has something to show. The count targets are split across the 7 divisions by
  their share of the city's projects (largest remainders, so the parts add up to the whole).
- Pledges: the 7 county governments (signed by the 县(市)区委书记, names invented) with their parts
  of the seed's targets, and the 5 city departments with targets of their own — the
  "7位县(市)区委书记和5家市直部门负责人表态发言" of the mobilisation meeting.

Deterministic and idempotent: a target that exists (same metric, period and scope) or a pledge that
exists (same unit and title) is left alone, so a second run creates nothing. Everything is
labelled as demo data and written through the services, each row with its change record.
"""

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

from guatu.core.changelog import record_change, snapshot
from guatu.demo import catalogue as cat
from guatu.org.models import Region, Unit
from guatu.projects.models import BuildType, Project, Stage
from guatu.targets.forecast import forecast_target
from guatu.targets.models import Pledge, Target
from guatu.targets.rollups import refresh_projects
from guatu.targets.selectors import target_for
from guatu.targets.services import pledge_create, target_create, target_split

SEED = "guatu-demo-targets-20220207"
MEETING = (2, 7)  # the mobilisation meeting (全市高质量项目建设年动员大会) was held on 7 February


def _seed_targets(year: int) -> list[tuple[str, str, str, Decimal, str, bool]]:
    """(metric, period, comparator, value, source, split) of the city's targets for the year."""
    return [
        ("started", f"{year}Q1", "ge", Decimal(120), "一季度开工120个", True),
        ("at_capacity", f"{year}Q2", "ge", Decimal(191), "二季度达产191个", True),
        ("signed", f"{year}", "ge", Decimal(200), "全年引进项目200个以上", True),
        ("started_or_resumed", f"{year}", "ge", Decimal(1000), "开复工项目1000个以上", True),
        ("plan_completion_rate", f"{year}", "ge", Decimal(100), "全年完成年度投资计划", False),
    ]


# The fourth quarter (收官): completions and starts of production, sized from the pipeline.
Q4_TARGETS = (("completed", "四季度竣工项目"), ("in_production", "四季度投产项目"))

# Each department's own targets: (metric, share of its year's forecast the target asks for).
DEPARTMENT_TARGETS = {
    cat.FAGAI: (("started_or_resumed", Decimal("0.95")), ("started", Decimal("1.1"))),
    cat.GONGXIN: (("in_production", Decimal("0.9")), ("completed", Decimal("1.2"))),
    cat.SHANGWU: (("signed", Decimal("1.0")),),
    cat.ZIRAN: (("started", Decimal("0.9")), ("start_rate", None)),
    cat.SHENGTAI: (("started_or_resumed", Decimal("1.05")), ("not_started_on_time", None), ("completed", Decimal("0.8"))),
}  # fmt: skip
DEPARTMENT_HEADS = {cat.FAGAI: "主任"}  # the rest are 局长


def build(*, today: dt.date, result) -> None:
    signing_days(today=today, result=result)
    year = today.year
    city = Region.objects.get(code=cat.CITY_CODE)
    counties = list(Region.objects.filter(parent=city).order_by("code"))
    weights = _weights(counties)
    city_targets = []
    for metric, period, comparator, value, source, split in _seed_targets(year):
        target = _ensure(metric, period, comparator, value, source, region=city, result=result)
        if split:
            _split(target, weights, result=result)
        city_targets.append(target)
    q4 = f"{year}Q4"
    for metric, source in Q4_TARGETS:
        value = _sized(metric, q4, city=city, today=today)
        target = _ensure(metric, q4, "ge", value, source, region=city, result=result)
        _split(target, weights, result=result)
    _ensure(
        "plan_completion_rate",
        q4,
        "ge",
        Decimal(100),
        "四季度收官：完成全年投资计划",
        region=city,
        result=result,
    )
    _county_pledges(year=year, counties=counties, result=result)
    _department_pledges(year=year, today=today, result=result)


# ---------------------------------------------------------------- signing days


def signing_days(*, today: dt.date, result) -> None:
    """签约日期 for demo projects at or past 签约 that have none: before the planned start (a new build
    signs 20–200 days ahead, a continuing one 60–300 days), never after today; a project not yet
    started whose start lies ahead signed some day this year."""
    signed = Stage.objects.get(code="signed")
    projects = Project.objects.filter(is_demo=True, signed_on__isnull=True, stage__order__gte=signed.order)
    jan1 = dt.date(today.year, 1, 1)
    for project in projects.order_by("code"):
        rng = random.Random(f"{SEED}-{project.code}")
        start = project.planned_start or today
        if project.build_type == BuildType.CONTINUING:
            day = start - dt.timedelta(days=rng.randint(60, 300))
        elif start > today:
            day = jan1 + dt.timedelta(days=int(rng.random() * max(0, (today - jan1).days)))
        else:
            day = start - dt.timedelta(days=rng.randint(20, 200))
        day = min(day, today, start)
        before = snapshot(project)
        Project.objects.filter(pk=project.pk).update(signed_on=day)
        project.signed_on = day
        refresh_projects([project.pk])  # the update bypasses the rollups' signals
        record_change(actor=None, obj=project, action="update", before=before)
        result.created["signing_days"] += 1


# ---------------------------------------------------------------- targets


def _weights(counties: list[Region]) -> dict[str, int]:
    """Each division's weight: its number of projects (at least one, so none is left out)."""
    return {c.code: max(1, Project.objects.filter(region=c).count()) for c in counties}


def apportion(total: Decimal, weights: dict[str, int]) -> dict[str, Decimal]:
    """Whole parts of `total` in proportion to the weights, adding up exactly (largest remainders)."""
    whole = int(total)
    mass = sum(weights.values())
    exact = {code: Decimal(whole) * w / mass for code, w in weights.items()}
    parts = {code: int(share) for code, share in exact.items()}
    short = whole - sum(parts.values())
    for code in sorted(exact, key=lambda c: (exact[c] - parts[c], weights[c], c), reverse=True)[:short]:
        parts[code] += 1
    return {code: Decimal(n) for code, n in parts.items()}


def _ensure(metric, period, comparator, value, source, *, region=None, unit=None, result, pledge=None):
    existing = target_for(metric=metric, period=period, region=region, unit=unit)
    if existing is not None:
        return existing
    result.created["targets"] += 1
    return target_create(
        actor=None,
        data={"metric": metric, "period": period, "comparator": comparator, "value": value, "region": region,
              "unit": unit, "source": source, "pledge": pledge, "is_demo": True},
    )  # fmt: skip


def _split(target: Target, weights: dict[str, int], *, result) -> None:
    if target.parts.exists():
        return
    parts = target_split(actor=None, target_id=target.pk, parts=apportion(target.value, weights))
    result.created["targets"] += len(parts)


def _sized(metric: str, period: str, *, city: Region, today: dt.date, share=Decimal("1.0")) -> Decimal:
    """A target sized from what the data says is within reach: the forecast times a share, whole."""
    probe = Target(metric=metric, period=period, region=city, comparator="ge", value=Decimal(0))
    return _sized_row(probe, today=today, share=share)


def _sized_row(probe: Target, *, today: dt.date, share=Decimal("1.0")) -> Decimal:
    from guatu.targets.periods import Period

    period = Period.parse(probe.period)
    probe.period_kind, probe.start, probe.end = period.kind, period.start, period.end
    forecast = forecast_target(probe, today=today).forecast or Decimal(0)
    return max(Decimal(1), (forecast * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- pledges


def _signer(rng: random.Random) -> str:
    return f"{rng.choice(cat.SURNAMES)}{rng.choice(cat.GIVEN_NAMES)}"


def _pledged_parts(year: int) -> list[tuple[str, str]]:
    """The parts of the seed's targets a county pledges, most pledged first."""
    return [("started", f"{year}Q1"), ("started_or_resumed", f"{year}"), ("signed", f"{year}")]


def _county_pledges(*, year: int, counties: list[Region], result) -> None:
    signed_on = dt.date(year, *MEETING)
    title = f"{year}年全市高质量项目建设年军令状"
    for index, region in enumerate(counties):
        unit = Unit.objects.filter(kind=Unit.Kind.COUNTY, region=region).first()
        if unit is None or Pledge.objects.filter(unit=unit, title=title).exists():
            continue
        rng = random.Random(f"{SEED}-{region.code}")
        secretary = f"{region.label}委书记"  # 双塔区委书记, 朝阳县委书记, 北票市委书记
        parts = Target.objects.filter(region=region, parent__isnull=False, start__year=year, pledge=None)
        by_key = {(t.metric, t.period): t.pk for t in parts}
        wanted = [by_key[key] for key in _pledged_parts(year) if key in by_key][: 1 + (index + 2) % 3]
        pledge_create(
            actor=None,
            data={"unit": unit, "title": title, "signer": _signer(rng), "signer_title": secretary,
                  "signed_on": signed_on, "is_demo": True,
                  "text": f"{region.label}坚决完成全市分解下达的{year}年项目建设目标任务，完不成任务甘愿接受问责。"},
            target_ids=wanted,
        )  # fmt: skip
        result.created["pledges"] += 1


def _department_pledges(*, year: int, today: dt.date, result) -> None:
    signed_on = dt.date(year, *MEETING)
    title = f"{year}年项目建设服务保障军令状"
    for name, wanted in DEPARTMENT_TARGETS.items():
        unit = Unit.objects.filter(name=name, kind=Unit.Kind.DEPARTMENT).first()
        if unit is None or Pledge.objects.filter(unit=unit, title=title).exists():
            continue
        rng = random.Random(f"{SEED}-{name}")
        ids = []
        for metric, share in wanted:
            if metric == "start_rate":
                value, comparator = Decimal(80), "ge"
            elif metric == "not_started_on_time":
                value, comparator = Decimal(rng.randint(2, 5)), "le"
            else:
                probe = Target(metric=metric, period=str(year), unit=unit, comparator="ge", value=Decimal(0))
                value, comparator = _sized_row(probe, today=today, share=share), "ge"
            source = f"{name}{year}年承诺"
            ids.append(_ensure(metric, str(year), comparator, value, source, unit=unit, result=result).pk)
        pledge_create(
            actor=None,
            data={"unit": unit, "title": title, "signer": _signer(rng),
                  "signer_title": f"{name}{DEPARTMENT_HEADS.get(name, '局长')}", "signed_on": signed_on,
                  "is_demo": True, "text": f"{name}全力做好项目建设要素保障和服务，按期完成承诺目标。"},
            target_ids=ids,
        )  # fmt: skip
        result.created["pledges"] += 1
