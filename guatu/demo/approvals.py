"""The demo campaign's 前期手续 and milestones, so every backward schedule has something true to show.

Projects past 前期 got their approvals in time, on plausible dates before their latest ones (a few
needed none, with the reason); 前期 projects show a realistic mix: approved, submitted, late past
their latest dates, one rejected, a couple not needed. Started and finished projects carry their
actual milestone dates, and some milestones were moved, each with its reason.

Deterministic (one random.Random per project code) and idempotent: only rows still as
project_create left them (version 1, not started, no dates) are filled in, and milestones only where
the project has none of that kind, so running the demo again changes nothing. Rows are written in
bulk, each with its own change record (actor: the system).
"""

import datetime as dt
import random
from collections import defaultdict

from django.db.models import Count

from guatu.core import workdays
from guatu.core.changelog import record_change, snapshot
from guatu.demo import catalogue as cat
from guatu.org.models import Unit
from guatu.projects.models import (
    ApprovalKind,
    ApprovalStatus,
    DurationUnit,
    Milestone,
    Project,
    ProjectApproval,
    ProjectKind,
)
from guatu.projects.selectors import build_schedule
from guatu.projects.services import project_approvals_apply

SEED = "guatu-demo-approvals-20220207"
BUILT = frozenset({"started", "under_construction", "completed", "in_production", "at_capacity"})
FINISHED = frozenset({"completed", "in_production", "at_capacity"})
PRODUCING = frozenset({"in_production", "at_capacity"})
DEPARTMENTS = {"发展改革部门": cat.FAGAI, "自然资源部门": cat.ZIRAN, "生态环境部门": cat.SHENGTAI}
DOCUMENT_NO = {
    "filing_record": "朝发改备〔{y}〕{n}号",
    "filing_approve": "朝发改核〔{y}〕{n}号",
    "filing_examine": "朝发改审批〔{y}〕{n}号",
    "land_siting": "用字第211300{y}{n:04d}号",
    "land_planning_permit": "地字第211300{y}{n:04d}号",
    "engineering_planning_permit": "建字第211300{y}{n:04d}号",
    "eia_report": "朝环审〔{y}〕{n}号",
    "eia_form": "朝环表〔{y}〕{n}号",
    "eia_registration": "{y}211300{n:06d}",
    "energy_review": "朝发改能审〔{y}〕{n}号",
    "safety_review": "朝应急审〔{y}〕{n}号",
    "construction_permit": "211300{y}{n:04d}0101",
}
NOT_NEEDED = {
    "energy_review": "年综合能源消费量不满1000吨标准煤且年电力消费量不满500万千瓦时，按规定不单独进行节能审查",
    "safety_review": "不属于矿山、金属冶炼、危险化学品等高危行业建设项目，无需安全条件审查",
}
OVERRIDE_REASONS = {
    "started": ("用地报批手续未完成，开工时间顺延", "征地拆迁尚未完成，开工时间顺延"),
    "main_structure": ("冬季停工期影响，主体完工节点顺延", "设计变更增加地下工程，主体完工顺延"),
    "completed": (
        "冬季停工期影响，竣工节点顺延",
        "主要设备到货推迟，竣工时间顺延",
        "追加二期配套工程，竣工顺延",
    ),
}
FILLED_FIELDS = (
    "kind", "status", "submitted_on", "approved_on", "handling_department", "document_no", "not_needed_reason",
    "version", "updated_at",
)  # fmt: skip


def build(*, today: dt.date, result) -> None:
    projects = list(Project.objects.filter(is_demo=True).select_related("stage").order_by("code"))
    if not projects:
        return
    # Projects made before approvals were applied at creation get theirs now.
    bare = Project.objects.filter(pk__in=[p.pk for p in projects]).annotate(n=Count("approvals")).filter(n=0)
    for pk in bare.values_list("pk", flat=True):
        result.created["approvals"] += len(project_approvals_apply(actor=None, project_id=pk))
    kinds = {k.code: k for k in ApprovalKind.objects.all()}
    edges = list(
        ApprovalKind.depends_on.through.objects.values_list("from_approvalkind_id", "to_approvalkind_id")
    )
    departments = dict(
        Unit.objects.filter(kind=Unit.Kind.DEPARTMENT, name__in=DEPARTMENTS.values()).values_list(
            "name", "pk"
        )
    )
    approvals: dict[int, list[ProjectApproval]] = defaultdict(list)
    for approval in (
        ProjectApproval.objects.filter(project__in=projects)
        .select_related("kind")
        .order_by("kind__order", "kind__code")
    ):
        approvals[approval.project_id].append(approval)
    milestones: dict[int, dict[str, Milestone]] = defaultdict(dict)
    for milestone in Milestone.objects.filter(project__in=projects):
        milestones[milestone.project_id][milestone.kind] = milestone
    plan = _Plan(
        today=today,
        kinds=kinds,
        edges=edges,
        departments={dept: departments.get(name) for dept, name in DEPARTMENTS.items()},
        rejected=ProjectApproval.objects.filter(
            project__is_demo=True, status=ApprovalStatus.REJECTED
        ).exists(),
    )
    changed: list[tuple[ProjectApproval, dict]] = []
    new_milestones: list[Milestone] = []
    for project in projects:
        rng = random.Random(f"{SEED}:{project.code}")
        new_milestones += plan.milestones(project, milestones[project.pk], rng)
        changed += plan.approvals(project, approvals[project.pk], milestones[project.pk], rng)
    if changed:
        # One UPDATE per row: bulk_update's CASE expressions over thousands of rows are slower on SQLite.
        for approval, before in changed:
            approval.save(update_fields=FILLED_FIELDS)
            record_change(actor=None, obj=approval, action="update", before=before)
    if new_milestones:
        Milestone.objects.bulk_create(new_milestones, batch_size=500)
        for milestone in new_milestones:
            record_change(actor=None, obj=milestone, action="create")
    result.created["approvals_filled"] += len(changed)
    result.created["milestones"] += len(new_milestones)


def _slip(u: float, *, early: int, late: int) -> int:
    """Days after the planned date a milestone was reached: mostly on it or up to `early` days
    before, for about one in seven up to `late` days after."""
    if u < 6 / 7:
        return -int(u * 7 / 6 * (early + 1))
    return 1 + int((u - 6 / 7) * 7 * late)


class _Plan:
    def __init__(self, *, today, kinds, edges, departments, rejected: bool):
        self.today = today
        self.kinds = kinds
        self.edges = edges
        self.departments = departments
        self.rejected = rejected  # one rejected approval in the whole demo is enough
        self.serial = 0

    # ------------------------------------------------------------ milestones

    def milestones(
        self, project: Project, existing: dict[str, Milestone], rng: random.Random
    ) -> list[Milestone]:
        """Actual dates for what a built project has reached; a few moved milestones, with reasons."""
        stage = project.stage.code
        start, completion, today = project.planned_start, project.planned_completion, self.today
        draws = [rng.random() for _ in range(8)]  # drawn whatever is created, so each project stays stable
        if not start or not completion:
            return []
        wanted: dict[str, dict] = {}
        main = start + dt.timedelta(days=round(0.7 * (completion - start).days))
        if stage in BUILT:
            # Most started on the day or a little early; about one in seven a few days late.
            actual_start = min(start + dt.timedelta(days=_slip(draws[0], early=5, late=6)), today)
            wanted["started"] = {"actual_date": actual_start}
            if stage in FINISHED or (main < today and draws[1] < 0.8):
                wanted["main_structure"] = {
                    "actual_date": max(
                        actual_start, min(main + dt.timedelta(days=_slip(draws[2], early=20, late=10)), today)
                    )
                }
            elif stage == "under_construction" and draws[3] < 0.12:
                wanted["main_structure"] = self._moved("main_structure", main, draws[4], 20, 90)
            if stage in FINISHED:
                finished = max(
                    wanted["main_structure"]["actual_date"],
                    min(completion + dt.timedelta(days=_slip(draws[5], early=15, late=8)), today),
                )
                wanted["completed"] = {"actual_date": finished}
                if stage in PRODUCING and project.kind == ProjectKind.INDUSTRY:
                    wanted["in_production"] = {
                        "actual_date": min(finished + dt.timedelta(days=10 + int(draws[6] * 30)), today)
                    }
            elif stage == "under_construction" and draws[7] < 0.1:
                wanted["completed"] = self._moved("completed", completion, draws[4], 30, 150)
        elif stage == "preparing" and start < today and draws[7] < 0.06:
            # A late 前期 project whose start was put back: the approvals are chased against the new date.
            wanted["started"] = self._moved("started", max(start, today), draws[4], 20, 75)
        rows = []
        for kind, values in wanted.items():
            if kind in existing:
                continue
            row = Milestone(project=project, kind=kind, **values)
            existing[kind] = row  # the approvals below are scheduled against it
            rows.append(row)
        return rows

    def _moved(self, kind: str, planned: dt.date, u: float, least: int, most: int) -> dict:
        reasons = OVERRIDE_REASONS[kind]
        return {
            "override_date": planned + dt.timedelta(days=least + int(u * (most - least))),
            "override_reason": "演示数据：" + reasons[int(u * 1000) % len(reasons)],
        }

    # ------------------------------------------------------------ approvals

    def approvals(
        self,
        project: Project,
        rows: list[ProjectApproval],
        milestones: dict[str, Milestone],
        rng: random.Random,
    ) -> list[tuple[ProjectApproval, dict]]:
        stage = project.stage.code
        draws = {a.kind.group: [rng.random() for _ in range(6)] for a in rows}
        variant_draw = rng.random()
        fresh = {
            a.pk: snapshot(a)
            for a in rows
            if a.version == 1 and a.status == ApprovalStatus.NOT_STARTED and a.submitted_on is None
        }
        if not fresh or stage == "planning" or not project.planned_start:
            return []  # 谋划: nothing filed before the gates are passed
        for approval in rows:
            if approval.pk in fresh:
                self._variant(project, approval, variant_draw)
        schedule = {
            item.code: item
            for item in build_schedule(
                project=project, approvals=rows, edges=self.edges, milestones=milestones, today=self.today
            )
        }
        outcome: dict[str, dt.date | None] = {}  # kind code → approved on (None: not approved)
        changed = []
        for approval in rows:
            code = approval.kind.code
            item = schedule.get(code)
            if item is None:  # not needed: out of the graph, and no obstacle to what follows
                outcome[code] = self.today
                continue
            needs = [outcome.get(c) for c in item.depends_on]
            ready = all(needs) if needs else True
            after = max(needs) if needs and ready else None
            if approval.pk in fresh:
                self._fill(project, approval, item, draws[approval.kind.group], ready, after, stage)
                if snapshot(approval) != fresh[approval.pk]:
                    approval.version += 1
                    changed.append((approval, fresh[approval.pk]))
            outcome[code] = approval.approved_on if approval.status == ApprovalStatus.APPROVED else None
            if approval.status == ApprovalStatus.NOT_NEEDED:
                outcome[code] = item.latest_start or self.today
        return changed

    def _variant(self, project: Project, approval: ProjectApproval, u: float) -> None:
        """Big industrial projects go through 核准 and a full 环评报告书; small ones only register."""
        group, big = approval.kind.group, project.total_investment >= 50_000
        if group == "eia" and big and u < 0.7:
            approval.kind = self.kinds["eia_report"]
        elif group == "eia" and project.total_investment < 3_000 and u < 0.6:
            approval.kind = self.kinds["eia_registration"]
        elif group == "filing" and project.kind == ProjectKind.INDUSTRY and big and u < 0.5:
            approval.kind = self.kinds["filing_approve"]

    def _fill(self, project, approval, item, u: list[float], ready: bool, after, stage: str) -> None:
        today, kind = self.today, approval.kind
        finish, start = item.latest_finish, item.latest_start
        if kind.code in NOT_NEEDED and u[0] < (0.15 if stage in BUILT else 0.1):
            approval.status, approval.not_needed_reason = ApprovalStatus.NOT_NEEDED, NOT_NEEDED[kind.code]
            return
        if not ready or finish is None:
            return  # its prerequisites are not through yet: nothing can be filed
        if stage in BUILT:
            self._approve(approval, finish - dt.timedelta(days=int(u[1] * 20)), after, u[2])
            return
        if stage == "signed":
            # Signed projects have filed their 立项 at most.
            if kind.group == "filing" and u[1] < 0.6:
                self._approve(approval, min(today, finish) - dt.timedelta(days=int(u[2] * 40)), after, u[3])
            return
        # 前期: against the latest dates as they stand today.
        if finish < today:
            if u[1] < 0.65:
                self._approve(approval, finish - dt.timedelta(days=int(u[2] * 10)), after, u[3])
            elif u[1] < 0.9:
                self._submit(approval, start + dt.timedelta(days=int(u[2] * 20)), after)
            # else: not even filed, and late
        elif start <= today:
            if u[1] < 0.6:
                self._submit(approval, start - dt.timedelta(days=int(u[2] * 10)), after)
            elif u[1] < 0.8:
                self._approve(approval, today - dt.timedelta(days=int(u[2] * 5)), after, u[3])
        elif u[1] < 0.2:
            self._submit(approval, today - dt.timedelta(days=int(u[2] * 20)), after)
        if approval.status == ApprovalStatus.SUBMITTED and not self.rejected and kind.group == "eia":
            # One 环评 sent back: the report must be redone.
            approval.status, self.rejected = ApprovalStatus.REJECTED, True
            approval.document_no = ""

    def _approve(self, approval, day: dt.date, after: dt.date | None, u: float) -> None:
        kind = approval.kind
        approved = workdays.workday_on_or_before(min(day, self.today))
        span = max(int(kind.duration * (0.5 + 0.5 * u)), 0)
        if kind.duration_unit == DurationUnit.DAYS:
            submitted = workdays.workday_on_or_before(approved - dt.timedelta(days=span))
        else:
            submitted = workdays.subtract_workdays(approved, span)
        if after and submitted < after:
            submitted = after
            approved = max(approved, after)
        if approved > self.today:
            return
        approval.status = ApprovalStatus.APPROVED
        approval.submitted_on, approval.approved_on = submitted, approved
        approval.handling_department_id = self.departments.get(kind.department)
        self.serial += 1
        approval.document_no = DOCUMENT_NO.get(kind.code, "〔{y}〕{n}号").format(
            y=approved.year, n=self.serial
        )

    def _submit(self, approval, day: dt.date, after: dt.date | None) -> None:
        submitted = workdays.workday_on_or_before(min(day, self.today))
        if after and submitted < after:
            submitted = after
        if submitted > self.today:
            return
        approval.status, approval.submitted_on = ApprovalStatus.SUBMITTED, submitted
        approval.handling_department_id = self.departments.get(approval.kind.department)
