"""Reads of the problems app; every read starts from restrict()."""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from guatu.accounts.models import BUSINESS_ROLES, Role, User
from guatu.core.permissions import can, restrict
from guatu.problems import services
from guatu.problems.filters import AgencyFilterSet, ProblemFilterSet, VisitFilterSet
from guatu.problems.models import (
    AgencyRequest,
    AgencyStatus,
    ContactKind,
    DeliveryMode,
    Notification,
    NotificationEvent,
    NotificationPreference,
    Problem,
    ProblemAttachment,
    ProblemStep,
    ProblemTransition,
    ProjectContact,
    StewardVisit,
)
from guatu.problems.services import AGENCY_OPEN, SERVICE_GOVERNORS, steward_threshold
from guatu.progress.models import ProjectWarning
from guatu.projects.models import ApprovalStatus, Project, ProjectApproval

# --- problems and the 直通车


def problem_queryset(*, user, action: str = "view") -> QuerySet[Problem]:
    """The problems the user may `action`, each once, with what lists and pages show."""
    return (
        services.problem_scope(user, action)
        .select_related("project", "project__stage", "region", "status", "level", "owner_unit", "raised_by")
        .prefetch_related("supporting_units")
    )


def problem_filterset(*, user, params: Mapping[str, Any], today: dt.date | None = None) -> ProblemFilterSet:
    return ProblemFilterSet(params, queryset=problem_queryset(user=user), today=today)


def problem_list(*, user, params: Mapping[str, Any], today: dt.date | None = None) -> QuerySet[Problem]:
    filterset = problem_filterset(user=user, params=params, today=today)
    # An invalid filter shows nothing rather than everything.
    return filterset.qs if filterset.is_valid() else Problem.objects.none()


def problem_get(*, user, pk: int, action: str = "view") -> Problem:
    return problem_queryset(user=user, action=action).get(pk=pk)


def overdue_days(problem: Problem, today: dt.date) -> int:
    """Days past the due date of a problem not closed; 0 when it is not overdue."""
    if problem.status.is_closed or problem.due_date >= today:
        return 0
    return (today - problem.due_date).days


def problem_steps(*, user, problem: Problem) -> QuerySet[ProblemStep]:
    return (
        restrict(ProblemStep.objects, user, "view")
        .filter(problem=problem)
        .select_related("actor", "from_status", "to_status", "from_level", "to_level", "new_owner_unit")
        .order_by("at", "id")
    )


def step_label(step: ProblemStep, names: Mapping[str, str] | None = None) -> str:
    """The name of a timeline step: the flow's name for a transition, else the step's own."""
    if names is None:
        names = transition_names()
    return str(names.get(step.action) or services.STEP_LABELS.get(step.action) or step.action)


def transition_names() -> dict[str, str]:
    return dict(ProblemTransition.objects.values_list("action", "name"))


def problem_attachments(*, user, problem: Problem) -> QuerySet[ProblemAttachment]:
    return (
        restrict(ProblemAttachment.objects, user, "view").filter(problem=problem).select_related("created_by")
    )


def attachment_get(*, user, pk: int) -> ProblemAttachment:
    return restrict(ProblemAttachment.objects, user, "view").get(pk=pk)


def problem_actions(*, user, problem: Problem) -> list[ProblemTransition]:
    """The flow steps this user may take on the problem now, as the flow table says."""
    kinds = services.actor_kinds(user, problem)
    rows = ProblemTransition.objects.filter(from_status=problem.status).select_related("to_status")
    return [row for row in rows.order_by("to_status__order") if kinds & set(row.actors)]


def can_escalate(*, user, problem: Problem) -> bool:
    """Anyone who sees a problem not closed may take it one rung up, unless it is at the top."""
    if problem.status.is_closed or services.next_level(problem.level) is None:
        return False
    return services.problem_scope(user).filter(pk=problem.pk).exists()


def can_instruct(*, user, problem: Problem) -> bool:
    return (
        getattr(user, "role", None) in INSTRUCTING_ROLES
        and problem.level.code == services.TOP_LEVEL
        and not problem.status.is_closed
        and services.problem_scope(user).filter(pk=problem.pk).exists()
    )


def can_edit(*, user, problem: Problem) -> bool:
    return (
        not problem.status.is_closed and services.problem_scope(user, "change").filter(pk=problem.pk).exists()
    )


def can_attach(*, user, problem: Problem) -> bool:
    return services.problem_scope(user, "change").filter(pk=problem.pk).exists()


INSTRUCTING_ROLES = frozenset({Role.LEADER, Role.CITY_ADMIN})


def may_raise(user) -> bool:
    """May the user raise problems at all? A leader acts on the 直通车 rung only, and a new problem
    never starts there, so leaders instruct rather than raise."""
    return can(user, "add", Problem) and user.role != Role.LEADER


def may_use_direct_line(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in INSTRUCTING_ROLES


@dataclass
class InboxRow:
    """One problem of the 直通车 inbox with its age and its project's context."""

    problem: Problem
    days_since_reported: int
    days_since_escalated: int | None
    overdue_days: int
    light: Any  # the project's ProjectWarning, or None
    last_instruction: ProblemStep | None


def direct_line_queryset(
    *, user, params: Mapping[str, Any] | None = None, today: dt.date | None = None
) -> QuerySet[Problem]:
    """The 直通车's problems: on the top rung, not yet closed, longest waiting first (none for a
    role that does not use it)."""
    today = today or timezone.localdate()
    if not may_use_direct_line(user):
        return Problem.objects.none()
    qs = problem_list(user=user, params=params or {}, today=today).filter(
        level__code=services.TOP_LEVEL, status__is_closed=False
    )
    return qs.order_by("escalated_at", "due_date", "id")


def direct_line_rows(*, problems: list[Problem], today: dt.date | None = None) -> list[InboxRow]:
    """The inbox rows of these problems (a page of them): ages, the project's light and the latest
    instruction, in two queries whatever the number of problems."""
    today = today or timezone.localdate()
    ids = [p.pk for p in problems]
    lights = {
        w.project_id: w
        for w in ProjectWarning.objects.filter(
            project_id__in=[p.project_id for p in problems]
        ).select_related("level")
    }
    instructions: dict[int, ProblemStep] = {}
    for step in (
        ProblemStep.objects.filter(problem_id__in=ids, action="instruct")
        .select_related("actor")
        .order_by("at", "id")
    ):
        instructions[step.problem_id] = step  # the latest wins
    rows = []
    for problem in problems:
        reported = timezone.localdate(problem.created_at)
        escalated = timezone.localdate(problem.escalated_at) if problem.escalated_at else None
        rows.append(
            InboxRow(
                problem=problem,
                days_since_reported=(today - reported).days,
                days_since_escalated=(today - escalated).days if escalated else None,
                overdue_days=overdue_days(problem, today),
                light=lights.get(problem.project_id),
                last_instruction=instructions.get(problem.pk),
            )
        )
    return rows


def project_open_problems(*, user, project) -> QuerySet[Problem]:
    """A project's problems not yet closed, as the project page's card lists them."""
    return (
        problem_queryset(user=user)
        .filter(project=project, status__is_closed=False)
        .order_by("due_date", "id")
    )


def problem_counts(*, user, today: dt.date | None = None) -> dict[str, int]:
    """Open, overdue and 直通车 problems in the user's scope (the list page's summary)."""
    today = today or timezone.localdate()
    open_ = services.problem_scope(user).filter(status__is_closed=False)
    return {
        "open": open_.count(),
        "overdue": open_.filter(due_date__lt=today).count(),
        "direct_line": open_.filter(level__code=services.TOP_LEVEL).count(),
    }


# --- stewards, contacts, visits and agency requests

# Who reads the steward coverage page: the project office and the counties (who assign stewards),
# and the leaders (read only).
COVERAGE_ROLES = frozenset({Role.CITY_ADMIN, Role.COUNTY, Role.LEADER})
LOAD_DAYS = 90  # a steward's load counts the visits of the last 90 days


@dataclass
class StewardCoverage:
    threshold: Decimal
    total: int  # projects at or above the threshold in the user's scope
    uncovered: QuerySet[Project]  # those without a steward, biggest first
    uncovered_count: int
    loads: list  # stewards with projects_served, recent_visits, last_visit

    @property
    def covered(self) -> int:
        return self.total - self.uncovered_count

    @property
    def percent(self) -> int:
        return round(100 * self.covered / self.total) if self.total else 100


def steward_coverage(*, user, today: dt.date | None = None) -> StewardCoverage:
    """Projects of GUATU_STEWARD_THRESHOLD 万元 or more in the user's scope; those without a steward
    first; and each steward's load within the same scope."""
    threshold = steward_threshold()
    big = restrict(Project.objects, user, "view").filter(total_investment__gte=threshold)
    uncovered = (
        big.filter(steward__isnull=True)
        .select_related("region", "stage", "enterprise")
        .order_by("-total_investment", "pk")
    )
    return StewardCoverage(
        threshold=threshold,
        total=big.count(),
        uncovered=uncovered,
        uncovered_count=uncovered.count(),
        loads=list(steward_loads(user=user, today=today)),
    )


def steward_loads(*, user, today: dt.date | None = None) -> QuerySet[User]:
    """Each steward who serves a project in the user's scope (and, for a county, every active
    steward of its division): projects served, visits in the last 90 days, last visit date; all
    counted within the user's scope."""
    today = today or timezone.localdate()
    projects = restrict(Project.objects, user, "view")
    visits = restrict(StewardVisit.objects, user, "view")
    served = (
        projects.filter(steward=OuterRef("pk"))
        .order_by()
        .values("steward")
        .annotate(n=Count("pk"))
        .values("n")
    )
    recent = (
        visits.filter(
            steward=OuterRef("pk"), visited_on__gt=today - dt.timedelta(days=LOAD_DAYS), visited_on__lte=today
        )
        .order_by()
        .values("steward")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last = visits.filter(steward=OuterRef("pk")).order_by("-visited_on").values("visited_on")[:1]
    stewards = User.objects.filter(role=Role.STEWARD).annotate(
        projects_served=Coalesce(Subquery(served, output_field=IntegerField()), 0),
        recent_visits=Coalesce(Subquery(recent, output_field=IntegerField()), 0),
        last_visit=Subquery(last),
    )
    wanted = Q(projects_served__gt=0)
    if user.role == Role.COUNTY and user.region_id:
        wanted |= Q(is_active=True) & (Q(region=user.region_id) | Q(region__parent=user.region_id))
    elif user.role in {Role.CITY_ADMIN, Role.LEADER}:
        wanted |= Q(is_active=True)
    return stewards.filter(wanted).select_related("region").order_by("-projects_served", "username")


def steward_choices() -> QuerySet[User]:
    """Who may be named a project's steward: active accounts of the steward role."""
    return (
        User.objects.filter(role=Role.STEWARD, is_active=True)
        .select_related("region")
        .order_by("region__code", "username")
    )


def project_contacts(*, user, project: Project, action: str = "view") -> QuerySet[ProjectContact]:
    return restrict(ProjectContact.objects, user, action).filter(project=project).select_related("unit")


def contact_get(*, user, pk: int, action: str = "view") -> ProjectContact:
    return restrict(ProjectContact.objects, user, action).select_related("project", "unit").get(pk=pk)


def visit_queryset(*, user, action: str = "view") -> QuerySet[StewardVisit]:
    return restrict(StewardVisit.objects, user, action).select_related("project", "region", "steward")


def visit_filterset(*, user, params: Mapping[str, str]) -> VisitFilterSet:
    qs = (
        visit_queryset(user=user)
        .annotate(problem_count=Count("problems", distinct=True))
        .order_by("-visited_on", "-id")
    )
    return VisitFilterSet(params, queryset=qs)


def visit_get(*, user, pk: int) -> StewardVisit:
    return visit_queryset(user=user).get(pk=pk)


def visit_problems(*, user, visit: StewardVisit) -> QuerySet[Problem]:
    return (
        restrict(Problem.objects, user, "view")
        .filter(source_visit=visit)
        .select_related("status", "level", "owner_unit")
        .order_by("id")
    )


def visit_allowed(*, user, project: Project) -> bool:
    """May the user log a visit to this project (the service has the last word)?"""
    if user.role not in {Role.STEWARD, Role.CITY_ADMIN, Role.COUNTY}:
        return False
    if user.role == Role.STEWARD and project.steward_id != user.pk:
        return False
    if user.role != Role.STEWARD and project.steward_id is None:
        return False
    return restrict(Project.objects, user, "change").filter(pk=project.pk).exists()


def agency_queryset(*, user, action: str = "view") -> QuerySet[AgencyRequest]:
    return restrict(AgencyRequest.objects, user, action).select_related(
        "project", "region", "approval__kind", "agent", "requested_by"
    )


def agency_filterset(*, user, params: Mapping[str, str], today: dt.date | None = None) -> AgencyFilterSet:
    # Open requests first, each group by its service deadline.
    queryset = agency_queryset(user=user).order_by(
        Case(When(status__in=AGENCY_OPEN, then=Value(0)), default=Value(1)), "service_due", "-id"
    )
    return AgencyFilterSet(params, queryset=queryset, user=user, today=today)


def agency_get(*, user, pk: int) -> AgencyRequest:
    return agency_queryset(user=user).get(pk=pk)


def agency_counts(queryset: QuerySet[AgencyRequest], *, today: dt.date | None = None) -> dict[str, int]:
    """Requests by status, plus "overdue" (open and past the service deadline), in one query."""
    today = today or timezone.localdate()
    aggregates = {status: Count("pk", filter=Q(status=status)) for status in AgencyStatus.values}
    aggregates["overdue"] = Count("pk", filter=Q(status__in=AGENCY_OPEN, service_due__lt=today))
    return queryset.order_by().aggregate(**aggregates)


def agency_is_overdue(agency: AgencyRequest, today: dt.date) -> bool:
    return agency.status in AGENCY_OPEN and agency.service_due < today


def agency_actions(*, user, agency: AgencyRequest) -> set[str]:
    """The steps this user may take on this request now (the service has the last word)."""
    actions = set()
    if (
        user.role in SERVICE_GOVERNORS
        and agency.status in {AgencyStatus.REQUESTED, AgencyStatus.ASSIGNED}
        and restrict(Project.objects, user, "change").filter(pk=agency.project_id).exists()
    ):
        actions.add("assign")
    if agency.agent_id == user.pk:
        if agency.status == AgencyStatus.ASSIGNED:
            actions.add("start")
        if agency.status == AgencyStatus.IN_PROGRESS:
            actions.add("close")
    if agency.requested_by_id == user.pk and agency.status in AGENCY_OPEN:
        actions.add("cancel")
    return actions


def agency_requestable(*, user, project: Project) -> bool:
    """May the user ask for agency handling on this project: its enterprise or its steward."""
    if user.role == Role.ENTERPRISE:
        return bool(user.unit_id) and user.unit_id == project.enterprise_id
    if user.role == Role.STEWARD:
        return project.steward_id == user.pk
    return False


def agency_approvals(*, project: Project) -> QuerySet[ProjectApproval]:
    """The project's approvals that may still be handed over: not approved, needed, and without an
    open request."""
    return (
        ProjectApproval.objects.filter(project=project)
        .exclude(status__in=[ApprovalStatus.APPROVED, ApprovalStatus.NOT_NEEDED])
        .exclude(agency_requests__status__in=AGENCY_OPEN)
        .select_related("kind")
        .order_by("kind__order", "kind__code")
    )


def agency_agents() -> QuerySet[User]:
    """Who may be made an agent: active business accounts, stewards first."""
    return (
        User.objects.filter(is_active=True, role__in=BUSINESS_ROLES)
        .annotate(is_steward=Case(When(role=Role.STEWARD, then=Value(0)), default=Value(1)))
        .select_related("region", "unit")
        .order_by("is_steward", "region__code", "username")
    )


def project_service(*, user, project: Project, today: dt.date | None = None) -> dict[str, Any]:
    """The 服务 card of a project page: the steward, the enterprise and department contacts, the
    latest visits and the agency requests, with what the user may do."""
    today = today or timezone.localdate()
    contacts = list(project_contacts(user=user, project=project))
    visits = visit_queryset(user=user).filter(project=project)
    requests = list(
        agency_queryset(user=user)
        .filter(project=project)
        .order_by(Case(When(status__in=AGENCY_OPEN, then=Value(0)), default=Value(1)), "-id")[:10]
    )
    for agency in requests:
        agency.overdue = agency_is_overdue(agency, today)
    can_change = restrict(Project.objects, user, "change").filter(pk=project.pk).exists()
    return {
        "object": project,
        "steward": project.steward,
        "enterprise_contact": next((c for c in contacts if c.kind == ContactKind.ENTERPRISE), None),
        "department_contacts": [c for c in contacts if c.kind == ContactKind.DEPARTMENT],
        "visits": list(visits[:5]),
        "visit_count": visits.count(),
        "agency_requests": requests,
        "needs_steward": project.steward_id is None and project.total_investment >= steward_threshold(),
        "can_contacts": can_change and can(user, "add", ProjectContact),
        "can_visit": visit_allowed(user=user, project=project),
        "can_request": agency_requestable(user=user, project=project),
        "can_assign_steward": can_change and user.role in SERVICE_GOVERNORS,
        "steward_choices": steward_choices() if can_change and user.role in SERVICE_GOVERNORS else [],
    }


# --- notifications


def notifications_for(*, user) -> QuerySet[Notification]:
    """The user's own notifications (no one sees another's, administrators included): unread
    first, then newest first."""
    return restrict(Notification.objects, user, "view").order_by(
        Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()),
        "-created_at",
        "-id",
    )


def notification_modes_for(*, user) -> dict[str, str]:
    """Every event with the user's delivery mode (immediate unless they chose the digest)."""
    chosen = dict(restrict(NotificationPreference.objects, user, "view").values_list("event", "mode"))
    return {event: chosen.get(event, DeliveryMode.IMMEDIATE.value) for event in NotificationEvent.values}
