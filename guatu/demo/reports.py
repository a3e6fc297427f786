"""The demo campaign's monthly reports, so the report pages, the S-curves and the warning lights have
a year of true-looking figures behind them.

Every demo project that has started reports each month from its start up to last month (a project
whose life is over, 达产达效, up to its completion). Its 形象进度 follows its time-based plan, except
for some that fall 15–25 points behind (yellow) or 35–45 behind (red); the investment of a month is
the total investment times the month's gain in 形象进度, give or take a tenth. Older months are
approved, mostly on time; last month's reports are a mix of approved, submitted, draft and returned
(with a reason), a few sent late, and some projects have not reported last month, or the last two.

Deterministic (one random.Random per project code, the same draws whatever is created) and
idempotent: only (project, month) pairs without a report are added, so running it again the same
day changes nothing. Rows go in with bulk_create, each with its own change record (actor: the
system).
"""

import calendar
import datetime as dt
import random
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from guatu.accounts.models import Role, User
from guatu.core.changelog import record_change
from guatu.progress.models import MonthlyReport, ReportStatus
from guatu.progress.rules import plan_percent
from guatu.progress.selectors import due_date, due_day, reporting_month
from guatu.progress.services import earliest_month, month_start, shift_month
from guatu.projects.models import Milestone, MilestoneKind, Project

SEED = "guatu-demo-reports-20220207"
BUILT = ("started", "under_construction", "completed", "in_production", "at_capacity")
BUILDING = frozenset({"started", "under_construction"})
CLOSED = frozenset({"at_capacity"})
# Share of building projects behind their time-based plan, and by how many points at the end.
RED_SHARE, YELLOW_SHARE = 0.12, 0.18
RED_LAG, YELLOW_LAG = (35, 45), (15, 25)
# Share of projects that have not reported last month, and of those the month before as well.
MISSING_ONE, MISSING_TWO = 0.07, 0.05
LATE_SHARE = 0.12  # reports sent after the due day
# Last month's reports by status: the share of each is the gap to the one before.
LAST_MONTH = (("approved", 0.55), ("submitted", 0.88), ("draft", 0.94), ("returned", 1.01))
RETURN_REASONS = (
    "本月完成投资与统计报表不一致，请核实后重报",
    "形象进度描述过于简略，请补充主要实物工程量",
    "缺少现场照片，请补充后重新报送",
    "在岗人数与上月差异较大，请说明原因",
)
PROGRESS_TEXT = (
    (10, ("场地平整、临建搭设完成", "土方开挖、基坑支护施工中")),
    (30, ("桩基施工完成，基础承台施工中", "地下结构施工中")),
    (60, ("主体结构施工中，完成至第{floor}层", "钢结构厂房主体吊装中")),
    (85, ("主体结构封顶，设备基础及安装施工中", "二次结构、机电安装施工中")),
    (99.99, ("装饰装修及室外配套施工中", "设备单机调试、联动试车准备中")),
    (100, ("已竣工，配套设施完善中", "工程完工，进入竣工验收及结算")),
)


def _money(value: float) -> Decimal:
    return Decimal(str(max(value, 0))).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _moment(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _text(percent: Decimal, u: float) -> str:
    for ceiling, options in PROGRESS_TEXT:
        if percent <= ceiling:
            return options[int(u * len(options))].format(floor=3 + int(u * 15))
    return PROGRESS_TEXT[-1][1][0]


def build(*, today: dt.date, result) -> None:
    projects = list(
        Project.objects.filter(is_demo=True, stage__code__in=BUILT, planned_start__isnull=False)
        .select_related("stage")
        .order_by("code")
    )
    if not projects:
        return
    statuses = {s.code: s for s in ReportStatus.objects.all()}
    started = dict(
        Milestone.objects.filter(
            project__in=projects, kind=MilestoneKind.STARTED, actual_date__isnull=False
        ).values_list("project_id", "actual_date")
    )
    completed = dict(
        Milestone.objects.filter(
            project__in=projects, kind=MilestoneKind.COMPLETED, actual_date__isnull=False
        ).values_list("project_id", "actual_date")
    )
    existing: dict[int, set[dt.date]] = {}
    for project_id, month in MonthlyReport.objects.filter(project__in=projects).values_list(
        "project_id", "month"
    ):
        existing.setdefault(project_id, set()).add(month)
    # Each county approves its own projects' reports (柳城经济开发区 sits in 龙城区).
    approvers = {
        u.region_id: u for u in User.objects.filter(role=Role.COUNTY, username__in=_county_usernames())
    }
    city = User.objects.filter(role=Role.CITY_ADMIN, username="city").first()
    plan = _Plan(today=today, statuses=statuses, due_day=due_day())
    rows: list[MonthlyReport] = []
    for project in projects:
        rng = random.Random(f"{SEED}:{project.code}")
        rows += plan.reports(
            project=project,
            rng=rng,
            start=started.get(project.pk) or project.planned_start,
            finished=completed.get(project.pk),
            skip=existing.get(project.pk, set()),
            approver=approvers.get(project.region_id) or city,
        )
    if not rows:
        return
    MonthlyReport.objects.bulk_create(rows, batch_size=500)
    for row in rows:
        record_change(actor=None, obj=row, action="create")
    result.created["reports"] += len(rows)
    counts = Counter(row.status.code for row in rows)
    for code, n in sorted(counts.items()):
        result.created[f"reports_{code}"] += n


def _county_usernames() -> list[str]:
    from guatu.demo import catalogue as cat

    return [a.username for a in cat.ACCOUNTS if a.role == Role.COUNTY]


class _Plan:
    def __init__(self, *, today: dt.date, statuses: dict[str, ReportStatus], due_day: int):
        self.today = today
        self.now = timezone.now()
        self.statuses = statuses
        self.due_day = due_day
        self.last = reporting_month(today)

    def reports(self, *, project, rng, start, finished, skip, approver) -> list[MonthlyReport]:
        draws = [rng.random() for _ in range(8)]  # drawn whatever is created, so each project stays stable
        stage = project.stage.code
        completion = finished or project.planned_completion
        first = max(month_start(start), earliest_month(project))
        last = self.last
        if stage in CLOSED and completion:
            last = min(last, month_start(completion))
        if first > last:
            return []
        missing = 2 if draws[1] < MISSING_TWO else 1 if draws[1] < MISSING_ONE + MISSING_TWO else 0
        if stage in CLOSED:
            missing = 0
        lag = 0.0
        if stage in BUILDING:
            if draws[0] < RED_SHARE:
                lag = RED_LAG[0] + (RED_LAG[1] - RED_LAG[0]) * draws[2]
            elif draws[0] < RED_SHARE + YELLOW_SHARE:
                lag = YELLOW_LAG[0] + (YELLOW_LAG[1] - YELLOW_LAG[0]) * draws[2]
        total = float(project.total_investment)
        months = []
        month = first
        while month <= last:
            months.append(month)
            month = shift_month(month, 1)
        reported = months[: len(months) - missing] if missing else months
        rows, previous = [], Decimal(0)
        span = max((completion - start).days, 1) if completion else 365
        for index, month in enumerate(reported):
            u = [rng.random() for _ in range(6)]
            # Where the plan will be a few weeks on: a project on plan reports a little ahead of the
            # end of its month, so its light is green on the day the demo is built.
            seen = min(_month_end(month) + dt.timedelta(days=25), self.today)
            planned = plan_percent(start, completion, seen) or Decimal(0)
            elapsed = min(max((seen - start).days / span, 0), 1)
            target = float(planned) - lag * elapsed + (u[0] - 0.5) * 2
            if stage not in BUILDING and completion and month >= month_start(completion):
                target = 100
            percent = max(previous, Decimal(str(min(max(target, 0), 100))).quantize(Decimal("0.01")))
            gain = float(percent - previous) / 100
            investment = _money(total * gain * (0.9 + 0.2 * u[1]))
            if gain == 0:
                investment = _money(total * 0.002 * u[1]) if percent >= 100 else Decimal(0)
            row = self._row(
                project,
                month,
                percent,
                investment,
                u,
                months_back=len(reported) - 1 - index,
                approver=approver,
                late_draw=draws[3],
            )
            previous = percent
            if month not in skip:
                rows.append(row)
        return rows

    def _row(self, project, month, percent, investment, u, *, months_back, approver, late_draw):
        due = due_date(month, self.due_day)
        recent = month == self.last
        if recent:
            status = next(code for code, below in LAST_MONTH if u[2] < below)
        elif months_back <= 1 and u[2] < 0.08:
            status = "submitted"
        else:
            status = "approved"
        late = (late_draw < LATE_SHARE and recent) or u[3] < 0.04
        submitted_at = approved_at = None
        if status != "draft":
            day = (
                due + dt.timedelta(days=1 + int(u[4] * 7)) if late else due - dt.timedelta(days=int(u[4] * 6))
            )
            day = min(day, self.today)
            submitted_at = min(_moment(day, 9 + int(u[5] * 8), int(u[5] * 60) % 60), self.now)
            if status == "approved":
                approved_at = min(submitted_at + dt.timedelta(days=1 + int(u[3] * 4), hours=2), self.now)
        jobs = 0 if percent >= 100 else int(15 + float(project.total_investment) ** 0.5 * (0.5 + u[0]) / 3)
        return MonthlyReport(
            project=project,
            region_id=project.region_id,
            month=month,
            investment_done=investment,
            percent_complete=percent,
            physical_progress=_text(percent, u[1]),
            jobs_on_site=jobs,
            status=self.statuses[status],
            submitted_at=submitted_at,
            approved_at=approved_at,
            approver=approver if status == "approved" else None,
            return_reason=RETURN_REASONS[int(u[0] * len(RETURN_REASONS))] if status == "returned" else "",
        )
