"""The demo campaign's 招商引资: chain links, 链主, and about 300 leads along the 17 chains.

- Links: 3–6 named links per chain over 上游 / 中游 / 下游; about two in five carry one or two demo
  enterprises of the chain's projects, the rest are gaps (补链) unless a lead lands there.
- 链主: every other chain has one, the owner of the chain's largest demo project.
- Leads: spread over last year and this one, at every stage, about half from 北京市 / 天津市 / 河北省
  (京津冀 溢出) and the rest from elsewhere. Some were dropped with a reason; some are blocked by the
  screening (挤出, 两高, 六小, industry fit failed) and stuck before signing; every lead at 开工 or
  投产 was converted into a registry project (lead_convert), whose stages were then walked to 开工 and
  beyond; most signed leads have funds in place (到位资金).

Everything is written through the services as the system (actor None), so each row has its change
record; the stage dates are set in the past as the plan says (the services refuse a future date).
Deterministic (one seeded plan, the same draws whatever the day) and idempotent: links and leaders
are added only where missing, leads only when no demo lead of that name exists.
"""

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from guatu.accounts.models import User
from guatu.attraction import services
from guatu.attraction.models import (
    ChainLeader,
    ChainLink,
    FundsInPlace,
    Lead,
    LeadStageChange,
    LinkPosition,
    Relocation,
    ScreeningResult,
)
from guatu.core.changelog import record_change, snapshot
from guatu.demo import catalogue as cat
from guatu.org.models import Chain, Region, Unit
from guatu.org.services import unit_get_or_create
from guatu.projects.models import GateStatus, Project, StageChange
from guatu.projects.services import project_change_stage, project_update
from guatu.targets.rollups import refresh_projects

SEED = "guatu-demo-attraction-20220207"
LEADS = 300
UP, MID, DOWN = LinkPosition.UPSTREAM, LinkPosition.MIDSTREAM, LinkPosition.DOWNSTREAM

# 3–6 links of each chain, upstream to downstream.
LINKS: dict[str, tuple[tuple[str, str], ...]] = {
    "钢铁深加工": ((UP, "铁矿采选"), (UP, "废钢回收"), (MID, "特钢冶炼"), (MID, "冷轧板带"), (DOWN, "精密铸锻件"), (DOWN, "钢结构制品")),
    "有色金属精深加工": ((UP, "钼矿采选"), (MID, "钼铁冶炼"), (MID, "铝合金熔铸"), (DOWN, "电解铜箔"), (DOWN, "铝型材")),
    "绿色建材": ((UP, "砂石骨料"), (UP, "尾矿综合利用"), (MID, "新型墙材"), (DOWN, "装配式构件")),
    "农产品精深加工": ((UP, "杂粮种植基地"), (MID, "杂粮加工"), (MID, "果蔬冷链"), (DOWN, "休闲食品"), (DOWN, "农产品电商")),
    "畜牧产品加工": ((UP, "饲料生产"), (UP, "规模化养殖"), (MID, "屠宰分割"), (MID, "乳制品加工"), (DOWN, "肉制品深加工")),
    "汽车及零部件": ((UP, "汽车用钢"), (MID, "底盘零部件"), (MID, "汽车电子"), (DOWN, "专用车改装"), (DOWN, "汽车后市场")),
    "装备制造": ((UP, "铸锻毛坯"), (UP, "轴承齿轮"), (MID, "液压元件"), (MID, "工程机械整机"), (DOWN, "智能运维")),
    "精细化工": ((UP, "基础化工原料"), (MID, "医药中间体"), (MID, "电子化学品"), (DOWN, "涂料助剂")),
    "轻工纺织": ((UP, "纤维材料"), (MID, "纺纱织造"), (DOWN, "服装加工")),
    "新能源装备": ((UP, "叶片材料"), (UP, "塔筒法兰"), (MID, "风电整机"), (MID, "光伏组件装备"), (DOWN, "运维服务")),
    "光伏": ((UP, "工业硅"), (UP, "单晶硅片"), (MID, "电池片"), (MID, "光伏组件"), (DOWN, "光伏电站"), (DOWN, "光伏支架")),
    "风电": ((UP, "主轴轴承"), (MID, "风机整机"), (MID, "齿轮箱"), (DOWN, "风电场开发")),
    "储能与氢能": ((UP, "锂电正极材料"), (UP, "电解水制氢"), (MID, "储能电池"), (MID, "储氢装备"), (DOWN, "储能电站"), (DOWN, "加氢站")),
    "新材料": ((UP, "非金属矿原料"), (MID, "膨润土新材料"), (MID, "碳纤维复合材料"), (DOWN, "新材料应用")),
    "电子信息": ((UP, "电子元器件"), (MID, "半导体封测"), (MID, "智能终端"), (DOWN, "数据中心"), (DOWN, "软件与信息服务")),
    "生物医药": ((UP, "中药材种植"), (MID, "原料药"), (MID, "中药饮片"), (DOWN, "医疗器械"), (DOWN, "医药流通")),
    "文旅康养": ((UP, "景区开发"), (MID, "酒店民宿"), (MID, "康养社区"), (DOWN, "文创产品")),
}  # fmt: skip
LINK_ENTERPRISE_SHARE = 0.4

# Where investors come from: 京津冀 (the spill-over the speech asks for) and elsewhere.
JJJ = ("北京市", "天津市", "河北省")
HOMES = (
    ("北京市", ("北京",), 18),
    ("天津市", ("天津",), 12),
    ("河北省", ("唐山", "承德", "秦皇岛", "石家庄", "廊坊"), 14),
    ("辽宁省", ("沈阳", "大连", "锦州"), 16),
    ("上海市", ("上海",), 6),
    ("江苏省", ("苏州", "无锡", "南京"), 8),
    ("浙江省", ("杭州", "宁波"), 6),
    ("广东省", ("深圳", "广州"), 6),
    ("山东省", ("青岛", "济南"), 6),
    ("内蒙古自治区", ("赤峰", "通辽"), 5),
    ("吉林省", ("长春",), 3),
)
BRANDS = (
    "华睿", "鼎新", "恒源", "中晟", "博远", "嘉禾", "泰和", "宏达", "金港", "瀚海", "正泽", "润安", "信诚",
    "元启", "远航", "国昇", "联创", "弘毅", "德润", "北辰", "青云", "天泽", "锦程", "盛世",
)  # fmt: skip
SUFFIXES = ("有限公司", "股份有限公司", "集团有限公司", "科技有限公司")

# How many leads end at each stage (about 300 in all), and the days each step takes.
STAGE_PLAN = (
    ("clue", 58), ("negotiating", 52), ("framework", 44), ("signed", 40), ("registered", 36),
    ("started", 40), ("in_production", 30),
)  # fmt: skip
STEP_DAYS = ((7, 60), (15, 90), (10, 60), (10, 60), (20, 120), (120, 360))  # clue→negotiating … started→投产
TAIL_DAYS = (0, 150)  # from the last stage entered to today
DROP_SHARE = 0.14  # of the leads before 开工
DROP_REASONS = (
    "投资方资金链紧张，暂缓投资",
    "企业战略调整，项目转投他地",
    "用地条件不能满足企业要求",
    "企业提出的政策条件超出我市标准",
    "项目环境容量不足，企业放弃",
    "投资方股权变动，项目终止",
)
# Blocked by screening: the failure, what the lead carries, and the reason if it was then dropped.
BLOCKS = (
    ("squeezed", {"relocation": Relocation.SQUEEZED}, "研判未通过：属于淘汰转移的“挤出”产能"),
    ("two_high", {"is_two_high": True, "energy_tce": Decimal("86000")}, "两高项目，不符合能耗双控要求"),
    ("six_small", {"is_six_small": True}, "属于“六小”项目，严禁引进"),
    ("fit", {"industry_fit": ScreeningResult.FAILED}, "产业契合度低，不符合我市产业链布局"),
)
BLOCKED = 24  # leads stuck at 洽谈 or 框架协议 by a failed screening; a third of them dropped since
ATTRACTING = (("county", 55), ("zone", 8), ("shangwu", 22), ("fagai", 10), ("gongxin", 5))
CITY_LEADER_FROM = Decimal("10000")
STEWARD_FROM = Decimal("5000")


@dataclass
class LeadSpec:
    name: str
    investor: str
    home: str
    chain: str
    link: str
    position: str
    amount: Decimal
    county: cat.County
    attracting: str  # a key of ATTRACTING
    stage: str
    entries: list[tuple[str, dt.date]]  # (stage code, day entered), oldest first
    screening: dict = field(default_factory=dict)
    dropped: dt.date | None = None
    drop_reason: str = ""
    contact: str = ""
    phone: str = ""
    expected_signing: dt.date | None = None
    funds: list[tuple[dt.date, Decimal]] = field(default_factory=list)
    project_stage: str = ""  # for a converted lead: the registry stage it has reached
    project_code: str = ""
    draws: list[float] = field(default_factory=list)  # spare draws for the project's details


def _weighted(rng: random.Random, pairs) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[-1] for p in pairs])[0]


def plan_leads(*, today: dt.date) -> list[LeadSpec]:
    """The whole pipeline, pure (no database). Every lead takes the same number of draws whatever
    `today` is, so its name, investor and stage stay the same from one day to the next."""
    rng = random.Random(SEED)
    window_start = dt.date(today.year - 1, 1, 1)
    window = (today - window_start).days
    stages = [code for code, _n in STAGE_PLAN]
    finals = [code for code, n in STAGE_PLAN for _ in range(n)]
    rng.shuffle(finals)
    blocked = set(rng.sample([i for i, s in enumerate(finals) if s in ("negotiating", "framework")], BLOCKED))
    names: set[str] = set()
    serials: set[str] = set()
    specs = []
    for index, final in enumerate(finals):
        u = [rng.random() for _ in range(48)]
        chain_def = cat.CHAINS[int(u[0] * len(cat.CHAINS))]
        links = LINKS[chain_def.name]
        position, link = links[int(u[1] * len(links))]
        home, cities, _w = HOMES[_pick(u[2], [h[2] for h in HOMES])]
        city = cities[int(u[3] * len(cities))]
        brand = BRANDS[int(u[4] * len(BRANDS))]
        investor = f"{city}{brand}{chain_def.trade}{SUFFIXES[int(u[5] * len(SUFFIXES))]}"
        name = f"{brand}{link}项目"
        for phase in "二三四五六七八九":
            if name not in names:
                break
            name = f"{brand}{link}{phase}期项目"
        n = 10
        while name in names:
            name, n = f"{brand}{link}项目（{n}）", n + 1
        names.add(name)
        amount = Decimal(
            min(300_000, max(500, round(12_000 * math.exp(1.0 * _normal(u[6], u[7])) / 100) * 100))
        )
        county = cat.COUNTIES[_pick(u[8], [c.weight for c in cat.COUNTIES])]
        attracting = ATTRACTING[_pick(u[9], [a[1] for a in ATTRACTING])][0]
        if attracting == "zone" and county.code != cat.ZONE[1]:
            attracting = "county"
        k = stages.index(final)
        steps = [lo + int(u[10 + i] * (hi - lo)) for i, (lo, hi) in enumerate(STEP_DAYS)][:k]
        tail = TAIL_DAYS[0] + int(u[16] * (TAIL_DAYS[1] - TAIL_DAYS[0]))
        span = sum(steps) + tail
        if span >= window:  # squeeze the history into last year and this one
            scale = (window - 1) / span
            steps, tail = [max(1, int(s * scale)) for s in steps], int(tail * scale)
            span = sum(steps) + tail
        first = window_start + dt.timedelta(days=int(u[17] * max(0, window - span)))
        entries, day = [], first
        imported = final in ("registered", "signed") and u[18] < 0.15  # entered at 正式签约 by an import
        for i, code in enumerate(stages[: k + 1]):
            if i:
                day += dt.timedelta(days=steps[i - 1])
            if not imported or i >= stages.index("signed"):
                entries.append((code, day))
        last = entries[-1][1]
        spec = LeadSpec(
            name=name,
            investor=investor,
            home=home,
            chain=chain_def.name,
            link=link,
            position=position,
            amount=amount,
            county=county,
            attracting=attracting,
            stage=final,
            entries=entries,
            contact=f"{cat.SURNAMES[int(u[19] * len(cat.SURNAMES))]}{cat.GIVEN_NAMES[int(u[20] * len(cat.GIVEN_NAMES))]}",
            phone=f"1{3 + int(u[21] * 6)}{int(u[22] * 10**9):09d}",
            draws=u[40:],
        )
        spec.screening = _screening(spec, u=u, blocked=index in blocked)
        if k < stages.index("signed"):
            spec.expected_signing = today + dt.timedelta(days=30 + int(u[23] * 180))
        else:
            spec.expected_signing = next(d for c, d in entries if c == "signed")
        room = (today - last).days
        if index in blocked and u[24] < 0.35 and room > 3:
            spec.dropped = last + dt.timedelta(days=1 + int(u[25] * (room - 1)))
            spec.drop_reason = next(b[2] for b in BLOCKS if b[0] == spec.screening["_block"])
        elif index not in blocked and k < stages.index("started") and u[24] < DROP_SHARE and room > 3:
            spec.dropped = last + dt.timedelta(days=1 + int(u[25] * (room - 1)))
            spec.drop_reason = DROP_REASONS[int(u[26] * len(DROP_REASONS))]
        spec.screening.pop("_block", None)
        if k >= stages.index("signed") and not spec.dropped and u[27] < 0.75:
            spec.funds = _funds(spec, today=today, u=u[28], v=u[29])
        if k >= stages.index("started"):
            spec.project_stage = _project_stage(spec, today=today, u=u[30])
            started = next(d for c, d in entries if c == "started")
            serial = f"{int(u[31] * 900_000) + 100_000:06d}"
            while serial in serials:
                serial = f"{(int(serial) + 7919) % 900_000 + 100_000:06d}"
            serials.add(serial)
            spec.project_code = f"{started.year}-{county.code}-{chain_def.industry}-03-{serial}"
        specs.append(spec)
    return specs


def _pick(u: float, weights) -> int:
    total, acc = sum(weights), 0.0
    for i, w in enumerate(weights):
        acc += w / total
        if u < acc:
            return i
    return len(weights) - 1


def _normal(u: float, v: float) -> float:
    """A standard normal draw from two uniform ones (Box–Muller)."""
    return math.sqrt(-2 * math.log(max(u, 1e-12))) * math.cos(2 * math.pi * v)


def _screening(spec: LeadSpec, *, u: list[float], blocked: bool) -> dict:
    """Screening facts: judged from 洽谈 on; 京津冀 capacity mostly a welcome 溢出; blocked leads carry
    one failure."""
    data: dict = {
        "land_mu": Decimal(20 + int(u[32] * 280)),
        "energy_tce": Decimal(300 + int(u[33] * 18_000)),
    }
    if spec.stage == "clue":
        data["industry_fit"] = ScreeningResult.PENDING
    else:
        data["industry_fit"] = ScreeningResult.PASSED
        data["screening_note"] = "符合我市产业链布局，建议推进"
    if spec.home in JJJ and u[34] < 0.55:
        data["relocation"] = Relocation.SPILLOVER
        data["screening_note"] = "京津冀产业转移溢出项目，技术装备先进，欢迎落地"
    if blocked:
        key, facts, _reason = BLOCKS[int(u[35] * len(BLOCKS))]
        data.update(facts)
        data["_block"] = key
        data["screening_note"] = {
            "squeezed": "转出地淘汰压减的产能，属“挤出”项目，不予签约",
            "two_high": "高耗能高排放，能耗指标无法平衡",
            "six_small": "小规模高污染工艺，属“六小”项目",
            "fit": "与我市主导产业关联度低",
        }[key]
    return data


def _funds(spec: LeadSpec, *, today: dt.date, u: float, v: float) -> list[tuple[dt.date, Decimal]]:
    signed = next(d for c, d in spec.entries if c == "signed")
    share = {"signed": 0.1, "registered": 0.25, "started": 0.45, "in_production": 0.75}[spec.stage]
    total = spec.amount * Decimal(str(round(share * (0.6 + 0.8 * u), 2)))
    parts = 1 + int(v * 3)
    room = max(1, (today - signed).days)
    funds = []
    for i in range(parts):
        day = signed + dt.timedelta(days=min(room, int(room * (i + 1) / (parts + 1)) + 1))
        amount = (total / parts).quantize(Decimal("1"))
        if day <= today and amount > 0:
            funds.append((day, amount))
    return funds


def _project_stage(spec: LeadSpec, *, today: dt.date, u: float) -> str:
    started = next(d for c, d in spec.entries if c == "started")
    if spec.stage == "in_production":
        produced = spec.entries[-1][1]
        return "at_capacity" if u < 0.3 and (today - produced).days > 90 else "in_production"
    if u < 0.2 and (today - started).days > 180:
        return "completed"
    return "under_construction" if u < 0.65 and (today - started).days > 30 else "started"


# ---------------------------------------------------------------- writing


def build(*, today: dt.date, result) -> None:
    chains = {c.name: c for c in Chain.objects.filter(name__in=LINKS)}
    if not chains:
        return
    links = ensure_links(chains=chains, result=result)
    ensure_leaders(chains=chains, result=result)
    ensure_leads(chains=chains, links=links, today=today, result=result)


def ensure_links(*, chains: dict[str, Chain], result) -> dict[tuple[str, str], ChainLink]:
    """Each chain's links; a new link gets, two times in five, one or two of the chain's demo
    enterprises (those owning its projects)."""
    rng = random.Random(f"{SEED}-links")
    owners: dict[int, list[Unit]] = {}
    for chain in chains.values():
        owners[chain.pk] = list(
            Unit.objects.filter(is_demo=True, kind=Unit.Kind.ENTERPRISE, projects__chain=chain)
            .distinct()
            .order_by("name")
        )
    existing = {
        (link.chain_id, link.name): link for link in ChainLink.objects.filter(chain__in=chains.values())
    }
    links = {}
    for chain_name, rows in LINKS.items():
        chain = chains.get(chain_name)
        if chain is None:
            continue
        for order, (position, name) in enumerate(rows, start=1):
            draws = (rng.random(), rng.random(), rng.random())
            link = existing.get((chain.pk, name))
            if link is None:
                link = ChainLink.objects.create(
                    chain=chain, name=name, position=position, order=order, is_demo=True
                )
                pool = owners[chain.pk]
                if pool and draws[0] < LINK_ENTERPRISE_SHARE:
                    picked = {pool[int(draws[1] * len(pool))], pool[int(draws[2] * len(pool))]}
                    link.enterprises.add(*sorted(picked, key=lambda u: u.name)[: 1 + (draws[2] < 0.5)])
                record_change(actor=None, obj=link, action="create")
                result.created["chain_links"] += 1
            links[(chain_name, name)] = link
    return links


def ensure_leaders(*, chains: dict[str, Chain], result) -> None:
    """链主 for every other chain (in catalogue order): the owner of its largest demo project."""
    for index, chain_def in enumerate(cat.CHAINS):
        chain = chains.get(chain_def.name)
        if chain is None or index % 2 or ChainLeader.objects.filter(chain=chain).exists():
            continue
        top = (
            Project.objects.filter(is_demo=True, chain=chain, enterprise__kind=Unit.Kind.ENTERPRISE)
            .order_by("-total_investment", "code")
            .select_related("enterprise")
            .first()
        )
        if top is None:
            continue
        leader = ChainLeader.objects.create(
            chain=chain, unit=top.enterprise, note=f"{chain.name}产业链龙头企业"
        )
        record_change(actor=None, obj=leader, action="create")
        result.created["chain_leaders"] += 1


def ensure_leads(*, chains: dict[str, Chain], links, today: dt.date, result) -> None:
    specs = plan_leads(today=today)
    existing = set(Lead.objects.filter(is_demo=True).values_list("name", flat=True))
    todo = [s for s in specs if s.name not in existing and s.chain in chains]
    if not todo:
        return
    regions = {r.code: r for r in Region.objects.filter(code__in=[c.code for c in cat.COUNTIES])}
    units = {
        u.name: u
        for u in Unit.objects.filter(kind__in=[Unit.Kind.COUNTY, Unit.Kind.ZONE, Unit.Kind.DEPARTMENT])
    }
    stewards = {u.username: u for u in User.objects.filter(username__in=[a.username for a in cat.ACCOUNTS])}
    taken_codes = set(Project.objects.values_list("code", flat=True))
    taken_names = set(Project.objects.values_list("name", flat=True))
    from guatu.demo.generator import map_centres  # the generator calls this module: import late

    centres = map_centres()
    for spec in todo:
        attracting = {
            "county": f"{spec.county.name}人民政府",
            "zone": cat.ZONE[0],
            "shangwu": cat.SHANGWU,
            "fagai": cat.FAGAI,
            "gongxin": cat.GONGXIN,
        }[spec.attracting]
        link = links.get((spec.chain, spec.link))
        data = {
            "name": spec.name,
            "investor": spec.investor,
            "investor_region": spec.home,
            "chain": chains[spec.chain],
            "link": link,
            "position": spec.position,
            "amount": spec.amount,
            "attracting_unit": units[attracting],
            "region": regions[spec.county.code],
            "contact_name": spec.contact,
            "contact_phone": spec.phone,
            "expected_signing": spec.expected_signing,
            "is_demo": True,
            **spec.screening,
        }
        first_code, first_day = spec.entries[0]
        lead = services.lead_create(actor=None, data={**data, "stage": first_code}, on=first_day, today=today)
        for code, day in spec.entries[1:]:
            if code == "started":
                project = _convert(
                    spec, lead=lead, day=day, today=today, taken_codes=taken_codes, taken_names=taken_names
                )
                lead.refresh_from_db()
                _walk_project(
                    spec, project=project, stewards=stewards, centres=centres, today=today, result=result
                )
                result.created["converted_projects"] += 1
                continue
            lead = services.lead_advance(
                actor=None, lead_id=lead.pk, version=lead.version, to_stage=code, on=day, today=today
            )
        for day, amount in spec.funds:
            services.funds_add(actor=None, lead_id=lead.pk, received_on=day, amount=amount, today=today)
            result.created["funds_in_place"] += 1
        if spec.dropped:
            services.lead_drop(
                actor=None,
                lead_id=lead.pk,
                version=None,
                reason=spec.drop_reason,
                on=spec.dropped,
                today=today,
            )
            result.created["dropped_leads"] += 1
        result.created["leads"] += 1


def _convert(
    spec: LeadSpec, *, lead: Lead, day: dt.date, today, taken_codes: set, taken_names: set
) -> Project:
    """开工: the lead becomes a registry project; its investor is a demo enterprise of the county."""
    unit_get_or_create(
        actor=None, name=spec.investor, kind=Unit.Kind.ENTERPRISE, region=lead.region, is_demo=True
    )
    code = spec.project_code
    while code in taken_codes:
        head, serial = code.rsplit("-", 1)
        code = f"{head}-{(int(serial) + 1) % 1_000_000:06d}"
    taken_codes.add(code)
    if spec.name in taken_names:
        raise ValueError(f"演示招商线索“{spec.name}”与已有项目重名")
    taken_names.add(spec.name)
    completion = day + dt.timedelta(days=300 + int(spec.draws[0] * 300))
    return services.lead_convert(
        actor=None,
        lead_id=lead.pk,
        version=lead.version,
        data={
            "code": code,
            "kind": "industry",
            "build_type": "new" if day.year == today.year else "continuing",
            "planned_start": day,
            "planned_completion": completion,
            "on": day,
            "description": f"招商引资项目，投资方{spec.investor}（{spec.home}），总投资{spec.amount.normalize():f}万元。",
        },
        today=today,
    )


PROJECT_WALK = (
    "signed",
    "preparing",
    "started",
    "under_construction",
    "completed",
    "in_production",
    "at_capacity",
)


def _walk_project(spec: LeadSpec, *, project: Project, stewards, centres, today: dt.date, result) -> None:
    """Give the converted project what every demo project has (gates passed, lead leader, departments,
    steward from 5000万元, a point on the map), then walk it stage by stage to where the plan says,
    dating each change when it happened."""
    u = spec.draws
    county = spec.county
    leader = (
        f"{cat.SURNAMES[int(u[1] * len(cat.SURNAMES))]}{cat.GIVEN_NAMES[int(u[2] * len(cat.GIVEN_NAMES))]}"
    )
    centre = centres.get(county.name)
    data = {
        "capacity_gate": GateStatus.PASSED,
        "environment_gate": GateStatus.PASSED,
        "safety_gate": GateStatus.PASSED,
        "lead_leader": cat.CITY_LEADERS[int(u[3] * len(cat.CITY_LEADERS))]
        if spec.amount >= CITY_LEADER_FROM
        else f"{county.short}副{county.head}{leader}",
        "annual_planned_investment": (spec.amount * Decimal("0.4")).quantize(Decimal("1")),
        "departments": list(
            Unit.objects.filter(name__in=(cat.SHANGWU, cat.FAGAI, cat.GONGXIN)).order_by("name")
        ),
    }
    if spec.amount >= STEWARD_FROM:
        username = next(a.username for a in cat.ACCOUNTS if a.role == "steward" and a.county == county.code)
        data["steward"] = stewards.get(username)
    if centre is not None:
        lat = centre[0] + (u[4] * 2 - 1) * county.jitter
        lon = centre[1] + (u[5] * 2 - 1) * county.jitter * 1.3
        data["latitude"], data["longitude"] = Decimal(f"{lat:.6f}"), Decimal(f"{lon:.6f}")
    project = project_update(actor=None, project_id=project.pk, version=project.version, data=data)
    entered = dict(spec.entries)
    started = entered["started"]
    produced = entered.get("in_production")
    completed = min(produced - dt.timedelta(days=20), started + dt.timedelta(days=200)) if produced else None
    if completed is None and spec.project_stage == "completed":
        completed = started + dt.timedelta(days=150 + int(u[6] * max(1, (today - started).days - 150)))
    days = {
        "signed": entered.get("signed", started),
        "preparing": entered.get("registered", started),
        "started": started,
        "under_construction": min(today, started + dt.timedelta(days=20)),
        "completed": min(today, completed) if completed else today,
        "in_production": produced or today,
        "at_capacity": min(today, (produced or today) + dt.timedelta(days=90)),
    }
    target = PROJECT_WALK.index(spec.project_stage)
    for code in PROJECT_WALK[: target + 1]:
        project_change_stage(
            actor=None, project_id=project.pk, to_stage=code, note="演示数据：招商项目按计划推进"
        )
    changes = StageChange.objects.filter(project=project).order_by("id").values_list("pk", "to_stage__code")
    previous = None
    yesterday = today - dt.timedelta(days=1)  # at 10:00 today might still be ahead of now
    for pk, code in changes:
        day = min(days[code], yesterday)
        day = day if previous is None else max(day, previous)
        at = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
        StageChange.objects.filter(pk=pk).update(at=at)
        previous = day
    refresh_projects([project.pk])  # the backdating bypasses the rollups' signals
    result.created["project_stage_changes"] += len(changes)


# ---------------------------------------------------------------- reset and summary


def reset() -> int:
    """Delete the demo's leads (with their stage changes and funds), 链主 of demo chains or demo
    enterprises and demo links, each with its change record. Returns the number of leads deleted.
    Runs before the demo projects, enterprises and chains go: leads and 链主 protect them."""
    count = 0
    for lead in Lead.objects.filter(is_demo=True).order_by("pk"):
        for funds in FundsInPlace.objects.filter(lead=lead):
            record_change(actor=None, obj=funds, action="delete", before=snapshot(funds))
        for change in LeadStageChange.objects.filter(lead=lead):
            record_change(actor=None, obj=change, action="delete", before=snapshot(change))
        record_change(actor=None, obj=lead, action="delete", before=snapshot(lead))
        lead.delete()
        count += 1
    for leader in ChainLeader.objects.filter(chain__is_demo=True) | ChainLeader.objects.filter(
        unit__is_demo=True
    ):
        record_change(actor=None, obj=leader, action="delete", before=snapshot(leader))
        leader.delete()
    for link in ChainLink.objects.filter(is_demo=True):
        record_change(actor=None, obj=link, action="delete", before=snapshot(link))
        link.delete()
    return count
