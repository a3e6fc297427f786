"""Reads of the project registry; every read starts from restrict()."""

import datetime as dt
import graphlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.core import workdays
from guatu.core.models import ChangeRecord
from guatu.core.permissions import restrict
from guatu.projects.filters import ProjectFilterSet
from guatu.projects.models import (
    ApprovalKind,
    ApprovalStatus,
    DurationUnit,
    Milestone,
    MilestoneKind,
    Project,
    ProjectApproval,
    ProjectKind,
    StageChange,
)


def project_queryset(*, user, action: str = "view") -> QuerySet[Project]:
    return restrict(Project.objects, user, action).select_related(
        "region", "stage", "chain", "enterprise", "steward"
    )


def project_filterset(*, user, params: Mapping[str, str], action: str = "view") -> ProjectFilterSet:
    return ProjectFilterSet(params, queryset=project_queryset(user=user, action=action))


def project_list(*, user, params: Mapping[str, str], action: str = "view") -> QuerySet[Project]:
    filterset = project_filterset(user=user, params=params, action=action)
    # An invalid filter shows nothing rather than everything.
    return filterset.qs if filterset.is_valid() else Project.objects.none()


def project_get(*, user, pk: int, action: str = "view") -> Project:
    return project_queryset(user=user, action=action).prefetch_related("departments").get(pk=pk)


def project_stage_history(*, user, project: Project) -> QuerySet[StageChange]:
    return (
        restrict(StageChange.objects, user, "view")
        .filter(project=project)
        .select_related("from_stage", "to_stage", "actor")
    )


def project_changes(*, user, project: Project) -> QuerySet[ChangeRecord]:
    ct = ContentType.objects.get_for_model(Project)
    return (
        restrict(ChangeRecord.objects, user, "view")
        .filter(content_type=ct, object_id=str(project.pk))
        .select_related("actor")
        .order_by("-id")
    )


# ---------------------------------------------------------------- 前期手续 and 倒排工期 (backward schedule)

# 主体完工 is placed this share of the way from 开工 to 竣工; 投产 this many days after 竣工
# (industry projects only). Both can be set in Django settings.
MAIN_STRUCTURE_SHARE = 0.7
PRODUCTION_AFTER_DAYS = 30
MILESTONE_ORDER = ("started", "main_structure", "completed", "in_production")


@dataclass
class ScheduleItem:
    """One bar (an approval) or point (a milestone) of a project's backward schedule."""

    code: str
    name: str
    kind: str  # "approval" or "milestone"
    latest_start: dt.date | None
    latest_finish: dt.date | None
    actual_start: dt.date | None = None
    actual_finish: dt.date | None = None
    late: bool = False
    late_days: int = 0
    overridden: bool = False
    override_reason: str = ""
    planned: dt.date | None = None  # a milestone's date as derived, before any override
    depends_on: list[str] = field(default_factory=list)
    status: str = ""
    status_label: str = ""
    duration_label: str = ""

    @property
    def done(self) -> bool:
        return self.actual_finish is not None


def project_approvals(*, user, project: Project, action: str = "view") -> QuerySet[ProjectApproval]:
    return (
        restrict(ProjectApproval.objects, user, action)
        .filter(project=project)
        .select_related("kind", "handling_department")
        .order_by("kind__order", "kind__code")
    )


def project_milestones(*, user, project: Project, action: str = "view") -> dict[str, Milestone]:
    return {m.kind: m for m in restrict(Milestone.objects, user, action).filter(project=project)}


def approval_kind_list(*, user) -> QuerySet[ApprovalKind]:
    return restrict(ApprovalKind.objects, user, "view").prefetch_related("depends_on")


def project_schedule(*, user, project: Project, today: dt.date | None = None) -> list[ScheduleItem]:
    """The project's 倒排工期: every approval that applies with its latest start (submit) and finish
    (approval) dates, walked backwards from the planned start through the dependency graph with the
    statutory time limits, then the construction milestones. Three queries, however many rows."""
    approvals = [
        a for a in project_approvals(user=user, project=project) if a.status != ApprovalStatus.NOT_NEEDED
    ]
    edges = ApprovalKind.depends_on.through.objects.filter(
        from_approvalkind_id__in=[a.kind_id for a in approvals]
    ).values_list("from_approvalkind_id", "to_approvalkind_id")
    milestones = project_milestones(user=user, project=project)
    return build_schedule(
        project=project,
        approvals=approvals,
        edges=list(edges),
        milestones=milestones,
        today=today or timezone.localdate(),
    )


def build_schedule(
    *,
    project: Project,
    approvals: list[ProjectApproval],
    edges: list[tuple[int, int]],
    milestones: Mapping[str, Milestone],
    today: dt.date,
) -> list[ScheduleItem]:
    """The schedule from rows already read (no queries). `edges` are (kind, prerequisite kind) ids;
    a prerequisite not applied to this project is ignored."""
    share = getattr(settings, "SCHEDULE_MAIN_STRUCTURE_SHARE", MAIN_STRUCTURE_SHARE)
    after = getattr(settings, "SCHEDULE_PRODUCTION_AFTER_DAYS", PRODUCTION_AFTER_DAYS)
    approvals = [a for a in approvals if a.status != ApprovalStatus.NOT_NEEDED]  # out of the graph
    by_kind = {a.kind_id: a for a in approvals}
    prerequisites: dict[int, set[int]] = {k: set() for k in by_kind}
    dependents: dict[int, set[int]] = {k: set() for k in by_kind}
    for kind_id, needs in edges:
        if kind_id in by_kind and needs in by_kind:
            prerequisites[kind_id].add(needs)
            dependents[needs].add(kind_id)

    # Milestone dates: derived from the planned dates, an override replacing the derived date.
    def effective(code: str, planned: dt.date | None) -> dt.date | None:
        row = milestones.get(code)
        return row.override_date if row and row.override_date else planned

    planned: dict[str, dt.date | None] = {"started": project.planned_start}
    start = effective("started", project.planned_start)
    planned["completed"] = project.planned_completion
    completion = effective("completed", project.planned_completion)
    planned["main_structure"] = (
        start + dt.timedelta(days=round(share * (completion - start).days)) if start and completion else None
    )
    if project.kind == ProjectKind.INDUSTRY:
        planned["in_production"] = completion + dt.timedelta(days=after) if completion else None

    # Walk backwards: a kind finishes by the latest start of every kind that needs it; a kind that
    # nothing needs finishes by the last working day before 开工. Dates fall on working days.
    finish: dict[int, dt.date | None] = {}
    begin: dict[int, dt.date | None] = {}
    sink = workdays.workday_on_or_before(start - dt.timedelta(days=1)) if start else None
    try:
        order = list(graphlib.TopologicalSorter(dependents).static_order())
    except graphlib.CycleError:
        order = []  # a loop in the kinds' data: show the approvals without dates rather than fail
    for kind_id in order:
        needed_by = [begin[d] for d in dependents[kind_id]]
        if sink is None or None in needed_by:
            finish[kind_id] = begin[kind_id] = None
            continue
        latest = workdays.workday_on_or_before(min(needed_by, default=sink))
        kind = by_kind[kind_id].kind
        if kind.duration_unit == DurationUnit.DAYS:
            first = workdays.workday_on_or_before(latest - dt.timedelta(days=kind.duration))
        else:
            first = workdays.subtract_workdays(latest, kind.duration)
        finish[kind_id], begin[kind_id] = latest, first

    items = []
    status_labels = {value: str(label) for value, label in ApprovalStatus.choices}  # once, not per row
    for approval in approvals:
        kind = approval.kind
        done = approval.approved_on if approval.status == ApprovalStatus.APPROVED else None
        items.append(
            ScheduleItem(
                code=kind.code,
                name=kind.name,
                kind="approval",
                latest_start=begin.get(kind.pk),
                latest_finish=finish.get(kind.pk),
                actual_start=approval.submitted_on,
                actual_finish=done,
                depends_on=sorted(by_kind[k].kind.code for k in prerequisites[kind.pk]),
                status=approval.status,
                status_label=status_labels.get(approval.status, approval.status),
                duration_label=_duration_label(kind),
            )
        )
    sinks = sorted(by_kind[k].kind.code for k, needed in dependents.items() if not needed)
    previous: list[str] = sinks
    labels = dict(MilestoneKind.choices)
    for code in MILESTONE_ORDER:
        if code not in planned:
            continue
        row = milestones.get(code)
        date = effective(code, planned[code])
        actual = row.actual_date if row else None
        if date is None and actual is None:
            continue
        items.append(
            ScheduleItem(
                code=code,
                name=str(labels[code]),
                kind="milestone",
                latest_start=date,
                latest_finish=date,
                actual_start=actual,
                actual_finish=actual,
                overridden=bool(row and row.override_date),
                override_reason=row.override_reason if row and row.override_date else "",
                planned=planned[code],
                depends_on=previous,
                status="done" if actual else "pending",
                status_label=str(_("已完成") if actual else _("未完成")),
            )
        )
        previous = [code]
    for item in items:
        _mark_late(item, today)
    return items


def _duration_label(kind: ApprovalKind) -> str:
    if not kind.duration:
        return str(_("不设时限"))
    label = _("%(n)s个工作日") if kind.duration_unit == DurationUnit.WORKDAYS else _("%(n)s日")
    return str(label % {"n": kind.duration})


def _mark_late(item: ScheduleItem, today: dt.date) -> None:
    """Late: finished after the latest finish, or not finished and today is past it (the latest
    finish day itself is still on time)."""
    if item.latest_finish is None:
        return
    reached = item.actual_finish or today
    days = (reached - item.latest_finish).days
    item.late, item.late_days = days > 0, max(days, 0)
