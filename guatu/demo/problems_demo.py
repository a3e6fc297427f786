"""The demo campaign's problems (问题清单): about 60 over the demo projects, at every status and on
every rung of the ladder, some overdue, some escalated by hand, some closed after a leader's
instruction (批示) on the 直通车.

Each problem is told as a story through the services, by the demo accounts that would take each
step: the division's account (`shuangta` …) hands out, signs for its own government's problems and
verifies; `fagai` signs for and works the problems of 市发展和改革委员会; `city` verifies on the
department rung and reopens; `leader` instructs and verifies on the 直通车; a steward or the
enterprise (`qiye`) raises some. Steps of units without a demo account are the system's. Then the
steps are dated when they would have happened, so the timeline reads like weeks of work and the
dates agree with the ladder: a problem on the county rung is never more than 7 days overdue, one
that climbed did so 8 days after its due date, as the daily job (`guatu escalate_overdue`) does.

Deterministic (seeded, by project code) and idempotent: the problems are made once, when the demo
has none of its own yet (those raised from stewards' visits are the service demo's), so a second
run creates nothing. Everything is labelled as demo data.
"""

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from guatu.accounts.models import Role, User
from guatu.demo import catalogue as cat
from guatu.org.models import Unit
from guatu.problems.models import EscalationLevel, Problem, ProblemStep
from guatu.problems.services import problem_act, problem_create, problem_escalate, problem_instruct
from guatu.projects.models import Project

SEED = "guatu-demo-problems-20220207"
STEWARD_FROM = Decimal("5000")  # 万元: projects this big have a 项目管家 (the demo plan's rule)
CLIMB = 8  # the ladder's 7 days, plus the one that makes it climb

# (title, description) per category, as counties and departments word them.
TITLES = {
    "land": (
        ("项目用地征收补偿未谈妥", "征收范围内尚有 3 户未签订补偿协议，场地平整无法全面展开。"),
        ("建设用地指标不足，地块未能挂牌", "年度新增建设用地指标已用完，需市级统筹调剂。"),
        ("林地占用手续未办结", "项目红线内涉及林地约 12 亩，使用林地审核同意书尚未取得。"),
        ("地块存在权属争议", "村集体与相邻企业对部分地块权属存在争议，影响不动产登记。"),
        ("耕地占补平衡指标未落实", "补充耕地指标尚未落实，农用地转用报批受阻。"),
    ),
    "funds": (
        ("地方政府专项债券资金未到位", "项目申报的专项债券资金尚未拨付，施工单位已垫资两个月。"),
        ("配套资金缺口较大", "县级配套资金缺口约 3000 万元，影响主体工程推进。"),
        ("企业融资贷款审批进度慢", "企业向银行申请的项目贷款审批已逾一个月，需协调金融机构。"),
        ("中央预算内投资拨付滞后", "中央预算内投资已下达，但县级财政拨付滞后。"),
    ),
    "approval": (
        ("施工许可证办理受阻", "施工图审查意见未回复，施工许可证无法申领。"),
        ("节能审查意见未出具", "节能报告已报送一个月，节能审查意见仍未出具。"),
        ("项目核准前置要件不全", "核准所需的社会稳定风险评估未完成，核准申请被退回。"),
        ("规划设计方案调整未获通过", "企业调整了总平面布置，规划方案需重新审查。"),
        ("消防设计审查未通过", "消防设计审查提出 6 条意见，设计单位修改进度慢。"),
    ),
    "environment": (
        ("环评批复迟迟未下", "环境影响报告书已完成技术评估，批复文件尚未印发。"),
        ("施工扬尘整改未达标", "生态环境部门检查发现扬尘防治不到位，要求限期整改。"),
        ("污水排放口设置未获批准", "入河排污口设置论证报告需补充材料。"),
    ),
    "utilities": (
        ("施工用电未接入", "项目需 10 千伏专线供电，电力接入工程尚未开工。"),
        ("供水管网未铺设到位", "园区供水管网距项目红线约 1.5 公里，尚未铺设。"),
        ("进场道路未修通", "进场道路约 800 米未完成硬化，大型设备无法进场。"),
        ("天然气管线未接通", "燃气管线接驳方案未确定，影响试生产安排。"),
    ),
    "relocation": (
        ("地上附着物补偿标准存在分歧", "部分农户对地上附着物补偿标准有异议，拒绝腾地。"),
        ("3户居民未完成搬迁", "项目范围内 3 户居民安置房源未落实，搬迁停滞。"),
        ("高压线迁改未完成", "一条 66 千伏高压线穿越厂区，迁改方案待电力部门批复。"),
    ),
    "other": (
        ("周边群众阻工", "周边群众以噪声扰民为由多次阻工，需属地做好解释疏导。"),
        ("施工人员短缺", "技术工人缺口约 80 人，影响施工进度。"),
        ("主要建材价格上涨影响进度", "钢材、水泥价格上涨，施工单位放缓进度，需协调调价。"),
    ),
}
# Who owns each category's problems: the division's government, or a department by name.
OWNERS = {
    "land": ("county", cat.ZIRAN),
    "funds": (cat.FAGAI, "county"),
    "approval": (cat.FAGAI, cat.ZIRAN, cat.SHENGTAI),
    "environment": (cat.SHENGTAI,),
    "utilities": ("county", cat.GONGXIN),
    "relocation": ("county",),
    "other": ("county", cat.SHANGWU),
}
REASONS = {
    "escalate": (
        "县级协调多次未果，需市直部门统筹解决",
        "涉及市级审批权限，县里无法解决",
        "企业多次反映，影响项目按期开工",
    ),
    "instruct": (
        "请{owner}牵头，会同相关部门现场办公，限期解决，结果报市政府。",
        "此事拖得太久，请{owner}主要负责同志亲自协调，按新时限办结。",
        "请{owner}专题研究，一周内拿出解决方案。",
    ),
    "resolve": (
        "已召开协调会，相关手续已办结。",
        "已与企业和有关部门对接，问题已解决，附会议纪要。",
        "已完成整改并经现场核查。",
    ),
    "send_back": ("企业反映仍未完全解决，请继续跟进。",),
    "reopen": ("企业再次反映同一问题，重新打开继续办理。",),
}

# The stories: (name, how many, final status, final rung). Each name is told by `_tell`.
STORIES = (
    ("reported", 6),
    ("assigned", 6),
    ("accepted", 5),
    ("in_progress", 7),
    ("resolved", 4),
    ("closed", 8),
    ("reopened", 1),
    ("climbed", 6),  # overdue, climbed to the department rung, in progress
    ("hand_escalated", 3),  # escalated by the county before its due date
    ("department_resolved", 2),
    ("department_closed", 2),
    ("direct_line", 3),  # overdue, climbed twice, waiting on the 直通车
    ("instructed", 3),  # on the 直通车 with a leader's new due date
    ("instructed_new_owner", 2),  # the leader hands it to another unit
    ("closed_by_instruction", 4),  # instructed, resolved, verified by the leader
)


@dataclass
class Cast:
    """The demo accounts the stories use."""

    city: User
    leader: User
    fagai: User
    counties: dict[int, User]  # region id → the division's account
    units: dict[str, Unit]  # departments by name, county governments by region id (as "county:<id>")


class Story:
    """One problem told step by step through the services, each step's day remembered, so the
    timeline can be dated afterwards."""

    def __init__(self, problem: Problem, day: dt.date):
        self.problem = problem
        self.days = [day] * problem.steps.count()

    def step(self, day: dt.date, write, **kwargs) -> None:
        before = self.problem.steps.count()
        self.problem = write(problem_id=self.problem.pk, version=self.problem.version, **kwargs)
        self.days += [day] * (self.problem.steps.count() - before)

    def act(self, day: dt.date, actor, action: str, comment: str = "") -> None:
        self.step(day, problem_act, actor=actor, action=action, comment=comment)

    def escalate(self, day: dt.date, actor, reason: str) -> None:
        self.step(day, problem_escalate, actor=actor, reason=reason)

    def instruct(self, day: dt.date, actor, instruction: str, **kwargs) -> None:
        self.step(day, problem_instruct, actor=actor, instruction=instruction, today=day, **kwargs)

    def date(self) -> None:
        """Put each step, and the problem's raised, escalated and closed times, on its day."""
        steps = list(ProblemStep.objects.filter(problem=self.problem).order_by("id"))
        times = [_at(day, minute=i * 7) for i, day in enumerate(self.days)]
        for step, at in zip(steps, times, strict=True):
            ProblemStep.objects.filter(pk=step.pk).update(at=at)
        escalated = [at for step, at in zip(steps, times, strict=True) if step.action == "escalate"]
        closed = [
            at for step, at in zip(steps, times, strict=True) if step.to_status and step.to_status.is_closed
        ]
        Problem.objects.filter(pk=self.problem.pk).update(
            created_at=times[0],
            updated_at=times[-1],
            escalated_at=escalated[-1] if escalated else None,
            closed_at=closed[-1] if closed and self.problem.status.is_closed else None,
        )


def _at(day: dt.date, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)) + dt.timedelta(minutes=minute))


def build(*, today: dt.date, result) -> None:
    # One stream picks the projects, categories and titles (the same on every run); each problem's
    # own numbers (dates, supporting units, wording) come from a stream of its own.
    rng = random.Random(SEED)
    projects = list(
        Project.objects.filter(
            is_demo=True,
            stage__code__in=("signed", "preparing", "started", "under_construction", "completed"),
        )
        .select_related("region", "steward", "enterprise")
        .order_by("code")
    )
    cast = _cast()
    if not projects or cast is None:
        return
    # Made once: when the demo has its problems, a run adds none, even if projects were added since
    # (which would shift every pick after them).
    if Problem.objects.filter(is_demo=True, source_visit__isnull=True).exists():
        return
    existing: set[tuple[int, str]] = set()
    rng.shuffle(projects)
    picks = iter(projects)
    for story, count in STORIES:
        for n in range(count):
            project = _next_project(picks, story, projects)
            category = rng.choice(sorted(TITLES))
            title, description = rng.choice(TITLES[category])
            owner = _owner(rng, category, project, cast)
            if (project.pk, title) in existing:
                continue
            own = random.Random(f"{SEED}:{story}:{n}:{project.code}")
            plan = _Plan(rng=own, today=today, project=project, category=category, owner=owner, cast=cast)
            _tell(story, plan, title=title, description=description)
            existing.add((project.pk, title))
            result.created["problems"] += 1


def _next_project(picks, story: str, projects: list[Project]) -> Project:
    """The next project; a reported problem is raised by its steward (no governor), so it goes to a
    project big enough to have one (5000万元 or more), whatever became of the steward since."""
    for project in picks:
        if story != "reported" or project.total_investment >= STEWARD_FROM:
            return project
    return projects[0]


def _cast() -> Cast | None:
    users = {u.username: u for u in User.objects.filter(username__in=cat.DEMO_USERNAMES)}
    if not {"city", "leader", "fagai"} <= set(users):
        return None
    counties = {u.region_id: u for u in users.values() if u.role == Role.COUNTY and u.region_id}
    units = {u.name: u for u in Unit.objects.filter(kind=Unit.Kind.DEPARTMENT, name__in=cat.DEPARTMENTS)}
    for unit in Unit.objects.filter(kind=Unit.Kind.COUNTY):
        units[f"county:{unit.region_id}"] = unit
    return Cast(
        city=users["city"], leader=users["leader"], fagai=users["fagai"], counties=counties, units=units
    )


def _owner(rng: random.Random, category: str, project: Project, cast: Cast) -> Unit:
    choice = rng.choice(OWNERS[category])
    if choice == "county":
        return cast.units.get(f"county:{project.region_id}") or cast.units[cat.FAGAI]
    return cast.units[choice]


@dataclass
class _Plan:
    rng: random.Random
    today: dt.date
    project: Project
    category: str
    owner: Unit
    cast: Cast

    def days(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def county(self) -> User:
        return self.cast.counties[self.project.region_id]

    def owner_user(self) -> User | None:
        """Who signs for the owner unit: `fagai` for its department, the division's account for its
        government (or a zone in it); no demo account for the other departments (the system)."""
        if self.owner.name == cat.FAGAI:
            return self.cast.fagai
        if self.owner.kind in {Unit.Kind.COUNTY, Unit.Kind.ZONE}:
            return self.cast.counties.get(self.owner.region_id)
        return None

    def supporting(self) -> list[Unit]:
        others = [u for name, u in sorted(self.cast.units.items()) if not name.startswith("county:")]
        others = [u for u in others if u.pk != self.owner.pk]
        return self.rng.sample(others, k=min(len(others), self.rng.randint(0, 2)))

    def reason(self, kind: str, **names) -> str:
        return self.rng.choice(REASONS[kind]).format(**names)


def _tell(story: str, plan: _Plan, *, title: str, description: str) -> None:
    """Raise the problem and take it through its story, each step on its day."""
    today, days = plan.today, plan.days
    county, owner, city, leader = plan.county(), plan.owner_user(), plan.cast.city, plan.cast.leader
    # When it fell (or falls) due, by story: open problems on the county rung are never more than
    # 7 days overdue; those that climbed did so 8 days after (and again 8 days later).
    window = days(20, 45)
    due = {
        "reported": today + dt.timedelta(days=days(10, 40)),
        "assigned": today + dt.timedelta(days=days(-5, 30)),
        "accepted": today + dt.timedelta(days=days(-3, 25)),
        "in_progress": today + dt.timedelta(days=days(-7, 30)),
        "resolved": today + dt.timedelta(days=days(0, 20)),
        "closed": today - dt.timedelta(days=days(5, 120)),
        "reopened": today + dt.timedelta(days=days(5, 20)),
        "climbed": today - dt.timedelta(days=days(CLIMB, CLIMB + 7)),
        "hand_escalated": today + dt.timedelta(days=days(3, 20)),
        "department_resolved": today - dt.timedelta(days=days(CLIMB + 1, CLIMB + 6)),
        "department_closed": today - dt.timedelta(days=days(CLIMB + 10, 90)),
        "direct_line": today - dt.timedelta(days=days(2 * CLIMB, 2 * CLIMB + 20)),
        "instructed": today - dt.timedelta(days=days(2 * CLIMB + 2, 2 * CLIMB + 25)),
        "instructed_new_owner": today - dt.timedelta(days=days(2 * CLIMB + 2, 2 * CLIMB + 25)),
        "closed_by_instruction": today - dt.timedelta(days=days(2 * CLIMB + 12, 2 * CLIMB + 60)),
    }[story]
    raised = min(due - dt.timedelta(days=window), today - dt.timedelta(days=days(1, 5)))
    raiser = county if plan.rng.random() < 0.6 else None
    if story == "reported":
        raiser = plan.project.steward  # none left: the system raises it, handed out at once
    data = {
        "project": plan.project,
        "title": title,
        "description": description,
        "category": plan.category,
        "owner_unit": plan.owner,
        "supporting_units": plan.supporting(),
        "due_date": due,
        "lead_leader": plan.project.lead_leader,
        "is_demo": True,
    }
    problem = problem_create(actor=raiser, data=data, today=raised)
    tale = Story(problem, raised)
    if story == "reported":
        tale.date()
        return

    def at(n: int) -> dt.date:
        return min(raised + dt.timedelta(days=n), today)

    def climb(on: dt.date) -> None:
        level = tale.problem.level
        upper = EscalationLevel.objects.filter(order__gt=level.order).order_by("order").first()
        late = (on - tale.problem.due_date).days
        tale.escalate(
            on,
            None,
            f"逾期 {late} 天未办结（超过{level.name}的 {level.climb_after_days} 天），自动上升至“{upper.name}”",
        )

    def work(until: str, start: int = 1) -> None:
        """The owner signs, starts and reports back, as far as `until`."""
        steps = [("accept", ""), ("start", ""), ("resolve", plan.reason("resolve"))]
        for n, (action, comment) in enumerate(steps):
            tale.act(at(start + 2 * n), owner, action, comment)
            if action == until:
                return

    if problem.status.code == "reported":
        tale.act(raised, county, "assign")
    if story == "assigned":
        pass
    elif story in {"accepted", "in_progress", "resolved"}:
        work({"accepted": "accept", "in_progress": "start", "resolved": "resolve"}[story])
    elif story in {"closed", "reopened"}:
        work("resolve")
        tale.act(min(due, at(10)), county, "verify", "经核实，问题已解决，同意销号。")
        if story == "reopened":
            tale.act(at(14), city, "reopen", plan.reason("reopen"))
    elif story == "climbed":
        work("start")
        climb(due + dt.timedelta(days=CLIMB))
    elif story == "hand_escalated":
        work("accept")
        tale.escalate(at(4), county, plan.reason("escalate"))
    elif story in {"department_resolved", "department_closed"}:
        work("start")
        climb(due + dt.timedelta(days=CLIMB))
        tale.act(due + dt.timedelta(days=CLIMB + 1), owner, "resolve", plan.reason("resolve"))
        if story == "department_closed":
            tale.act(due + dt.timedelta(days=CLIMB + 3), city, "verify", "市项目办复核，同意销号。")
    else:  # the 直通车
        work("start")
        climb(due + dt.timedelta(days=CLIMB))
        climb(due + dt.timedelta(days=2 * CLIMB))
        on = due + dt.timedelta(days=2 * CLIMB + 1)
        if story in {"instructed", "instructed_new_owner", "closed_by_instruction"}:
            new_owner = None
            if story != "instructed":
                new_owner = (
                    plan.cast.units[cat.FAGAI] if plan.owner.name != cat.FAGAI else plan.cast.units[cat.ZIRAN]
                )
            named = new_owner or tale.problem.owner_unit
            new_due = on + dt.timedelta(days=days(10, 20))
            if story != "closed_by_instruction":
                new_due = max(new_due, today + dt.timedelta(days=days(3, 15)))  # still to be done
            tale.instruct(
                on,
                leader,
                plan.reason("instruct", owner=named.name),
                new_due_date=new_due,
                new_owner_unit=new_owner,
            )
            if story == "closed_by_instruction":
                plan.owner = named
                owner = plan.owner_user()
                if tale.problem.status.code == "assigned":
                    tale.act(on + dt.timedelta(days=1), owner, "accept")
                    tale.act(on + dt.timedelta(days=2), owner, "start")
                tale.act(on + dt.timedelta(days=6), owner, "resolve", plan.reason("resolve"))
                tale.act(on + dt.timedelta(days=8), leader, "verify", "同意销号。")
    tale.date()


def problem_counts() -> dict[str, int]:
    """Demo problems by status ("status:closed"), by rung ("level:direct_line"), overdue, and closed
    after a leader's instruction."""
    today = timezone.localdate()
    demo = Problem.objects.filter(is_demo=True)
    counts: dict[str, int] = {}
    for status, level in demo.values_list("status__code", "level__code"):
        counts[f"status:{status}"] = counts.get(f"status:{status}", 0) + 1
        counts[f"level:{level}"] = counts.get(f"level:{level}", 0) + 1
    counts["overdue"] = demo.filter(status__is_closed=False, due_date__lt=today).count()
    counts["closed_by_instruction"] = (
        demo.filter(status__is_closed=True, steps__action="instruct")
        .filter(Q(steps__action="verify"))
        .distinct()
        .count()
    )
    return counts
