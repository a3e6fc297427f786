"""The demo campaign's service around projects: 项目管家, "1+1+n" contacts, visits and 代办帮办.

- Stewards: the plan gives every project of 5000万元 or more its division's steward; a few are left
  without one here (their steward "moved on"), so the coverage page has something to show.
- Contacts: most of those projects get their enterprise contact and one to three contacts in the
  departments involved.
- Visits: about 80 over the last six months by the demo stewards (`guanjia`, `guanjia_*`), a few of
  them raising problems (through problem_create, linked back to the visit).
- Agency requests: about 15, at every status (requested, assigned, in progress, done, withdrawn),
  some past their service deadline.

Deterministic (seeded per project code) and idempotent: stewards are taken away and visits and
agency requests written only when the demo has none yet; contacts only for projects that have none.
Everything goes through the services as the system (actor None), with its change record, and is
labelled as demo data where the model has the flag.
"""

import datetime as dt
import random

from django.utils import timezone

from guatu.accounts.models import Role, User
from guatu.core.changelog import record_change, snapshot
from guatu.demo import catalogue as cat
from guatu.demo.approvals import DOCUMENT_NO
from guatu.org.models import Unit
from guatu.problems import services
from guatu.problems.models import AgencyRequest, AgencyStatus, Problem, ProjectContact, StewardVisit
from guatu.projects.models import ApprovalStatus, Project, ProjectApproval

SEED = "guatu-demo-service-20220207"
UNSERVED_SHARE = 0.06  # of the projects that must have a steward, left without one (at least 3)
CONTACT_SHARE = 0.8
VISITS = 80
VISIT_DAYS = 182  # the last six months
PROBLEM_VISITS = 8  # visits that raise a problem
# How many agency requests end at each status.
AGENCY_PLAN = (
    (AgencyStatus.REQUESTED, 3),
    (AgencyStatus.ASSIGNED, 3),
    (AgencyStatus.IN_PROGRESS, 4),
    (AgencyStatus.DONE, 3),
    (AgencyStatus.CANCELLED, 2),
)
ENTERPRISE_TITLES = ("项目经理", "总经理", "副总经理", "办公室主任", "工程部部长")
DEPARTMENT_TITLES = ("科长", "副科长", "主任科员", "项目专员")
MET_WITH = ("项目经理{name}", "企业负责人{name}", "{name}及施工单位负责人", "{name}等3人")
FINDINGS = {
    "planning": (
        "项目仍在谋划论证，企业正在补充产能、能耗测算材料。",
        "选址方案待规划部门确认，企业希望加快对接。",
    ),
    "signed": (
        "已签约，企业正在组建项目公司，前期手续清单已交企业。",
        "企业反映土地摘牌时间不确定，影响开工计划。",
    ),
    "preparing": (
        "前期手续办理中，环评报告正在编制。",
        "用地预审与选址意见书已受理，施工图设计同步推进。",
        "企业反映能评审查排队时间较长，希望协调。",
    ),
    "started": ("已开工，场地平整完成，桩基施工中。", "施工用电临时接入，正式用电方案待供电公司批复。"),
    "under_construction": (
        "主体结构施工中，现场人员约120人，进度正常。",
        "钢结构厂房吊装完成过半，设备采购合同已签。",
        "受原材料价格上涨影响，施工单位资金周转偏紧。",
        "进场道路尚未硬化，雨天影响材料运输。",
    ),
    "completed": ("已竣工，正在办理竣工验收备案。", "设备安装调试中，计划下月试生产。"),
    "in_production": ("已投产，产能利用率约六成，企业反映用工紧张。", "生产运行平稳，企业咨询技改扩能政策。"),
    "at_capacity": ("已达产达效，企业计划启动二期项目。",),
}
PROBLEMS = (
    ("施工用电正式接入方案未批复", "utilities", "变电站间隔尚未落实，影响设备调试。"),
    ("项目用地指标不足", "land", "二期用地约30亩尚无指标。"),
    ("进场道路未硬化", "utilities", "雨天材料运输受阻。"),
    ("征迁补偿未完成", "relocation", "地块内仍有3户未签订补偿协议。"),
    ("流动资金贷款审批缓慢", "funds", "企业申请的5000万元流动资金贷款尚未获批。"),
    ("环评批复前置条件待落实", "environment", "污水接管协议尚未签订。"),
    ("施工许可办理材料退回", "approval", "施工图审查意见未闭合。"),
    ("厂区供水管网未接通", "utilities", "市政管网延伸工程尚未立项。"),
)


def build(*, today: dt.date, result) -> None:
    projects = list(
        Project.objects.filter(is_demo=True, total_investment__gte=services.steward_threshold())
        .select_related("region", "enterprise", "steward", "stage")
        .order_by("code")
    )
    if not projects:
        return
    first_time = not StewardVisit.objects.filter(is_demo=True).exists()
    if first_time:
        result.created["stewards_removed"] += _leave_some_unserved(projects)
    result.created["contacts"] += _contacts(projects)
    if first_time:
        result.created["visits"] += _visits(projects, today=today)
    if not AgencyRequest.objects.filter(is_demo=True).exists():
        result.created["agency_requests"] += _agency_requests(projects, today=today)


def _rng(*parts) -> random.Random:
    return random.Random(":".join([SEED, *map(str, parts)]))


def _person(rng: random.Random) -> str:
    return f"{rng.choice(cat.SURNAMES)}{rng.choice(cat.GIVEN_NAMES)}"


def _leave_some_unserved(projects: list[Project]) -> int:
    """Take the steward off a few projects, spread over the divisions (so each county's coverage
    page has something to show), biggest share first."""
    served = [p for p in projects if p.steward_id is not None]
    count = min(len(served), max(3, round(len(served) * UNSERVED_SHARE)))
    rng = _rng("unserved")
    by_region: dict[int, list[Project]] = {}
    for project in served:
        by_region.setdefault(project.region_id, []).append(project)
    pools = [rng.sample(pool, len(pool)) for _, pool in sorted(by_region.items())]
    chosen: list[Project] = []
    while len(chosen) < count:
        for pool in pools:
            if pool and len(chosen) < count:
                chosen.append(pool.pop())
    for project in chosen:
        services.steward_assign(actor=None, project_id=project.pk, steward_id=None, version=project.version)
        project.refresh_from_db()
    return len(chosen)


def _contacts(projects: list[Project]) -> int:
    having = set(
        ProjectContact.objects.filter(project__in=projects).values_list("project_id", flat=True).distinct()
    )
    departments = _departments_by_project(projects)
    added = 0
    for project in projects:
        rng = _rng("contacts", project.code)
        if project.pk in having or rng.random() >= CONTACT_SHARE:
            continue
        services.contact_add(
            actor=None,
            project_id=project.pk,
            data={
                "kind": "enterprise",
                "name": _person(rng),
                "title": rng.choice(ENTERPRISE_TITLES),
                "phone": f"13{rng.randrange(0, 10)}{rng.randrange(10**7, 10**8)}",
            },
        )
        added += 1
        units = departments.get(project.pk, [])
        for unit in rng.sample(units, min(len(units), rng.randint(1, 3))):
            services.contact_add(
                actor=None,
                project_id=project.pk,
                data={
                    "kind": "department",
                    "unit": unit,
                    "name": _person(rng),
                    "title": rng.choice(DEPARTMENT_TITLES),
                    "phone": f"0421-{rng.randrange(2_600_000, 2_999_999)}",
                },
            )
            added += 1
    return added


def _departments_by_project(projects: list[Project]) -> dict[int, list[Unit]]:
    through = Project.departments.through.objects.filter(project__in=projects).select_related("unit")
    result: dict[int, list[Unit]] = {}
    for row in through.order_by("unit__name"):
        if row.unit.kind != Unit.Kind.ENTERPRISE:
            result.setdefault(row.project_id, []).append(row.unit)
    return result


def _visits(projects: list[Project], *, today: dt.date) -> int:
    stewards = set(
        User.objects.filter(username__in=cat.DEMO_USERNAMES, role=Role.STEWARD).values_list("pk", flat=True)
    )
    served = [p for p in Project.objects.filter(pk__in=[p.pk for p in projects]).select_related(
        "region", "stage", "steward"
    ).order_by("code") if p.steward_id in stewards]  # fmt: skip
    if not served:
        return 0
    rng = _rng("visits")
    contacts = dict(
        ProjectContact.objects.filter(project__in=served, kind="enterprise").values_list("project_id", "name")
    )
    governments = {u.region_id: u for u in Unit.objects.filter(kind=Unit.Kind.COUNTY)}
    department_units = list(Unit.objects.filter(kind=Unit.Kind.DEPARTMENT, name__in=cat.DEPARTMENTS))
    raising = set(rng.sample(range(VISITS), PROBLEM_VISITS))
    for n in range(VISITS):
        project = rng.choice(served)
        visited_on = today - dt.timedelta(days=rng.randint(0 if n == 0 else 1, VISIT_DAYS))
        name = contacts.get(project.pk) or _person(rng)
        findings = rng.choice(FINDINGS.get(project.stage.code, FINDINGS["under_construction"]))
        problems = []
        if n in raising:
            title, category, description = PROBLEMS[sorted(raising).index(n) % len(PROBLEMS)]
            owner = governments.get(project.region_id) or rng.choice(department_units)
            supporting = [u for u in rng.sample(department_units, 1) if u.pk != owner.pk]
            problems.append(
                {
                    "title": title,
                    "category": category,
                    "description": description,
                    "owner_unit": owner,
                    "supporting_units": supporting,
                    "due_date": today + dt.timedelta(days=rng.randint(10, 40)),
                    "lead_leader": project.lead_leader,
                }
            )
            findings = f"{findings}{description}"
        visit = services.visit_create(
            actor=None,
            project_id=project.pk,
            visited_on=visited_on,
            met_with=rng.choice(MET_WITH).format(name=name),
            findings=findings,
            problems=problems,
            today=today,
            is_demo=True,
        )
        for problem in Problem.objects.filter(source_visit=visit, is_demo=False):
            before = snapshot(problem)
            problem.is_demo = True
            problem.save(update_fields=["is_demo"])
            record_change(actor=None, obj=problem, action="update", before=before)
    return VISITS


def _agency_requests(projects: list[Project], *, today: dt.date) -> int:
    """Approvals not yet granted, of projects that have a steward, one request each."""
    candidates = list(
        ProjectApproval.objects.filter(project__in=projects, project__steward__isnull=False)
        .exclude(status__in=[ApprovalStatus.APPROVED, ApprovalStatus.NOT_NEEDED])
        .select_related("project__steward", "project__enterprise", "kind")
        .order_by("project__code", "kind__order", "pk")
    )
    if not candidates:
        return 0
    rng = _rng("agency")
    enterprise_users = {
        u.unit_id: u for u in User.objects.filter(role=Role.ENTERPRISE, username__in=cat.DEMO_USERNAMES)
    }
    stewards = list(
        User.objects.filter(role=Role.STEWARD, username__in=cat.DEMO_USERNAMES).order_by("username")
    )
    # The 天锐 projects first (the `qiye` account has requests to see), then a spread of the others.
    own = [a for a in candidates if a.project.enterprise_id in enterprise_users]
    others = [a for a in candidates if a.project.enterprise_id not in enterprise_users]
    wanted = sum(n for _, n in AGENCY_PLAN)
    chosen, used_projects = [], set()
    for approval in own[:4] + rng.sample(others, len(others)):
        if len(chosen) == wanted:
            break
        if approval.project_id in used_projects and len(used_projects) < wanted:
            continue
        used_projects.add(approval.project_id)
        chosen.append(approval)
    made = 0
    plan = [status for status, n in AGENCY_PLAN for _ in range(n)]
    for i, (approval, status) in enumerate(zip(chosen, plan, strict=False)):
        project = approval.project
        requester = enterprise_users.get(project.enterprise_id) or project.steward
        asked = today - dt.timedelta(days=_asked_days_ago(status, i, rng))
        agency = services.agency_request(
            actor=None,
            project_id=project.pk,
            approval_id=approval.pk,
            note=rng.choice(
                (
                    "材料已备齐，请协助对接审批部门。",
                    "企业首次办理，请代办员全程帮办。",
                    "时间紧，请加快办理。",
                )
            ),
            today=asked,
            requester=requester,
            is_demo=True,
        )
        _date(agency, created=asked)
        made += 1
        if status == AgencyStatus.REQUESTED:
            continue
        if status == AgencyStatus.CANCELLED:
            services.agency_cancel(
                actor=None, request_id=agency.pk, version=agency.version, reason="企业自行办理"
            )
            _date(agency, closed=min(today, asked + dt.timedelta(days=3)))
            continue
        agent = _agent_for(project, stewards, rng)
        agency = services.agency_assign(
            actor=None, request_id=agency.pk, agent_id=agent.pk, version=agency.version
        )
        if status == AgencyStatus.ASSIGNED:
            continue
        agency = services.agency_start(actor=None, request_id=agency.pk, version=agency.version)
        if status == AgencyStatus.IN_PROGRESS:
            continue
        closed = min(today, agency.service_due - dt.timedelta(days=rng.randint(0, 5)))
        approval.refresh_from_db()
        closed = max(closed, approval.submitted_on or closed, asked)
        if i % 3 == 2:
            services.agency_close(
                actor=None,
                request_id=agency.pk,
                version=agency.version,
                result="rejected",
                comment="申报材料不符合要求，企业补正后重新申报",
                today=today,
            )
        else:
            pattern = DOCUMENT_NO.get(approval.kind.code, "朝代办〔{y}〕{n}号")
            services.agency_close(
                actor=None,
                request_id=agency.pk,
                version=agency.version,
                result="approved",
                approved_on=closed,
                document_no=pattern.format(y=closed.year, n=rng.randint(10, 99)),
                today=today,
            )
        _date(agency, closed=closed)
    return made


def _asked_days_ago(status: str, i: int, rng: random.Random) -> int:
    """Requests still open are recent, except one of each open status that is past its deadline."""
    if status in {AgencyStatus.DONE, AgencyStatus.CANCELLED}:
        return rng.randint(30, 120)
    if i % 3 == 0:
        return rng.randint(20, 35)  # 10 working days have passed: overdue
    return rng.randint(1, 6)


def _agent_for(project: Project, stewards: list[User], rng: random.Random) -> User:
    # Usually the steward of the project's division; sometimes a neighbour who knows the department.
    local = [s for s in stewards if s.region_id == project.region_id]
    return local[0] if local and rng.random() < 0.7 else rng.choice(stewards)


def _date(agency: AgencyRequest, *, created: dt.date | None = None, closed: dt.date | None = None) -> None:
    """Date the request when it happened (the service stamps the moment of the demo run)."""
    fields = {}
    if created is not None:
        fields["created_at"] = timezone.make_aware(dt.datetime.combine(created, dt.time(9, 30)))
    if closed is not None:
        fields["closed_at"] = timezone.make_aware(dt.datetime.combine(closed, dt.time(16, 0)))
    AgencyRequest.objects.filter(pk=agency.pk).update(**fields)


def reset() -> int:
    """Delete the demo agency requests before their projects: a request protects its approval, so
    a project that has one cannot be deleted while it lasts."""
    count = 0
    for agency in AgencyRequest.objects.filter(is_demo=True).select_related("project", "approval__kind"):
        record_change(actor=None, obj=agency, action="delete", before=snapshot(agency))
        agency.delete()
        count += 1
    return count
