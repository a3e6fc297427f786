"""Reads of the progress app; every read starts from restrict()."""

# --- monthly reports

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Count,
    DateField,
    F,
    FilteredRelation,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.core.permissions import can, restrict
from guatu.progress.filters import MonthlyReportFilterSet, ReportSheetFilterSet, WarningFilterSet, parse_month
from guatu.progress.models import (
    MonthlyReport,
    ProjectWarning,
    ReportPhoto,
    ReportStatus,
    WarningLevel,
    WarningRule,
)
from guatu.progress.rules import report_due
from guatu.progress.services import EDITABLE, REPORTED, month_start, shift_month
from guatu.projects.models import BuildType, MilestoneKind, Project, Stage

DEFAULT_DUE_DAY = 5


def with_cumulative(queryset: QuerySet[MonthlyReport]) -> QuerySet[MonthlyReport]:
    """Each report with `cumulative_investment`: the running total of investment_done over its
    project's reports in month order (a window Sum; one query on SQLite and PostgreSQL).

    The total only sees the rows the query keeps, so narrow it by project (scope, region, project)
    only; pick months or statuses with filter_rows()."""
    return queryset.annotate(
        cumulative_investment=Window(
            Sum("investment_done"), partition_by=[F("project_id")], order_by=F("month").asc()
        )
    )


_LOOKUPS = frozenset({"exact", "in", "gt", "gte", "lt", "lte", "isnull"})


def filter_rows(queryset: QuerySet[MonthlyReport], **lookups) -> QuerySet[MonthlyReport]:
    """Filter on row values after the running total is taken.

    A plain filter on month or status would cut the earlier months out of the total. Here each value
    is re-read through a one-row window, and Django applies filters on window expressions to the
    finished rows (QUALIFY, as a wrapping query), so the total stays whole."""
    for key, value in lookups.items():
        path, _sep, last = key.rpartition("__")
        path, lookup = (path, last) if last in _LOOKUPS and path else (key, "exact")
        alias = "row_" + path.replace("__", "_")
        queryset = queryset.annotate(**{alias: Window(Min(path), partition_by=[F("pk")])})
        queryset = queryset.filter(**{f"{alias}__{lookup}": value})
    return queryset


def report_queryset(*, user, action: str = "view") -> QuerySet[MonthlyReport]:
    qs = restrict(MonthlyReport.objects, user, action)
    return with_cumulative(qs).select_related("project", "region", "status", "approver")


def report_rows_queryset(*, user, action: str = "view") -> QuerySet[MonthlyReport]:
    """Reports for a list, each with `cumulative_investment` summed over its own project's months
    up to its own (a correlated sum over the (project, month) index), not by a window over every
    report in scope: a window makes each page sum the whole table before it can pick 50 rows, while
    this sum is taken for the rows the page returns only. The figures are with_cumulative()'s, and
    filters on month or status can be plain filters here."""
    scope = restrict(MonthlyReport.objects, user, action)
    earlier = (
        scope.filter(project_id=OuterRef("project_id"), month__lte=OuterRef("month"))
        .order_by()
        .values("project_id")
        .annotate(total=Sum("investment_done"))
        .values("total")
    )
    # The model's order (latest month, then the project's own order: newest first) spelled on the
    # report's own columns, so that the keys of a page come from the (month, project, id) index
    # without joining the project.
    return (
        scope.annotate(
            cumulative_investment=Subquery(
                earlier, output_field=MonthlyReport._meta.get_field("investment_done")
            )
        )
        .select_related("project", "region", "status", "approver")
        .order_by("-month", "-project_id", "-id")
    )


def report_list(*, user, params: Mapping[str, str]) -> QuerySet[MonthlyReport]:
    filterset = MonthlyReportFilterSet(params, queryset=report_queryset(user=user))
    # An invalid filter shows nothing rather than everything.
    return filterset.qs if filterset.is_valid() else MonthlyReport.objects.none()


def report_row(queryset: QuerySet[MonthlyReport], pk) -> MonthlyReport | None:
    """One report of the queryset with its running total. The window is narrowed to that report's
    project first (the total partitions by project), so the cost is one project's reports, not
    every report in the database."""
    project = MonthlyReport.objects.filter(pk=pk).values("project_id")
    return filter_rows(queryset.filter(project_id__in=project), pk=pk).first()


def report_get(*, user, pk: int, action: str = "view") -> MonthlyReport:
    """One report with its cumulative investment; DoesNotExist outside the user's scope."""
    report = report_row(report_queryset(user=user, action=action), pk)
    if report is None:
        raise MonthlyReport.DoesNotExist(_("月报不存在或无权查看"))
    return report


def report_photos(*, user, report: MonthlyReport) -> QuerySet[ReportPhoto]:
    return restrict(ReportPhoto.objects, user, "view").filter(report=report)


def photo_get(*, user, pk: int) -> ReportPhoto:
    return restrict(ReportPhoto.objects, user, "view").get(pk=pk)


def report_at(*, user, project: Project, month: dt.date) -> MonthlyReport | None:
    """The project's report for the month, with its cumulative investment (None if there is none)."""
    qs = report_queryset(user=user).filter(project=project, month__lte=month)
    return filter_rows(qs, month=month).first()


def report_before(*, user, project: Project, month: dt.date) -> MonthlyReport | None:
    """The project's latest report before the month (usually last month's), with its cumulative."""
    qs = report_queryset(user=user).filter(project=project, month__lt=month).order_by("-month")
    return qs.first()


def project_reports(*, user, project: Project) -> list[MonthlyReport]:
    """All the project's reports, latest month first, each with its cumulative investment."""
    return list(report_queryset(user=user).filter(project=project).order_by("-month"))


def report_addable(*, user, project: Project) -> bool:
    """May the user file reports for this project? The MonthlyReport policy grants "add" where the
    user may change the project, so the project row answers for the report not yet written."""
    return (
        can(user, "add", MonthlyReport)
        and restrict(Project.objects, user, "change").filter(pk=project.pk).exists()
    )


def addable_projects(*, user, projects: list[Project]) -> set[int]:
    """Of these projects, the ids the user may file reports for (one query)."""
    if not projects or not can(user, "add", MonthlyReport):
        return set()
    ids = [p.pk for p in projects]
    return set(restrict(Project.objects, user, "change").filter(pk__in=ids).values_list("pk", flat=True))


def report_project(*, user, pk: int) -> Project:
    """A project whose reports the user may see; DoesNotExist otherwise."""
    if not can(user, "view", MonthlyReport):
        raise Project.DoesNotExist(_("项目不存在或无权查看"))
    return restrict(Project.objects, user, "view").select_related("region", "stage").get(pk=pk)


def report_initial(report: MonthlyReport) -> dict:
    """The report's figures as the form shows them."""
    return {
        "investment_done": report.investment_done,
        "percent_complete": report.percent_complete,
        "physical_progress": report.physical_progress,
        "jobs_on_site": report.jobs_on_site,
        "version": report.version,
    }


def report_permissions(*, user, report: MonthlyReport) -> dict[str, bool]:
    """Which buttons the user gets on this report: edit (the figures) and each workflow step."""
    from guatu.accounts.models import Role
    from guatu.progress.services import TRANSITIONS, WORKFLOW_ACTIONS

    allowed = {
        action: restrict(MonthlyReport.objects, user, action).filter(pk=report.pk).exists()
        for action in {"change", "approve"}
    }
    code = report.status.code
    result = {"edit": allowed["change"] and code in EDITABLE}
    for step, (sources, _target) in TRANSITIONS.items():
        result[step] = allowed[WORKFLOW_ACTIONS[step]] and code in sources
    result["reopen"] = result["reopen"] and (user.role == Role.CITY_ADMIN or report.approver_id == user.pk)
    return result


# ---------------------------------------------------------------- due dates, missing and late reports


def due_day() -> int:
    """The day of the next month a report is due by: WarningRule "report" params["due_day"], default 5."""
    params = WarningRule.objects.filter(code="report").values_list("params", flat=True).first() or {}
    try:
        day = int(params.get("due_day") or DEFAULT_DUE_DAY)
    except (TypeError, ValueError):
        day = DEFAULT_DUE_DAY
    return min(max(day, 1), 28)


def due_date(month: dt.date, day: int | None = None) -> dt.date:
    """The last day the month's report is on time."""
    return report_due(month, day if day is not None else due_day())


def due_end(due: dt.date) -> dt.datetime:
    """The moment a report becomes late: the start of the day after its due date, local time."""
    return timezone.make_aware(dt.datetime.combine(due + dt.timedelta(days=1), dt.time()))


def report_flag(report: MonthlyReport | None, *, due: dt.date, today: dt.date) -> str:
    """missing (past due, not submitted or approved), late (submitted after the due date), on_time,
    or pending (not due yet and not reported)."""
    if report is not None and report.status.code in REPORTED:
        if report.submitted_at and timezone.localdate(report.submitted_at) > due:
            return "late"
        return "on_time"
    return "missing" if today > due else "pending"


def reporting_month(today: dt.date) -> dt.date:
    """The month being reported now: last month (its report falls due early this month)."""
    return shift_month(month_start(today), -1)


def owes_report_q(month: dt.date) -> Q:
    """Projects that owe a report for the month: under way (开工 or later, life not over) and started
    by the end of the month. Needs the `started_on` annotation."""
    started_order = Stage.objects.filter(code="started").values("order")[:1]
    under_way = Q(stage__order__gte=Subquery(started_order), stage__is_closed=False)
    return under_way & (Q(started_on__isnull=True) | Q(started_on__lt=shift_month(month, 1)))


def month_sheet_queryset(*, user, month: dt.date) -> QuerySet[Project]:
    """Projects in the user's scope that owe a report for the month or have one, each annotated with
    its start day (its 开工 milestone's actual date, else its planned start), that report's status
    code and first submission time.

    The month's report and the 开工 milestone are joined (at most one row each: one report per
    project and month, one milestone per project and kind), not looked up by a subquery per project,
    so the whole sheet's counts are one pass over the tables rather than several lookups for each
    project in scope."""
    return (
        restrict(Project.objects, user, "view")
        .annotate(
            sheet_report=FilteredRelation("monthly_reports", condition=Q(monthly_reports__month=month)),
            started_milestone=FilteredRelation(
                "milestones", condition=Q(milestones__kind=MilestoneKind.STARTED)
            ),
        )
        .annotate(
            started_on=Coalesce(
                F("started_milestone__actual_date"), F("planned_start"), output_field=DateField()
            ),
            report_status=F("sheet_report__status__code"),
            report_submitted_at=F("sheet_report__submitted_at"),
        )
        # A report always has a status, so a status says the report is there (and reuses its join,
        # where sheet_report__isnull would join the reports a second time).
        .filter(owes_report_q(month) | Q(report_status__isnull=False))
        .select_related("region", "stage")
        .order_by("region__code", "code")
    )


@dataclass
class SheetRow:
    project: Project
    report: MonthlyReport | None
    flag: str


@dataclass
class MonthSheet:
    month: dt.date
    due: dt.date
    today: dt.date
    filterset: ReportSheetFilterSet

    @property
    def overdue(self) -> bool:
        return self.today > self.due


def month_sheet(
    *, user, params: Mapping[str, str], today: dt.date, regions=None, statuses=None
) -> MonthSheet:
    """The report list page: for a month (default: the month being reported) and the user's scope,
    every project that owes a report, with its report or the lack of one, filtered by region,
    status and missing/late."""
    month = parse_month(params.get("month")) or reporting_month(today)
    due = due_date(month)
    data = params.copy()
    if not data.get("month"):
        data["month"] = f"{month:%Y-%m}"  # the filter shows the month the sheet is for
    filterset = ReportSheetFilterSet(
        data,
        queryset=month_sheet_queryset(user=user, month=month),
        due_end=due_end(due),
        overdue=today > due,
        statuses=statuses,
        regions=regions,
    )
    return MonthSheet(month=month, due=due, today=today, filterset=filterset)


def month_sheet_summary(sheet: MonthSheet) -> dict[str, int]:
    """Counts over the whole filtered sheet (not just one page), in one query."""
    qs = sheet.filterset.qs
    reported = Q(report_status__in=REPORTED)
    late = reported & Q(report_submitted_at__gte=due_end(sheet.due))
    on_time = reported & (Q(report_submitted_at__isnull=True) | Q(report_submitted_at__lt=due_end(sheet.due)))
    not_reported = Q(report_status__isnull=True) | ~reported
    return qs.aggregate(
        total=Count("pk"),
        reported=Count("pk", filter=reported),
        on_time=Count("pk", filter=on_time),
        late=Count("pk", filter=late),
        not_reported=Count("pk", filter=not_reported),
        no_report=Count("pk", filter=Q(report_status__isnull=True)),
    )


def sheet_rows(
    *, user, projects: list[Project], month: dt.date, due: dt.date, today: dt.date
) -> list[SheetRow]:
    """The month's report (with cumulative investment) of each project on a page: one query."""
    qs = report_rows_queryset(user=user).filter(project__in=[p.pk for p in projects], month=month)
    reports = {r.project_id: r for r in qs}
    rows = []
    for project in projects:
        report = reports.get(project.pk)
        rows.append(SheetRow(project=project, report=report, flag=report_flag(report, due=due, today=today)))
    return rows


def month_flags(*, user, month: dt.date, today: dt.date, region=None) -> dict[str, list[Project]]:
    """For a month (and a region, the city meaning all of it): which projects are missing their
    report, which sent it late."""
    params = {"month": f"{month:%Y-%m}"}
    if region is not None:
        params["region"] = region.code
    result: dict[str, list[Project]] = {}
    for flag in ("missing", "late"):
        sheet = month_sheet(user=user, params={**params, "flag": flag}, today=today)
        result[flag] = list(sheet.filterset.qs) if sheet.filterset.is_valid() else []
    return result


# ---------------------------------------------------------------- S-curve


def months_range(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = shift_month(month, 1)
    return months


def scurve_data(*, project: Project, reports: list[MonthlyReport], today: dt.date) -> dict:
    """Planned versus actual cumulative investment by month (万元), from rows already read.

    Planned: the total investment spread evenly over the months from the planned start to the
    planned completion. A continuing project is drawn from this January: it starts from what its
    reports say was done before this year (0 if they say nothing) and spreads the rest. Actual: the
    running total of the reports, carried over months without one, up to the latest report."""
    reports = sorted(reports, key=lambda r: r.month)
    year_start = dt.date(today.year, 1, 1)
    start = month_start(project.planned_start) if project.planned_start else None
    end = month_start(project.planned_completion) if project.planned_completion else None
    base = Decimal(0)
    continuing = project.build_type == BuildType.CONTINUING and start is not None and start < year_start
    if continuing and (end is None or end >= year_start):
        base = sum((r.investment_done for r in reports if r.month < year_start), Decimal(0))
        start = year_start
        reports = [r for r in reports if r.month >= year_start]
    else:
        continuing = False
    edges = [m for m in (start, end) if m] + [r.month for r in reports]
    if not edges:
        return {"months": [], "planned": [], "actual": [], "base": "0", "continuing": continuing}
    months = months_range(min(edges), max(edges))
    planned: list[str | None] = []
    if start and end and end >= start:
        span = len(months_range(start, end))
        remaining = project.total_investment - base
        for month in months:
            if month < start:
                planned.append(None)
                continue
            done = min(len(months_range(start, month)), span)
            planned.append(f"{base + remaining * done / span:.2f}")
    actual: list[str | None] = []
    by_month = {r.month: r.investment_done for r in reports}
    last = reports[-1].month if reports else None
    running = base
    for month in months:
        if last is None or month > last:
            actual.append(None)
            continue
        running += by_month.get(month, Decimal(0))
        actual.append(f"{running:.2f}")
    return {
        "months": [f"{m:%Y-%m}" for m in months],
        "planned": planned,
        "actual": actual,
        "base": f"{base:.2f}",
        "continuing": continuing,
        "total": f"{project.total_investment:.2f}",
    }


def project_scurve(*, user, project: Project, today: dt.date | None = None) -> dict:
    return scurve_data(
        project=project,
        reports=list(report_queryset(user=user).filter(project=project)),
        today=today or timezone.localdate(),
    )


def status_rows() -> list[ReportStatus]:
    return list(ReportStatus.objects.all())


def default_month_for(*, reports: list[MonthlyReport], today: dt.date) -> dt.date:
    """The month a "fill in this month's report" link opens: the month being reported if it has no
    report yet, else the current month."""
    wanted = reporting_month(today)
    if any(r.month == wanted for r in reports):
        return month_start(today)
    return wanted


# --- warnings

WARNING_ORDER = ("-level__order", "region__code", "project__name", "project_id")
# Its first two keys (level, region) take a handful of values: lists page through the lights by
# the count of each (level, region) and sort only the groups a page falls in.
WARNING_GROUPS = 2


def warning_queryset(*, user) -> QuerySet[ProjectWarning]:
    return (
        restrict(ProjectWarning.objects, user, "view")
        .select_related("project", "project__stage", "region", "level")
        .order_by(*WARNING_ORDER)
    )


def warning_filterset(*, user, params: Mapping[str, str]) -> WarningFilterSet:
    return WarningFilterSet(params, queryset=warning_queryset(user=user))


def warning_list(*, user, params: Mapping[str, str]) -> QuerySet[ProjectWarning]:
    filterset = warning_filterset(user=user, params=params)
    return filterset.qs if filterset.is_valid() else ProjectWarning.objects.none()


def warning_level_counts(*, user, params: Mapping[str, str]) -> list[tuple[WarningLevel, int]]:
    """Every level, worst first, with how many lights match the other filters (one query)."""
    others = {key: params.get(key) for key in params if key != "level"}
    rows = warning_list(user=user, params=others).order_by().values("level").annotate(n=Count("pk"))
    counts = {row["level"]: row["n"] for row in rows}
    return [(level, counts.get(level.pk, 0)) for level in warning_level_list(user=user)]


def warning_level_list(*, user) -> QuerySet[WarningLevel]:
    """The levels, worst first."""
    return restrict(WarningLevel.objects, user, "view").order_by("-order")


def warning_rule_list(*, user) -> QuerySet[WarningRule]:
    return restrict(WarningRule.objects, user, "view")


def warning_rules_shown(*, user) -> list[WarningRule]:
    """The rules with `thresholds`: (label, value) of each param as the evaluators read it."""
    from guatu.progress.rules import PARAM_LABELS, PARAMS, number, param

    shown = list(warning_rule_list(user=user))
    for rule in shown:
        rule.thresholds = [
            (PARAM_LABELS.get(name, name), number(Decimal(str(param(rule.code, rule.params, name)))))
            for name in PARAMS.get(rule.code, {})
        ]
    return shown


def project_warning(*, user, project: Project) -> ProjectWarning | None:
    return (
        restrict(ProjectWarning.objects, user, "view").select_related("level").filter(project=project).first()
    )


def attach_reason_rows(*, user, warnings) -> None:
    """Give each light `reason_rows`: (rule name, level, reason) for the page, two queries in all."""
    names = dict(warning_rule_list(user=user).values_list("code", "name"))
    levels = {level.code: level for level in warning_level_list(user=user)}
    for warning in warnings:
        warning.reason_rows = [
            (names.get(r.get("rule"), r.get("rule")), levels.get(r.get("level")), r.get("reason", ""))
            for r in warning.reasons
        ]
