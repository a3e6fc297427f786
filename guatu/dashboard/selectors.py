"""The war-map dashboard's figures: one summary, every number read through restrict().

The query count is fixed: figures are grouped by region in the database, never read per division
or per project (the targets, the ranking and the attraction funnel add their own fixed counts)."""

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, DecimalField, IntegerField, Max, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.accounts.models import Role
from guatu.attraction.selectors import funnel
from guatu.core.permissions import restrict
from guatu.org.models import Chain, Region
from guatu.problems import selectors as problem_selectors
from guatu.progress.models import MonthlyReport, ProjectWarning
from guatu.progress.selectors import attach_reason_rows
from guatu.projects.models import Project, ProjectKind, Stage
from guatu.targets import rollups
from guatu.targets.metrics import REPORTED_STATUSES, percent, with_events
from guatu.targets.models import QuarterPhase
from guatu.targets.periods import MONTH, QUARTER, YEAR, Period
from guatu.targets.scoring import ranking_for
from guatu.targets.selectors import target_queryset, target_rows

TOP = 10
LEVELS = ("red", "yellow", "green")


@dataclass(frozen=True)
class DashboardFilter:
    """The dashboard's filters: the period (year, quarter or month of a year), chain and kind."""

    year: int
    quarter: int | None = None
    month: int | None = None
    chain: Chain | None = None
    kind: str | None = None
    division: Region | None = None  # drilled into one county-level division

    @property
    def period(self) -> Period:
        if self.month:
            return Period(self.year, MONTH, self.month)
        if self.quarter:
            return Period(self.year, QUARTER, self.quarter)
        return Period(self.year, YEAR)

    def as_dict(self) -> dict:
        return {
            "year": self.year,
            "quarter": self.quarter,
            "month": self.month,
            "chain": self.chain.pk if self.chain else None,
            "kind": self.kind,
            "division": self.division.code if self.division else None,
        }

    @classmethod
    def from_params(
        cls, params: Mapping[str, str], *, today: dt.date | None = None, user=None
    ) -> "DashboardFilter":
        """Read the query parameters; a bad value raises ValidationError naming the field. A
        division outside the user's scope is refused like one that does not exist."""
        today = today or timezone.localdate()
        errors: dict[str, str] = {}

        def number(name: str, label: str) -> int | None:
            raw = (params.get(name) or "").strip()
            if not raw:
                return None
            try:
                return int(raw)
            except ValueError:
                errors[name] = _("%(label)s“%(value)s”不是整数") % {"label": label, "value": raw}
                return None

        year = number("year", _("年度"))
        quarter = number("quarter", _("季度"))
        month = number("month", _("月份"))
        year = year if year is not None else today.year
        for name, text in (
            ("year", str(year)),
            ("quarter", f"{year}Q{quarter}"),
            ("month", f"{year}-{month}"),
        ):
            if (
                name in errors
                or (name == "quarter" and quarter is None)
                or (name == "month" and month is None)
            ):
                continue
            try:
                Period.parse(text)
            except ValidationError as exc:
                errors[name] = exc.messages[0]
        if quarter and month and "month" not in errors and (month - 1) // 3 + 1 != quarter:
            errors["month"] = _("月份“%(month)s”不在第 %(quarter)s 季度内") % {
                "month": month,
                "quarter": quarter,
            }

        chain = None
        raw_chain = (params.get("chain") or "").strip()
        if raw_chain:
            chain_id = int(raw_chain) if raw_chain.isdigit() else None
            chain = Chain.objects.filter(pk=chain_id).first() if chain_id else None
            if chain is None:
                errors["chain"] = _("产业链“%(value)s”不存在") % {"value": raw_chain}

        kind = (params.get("kind") or "").strip() or None
        if kind and kind not in ProjectKind.values:
            errors["kind"] = _("项目类型“%(value)s”有误：应为 %(all)s") % {
                "value": kind,
                "all": "、".join(ProjectKind.values),
            }
        division = None
        raw_division = (params.get("division") or "").strip()
        if raw_division:
            visible = divisions_for(user) if user is not None else list(_counties())
            division = next((r for r in visible if r.code == raw_division), None)
            if division is None:
                errors["division"] = _("县(市)区“%(value)s”不存在或不在本账号范围内") % {
                    "value": raw_division
                }
        if errors:
            raise ValidationError(errors)
        return cls(
            year=year, quarter=quarter or None, month=month or None, chain=chain, kind=kind, division=division
        )


def dashboard_projects(*, user, flt: DashboardFilter) -> QuerySet[Project]:
    """The projects the dashboard counts: the user's (restrict()), narrowed by chain and kind."""
    qs = restrict(Project.objects, user, "view")
    if flt.chain is not None:
        qs = qs.filter(chain=flt.chain)
    if flt.kind:
        qs = qs.filter(kind=flt.kind)
    if flt.division is not None:
        qs = qs.filter(Q(region=flt.division) | Q(region__parent=flt.division))
    return qs


def _counties() -> QuerySet[Region]:
    return Region.objects.filter(level=Region.Level.COUNTY).order_by("code")


def divisions_for_city() -> list[Region]:
    """Every county-level division of the city, whoever asks (the map file is chosen by them)."""
    return list(_counties())


def divisions_for(user, division: Region | None = None) -> list[Region]:
    """The county-level divisions the dashboard lists: a county account its own only; drilled
    into one division, that one."""
    counties = _counties()
    if user.role == Role.COUNTY:
        counties = counties.filter(pk=user.region_id)
    if division is not None:
        counties = counties.filter(pk=division.pk)
    return list(counties)


def _blank() -> dict:
    return {
        "projects": 0,
        "total_investment": Decimal(0),
        "annual_plan": Decimal(0),
        "investment_done": Decimal(0),
        "investment_ytd": Decimal(0),
        "planned_starts": 0,
        "started": 0,
        **{level: 0 for level in LEVELS},
    }


def _finish(row: dict, period: Period) -> dict:
    plan = row["annual_plan"] * Decimal(period.last_month) / Decimal(12)
    ytd = row.pop("investment_ytd")
    row["investment_done"] = row["investment_done"].quantize(Decimal("0.01"))
    row["plan_completion"] = percent(ytd, plan)
    row["start_rate"] = percent(Decimal(row["started"]), Decimal(row["planned_starts"]))
    return row


def _by_region(projects: QuerySet[Project], *, user, period: Period, today: dt.date) -> dict[int, dict]:
    """Every figure per project region, four grouped queries in all."""
    rows: dict[int, dict] = defaultdict(_blank)
    money = DecimalField(max_digits=18, decimal_places=2)
    for r in (
        projects.order_by()
        .values("region_id")
        .annotate(
            n=Count("pk"),
            total=Sum("total_investment", output_field=money),
            plan=Sum("annual_planned_investment", output_field=money),
        )
    ):
        row = rows[r["region_id"]]
        row["projects"] = r["n"]
        row["total_investment"] = r["total"] or Decimal(0)
        row["annual_plan"] = r["plan"] or Decimal(0)

    until = min(period.end, today)
    reports = MonthlyReport.objects.filter(
        project__in=projects.values("pk"),
        month__gte=dt.date(period.year, 1, 1),
        month__lte=until,
        status__code__in=REPORTED_STATUSES,
    )
    in_period = Q(month__gte=period.start.replace(day=1))
    for r in (
        reports.order_by()
        .values("project__region_id")
        .annotate(done=Sum("investment_done", filter=in_period), ytd=Sum("investment_done"))
    ):
        row = rows[r["project__region_id"]]
        row["investment_done"] = r["done"] or Decimal(0)
        row["investment_ytd"] = r["ytd"] or Decimal(0)

    # 开工率 as the start_rate metric reads it: planned to start in the period up to today, started.
    planned = projects.filter(planned_start__gte=period.start, planned_start__lte=until)
    started = Q(started_day__isnull=False, started_day__lte=today)
    for r in (
        with_events(planned, "started_day")
        .order_by()
        .values("region_id")
        .annotate(n=Count("pk"), started=Count("pk", filter=started))
    ):
        row = rows[r["region_id"]]
        row["planned_starts"] = r["n"]
        row["started"] = r["started"]

    lights = restrict(ProjectWarning.objects, user, "view").filter(project__in=projects.values("pk"))
    for r in lights.order_by().values("project__region_id", "level__code").annotate(n=Count("pk")):
        if r["level__code"] in LEVELS:
            rows[r["project__region_id"]][r["level__code"]] += r["n"]
    return rows


def rollup_where(*, user, flt: DashboardFilter) -> rollups.Where | None:
    """The rollup rows that hold exactly dashboard_projects(user, flt): the roles that read the war
    map see all projects, their division's or their department's (as restrict() has it); None for
    any other, which is then counted from the projects."""
    if user.role in (Role.CITY_ADMIN, Role.LEADER):
        where = rollups.Where()
    elif user.role == Role.COUNTY and user.region_id:
        where = rollups.Where(regions=rollups.region_and_divisions(user.region))
    elif user.role == Role.DEPARTMENT and user.unit_id:
        where = rollups.Where(unit=user.unit_id)
    else:
        return None
    if flt.division is not None:
        where = where.narrowed(rollups.region_and_divisions(flt.division))
    return replace(where, chain=flt.chain.pk if flt.chain else None, kind=flt.kind or None)


def _by_region_rolled(where: rollups.Where, *, period: Period, today: dt.date) -> dict[int, dict]:
    """_by_region from the rollups: a handful of indexed queries, however many projects."""
    rows: dict[int, dict] = defaultdict(_blank)
    stock = rollups.by_region(
        where, ["projects", "total_investment", "annual_plan", *(f"light:{level}" for level in LEVELS)]
    )
    for region, values in stock.items():
        row = rows[region]
        row["projects"] = values["projects"]
        row["total_investment"] = rollups.amount(values["total_investment"])
        row["annual_plan"] = rollups.amount(values["annual_plan"])
        for level in LEVELS:
            row[level] = values[f"light:{level}"]
    until = min(period.end, today)
    for first, name in ((period.start, "investment_done"), (dt.date(period.year, 1, 1), "investment_ytd")):
        for region, values in rollups.by_region(where, ["investment_done"], first, until).items():
            rows[region][name] = rollups.amount(values["investment_done"])
    if until < period.start:  # a period still to come: nothing planned in it has come due
        return rows
    # 开工率's parts, cut at today as the start_rate metric cuts them.
    planned = rollups.by_region(where, ["planned_start", "planned_started"], period.start, until)
    for region, values in planned.items():
        rows[region]["planned_starts"] = values["planned_start"]
        rows[region]["started"] = values["planned_started"]
    end = rollups.month_end(until)
    cuts = (
        ("planned_starts", Q(planned_start__gt=until, planned_start__lte=end)),
        ("started", Q(planned_start__gt=until, planned_start__lte=end, started_day__isnull=False)),
        ("started", Q(planned_start__gte=period.start, planned_start__lte=until, started_day__gt=today)),
    )
    for name, cut in cuts:
        for r in where.facts().filter(cut).order_by().values("region").annotate(n=Count("pk")):
            rows[r["region"]][name] -= r["n"]
    return rows


def _phase(period: Period) -> dict | None:
    if period.kind == YEAR:
        return None
    quarter = period.quarter or (period.index - 1) // 3 + 1
    phase = QuarterPhase.objects.filter(quarter=quarter).first()
    return {"quarter": quarter, "name": phase.name, "slogan": phase.slogan} if phase else None


def _targets(*, user, period: Period, today: dt.date, division: Region | None = None) -> list:
    """The targets of the period: the city's and the user's own (its division or unit); drilled
    into a division, that division's too. Chosen before their forecasts are computed: each
    forecast costs a few queries, so only the targets shown are forecast."""
    regions = {user.region_id, division.pk if division else None} - {None}
    shown = Q(region__isnull=False, region__parent__isnull=True) | Q(region__in=regions)
    if user.unit_id:
        shown |= Q(unit=user.unit_id)
    targets = target_queryset(user=user).filter(shown)
    return target_rows(user=user, period=period, today=today, targets=targets)


def _reason_texts(warning) -> list[str]:
    return [
        f"{name}：{reason}" if reason else str(name)
        for name, _level, reason in getattr(warning, "reason_rows", [])
    ]


def _of_projects(flt: DashboardFilter, projects: QuerySet[Project]) -> Q:
    """Rows of the dashboard's projects. Unfiltered, restrict() on the rows themselves already
    keeps them to the user's projects, and the semi-join over every project is spared."""
    if flt.chain is None and not flt.kind and flt.division is None:
        return Q()
    return Q(project__in=projects.values("pk"))


FUNNEL_SECONDS = 600


def _leads_version() -> tuple:
    """What changes whenever a lead, its stage history or a registry project's stage changes:
    the funnel computed for one version stays right until the next."""
    from guatu.attraction.models import Lead, LeadStageChange
    from guatu.projects.models import StageChange

    leads = Lead.objects.aggregate(n=Count("pk"), at=Max("updated_at"))
    return (
        leads["n"],
        leads["at"].isoformat() if leads["at"] else "",
        LeadStageChange.objects.aggregate(m=Max("pk"))["m"],
        StageChange.objects.aggregate(m=Max("pk"))["m"],
    )


def cached_funnel(*, user, period: Period, region, chain, today: dt.date):
    """The attraction funnel, computed once per user, filter and version of the leads: it walks
    every lead in Python (its stays and rates are not sums), which is the war map's one cost that
    grows with the data, so it is reused until a lead or a stage change is written."""
    key = "guatu:funnel:" + ":".join(
        str(part)
        for part in (
            user.pk,
            period,
            region.pk if region else "",
            chain.pk if chain else "",
            today,
            *_leads_version(),
        )
    )
    found = cache.get(key)
    if found is None:
        found = funnel(user=user, period=period, region=region, chain=chain, today=today)
        cache.set(key, found, FUNNEL_SECONDS)
    return found


def summary(*, user, flt: DashboardFilter, today: dt.date | None = None) -> dict:
    """Everything around the map for the filters, in the user's scope: per county-level division
    and in total (project count, investment, plan, investment done in the period, plan completion,
    lights, start rate); the stage funnel; the period's targets; the ranking; the attraction funnel;
    the red list; the oldest overdue problems and the 直通车 queue."""
    today = today or timezone.localdate()
    period = flt.period
    projects = dashboard_projects(user=user, flt=flt)
    where = rollup_where(user=user, flt=flt)
    if where is not None:
        by_region = _by_region_rolled(where, period=period, today=today)
    else:
        by_region = _by_region(projects, user=user, period=period, today=today)

    total = _blank()
    for row in by_region.values():
        for key, value in row.items():
            total[key] += value
    divisions = [
        {
            "code": region.code,
            "name": region.name,
            "label": region.label,
            **_finish(dict(by_region.get(region.pk, _blank())), period),
        }
        for region in divisions_for(user, flt.division)
    ]

    stage_rows = list(restrict(Stage.objects, user, "view").order_by("order"))
    if where is not None:
        rolled = rollups.by_region(where, [f"stage:{s.code}" for s in stage_rows])
        counts = {s.pk: sum(v[f"stage:{s.code}"] for v in rolled.values()) for s in stage_rows}
    else:
        counts = dict(
            projects.order_by().values("stage_id").annotate(n=Count("pk")).values_list("stage_id", "n")
        )
    stages = [
        {"code": s.code, "name": s.name, "color": s.color, "count": counts.get(s.pk, 0)} for s in stage_rows
    ]

    red = list(
        restrict(ProjectWarning.objects, user, "view")
        .filter(_of_projects(flt, projects), level__code="red")
        .select_related("project", "region", "level")
        .order_by("region__code", "project__name", "project_id")[:TOP]
    )
    attach_reason_rows(user=user, warnings=red)

    problems = problem_selectors.problem_queryset(user=user).filter(_of_projects(flt, projects))
    overdue = list(
        problems.filter(status__is_closed=False, due_date__lt=today).order_by("due_date", "id")[:TOP]
    )

    # The 直通车 queue: its first TOP waiting longest, and how many wait in all.
    queue = problem_selectors.direct_line_queryset(user=user, today=today)
    if flt.chain is not None:
        queue = queue.filter(project__chain=flt.chain)
    if flt.kind:
        queue = queue.filter(project__kind=flt.kind)
    if flt.division is not None:
        queue = queue.filter(region=flt.division)

    scheme, ranking = ranking_for(user=user, period=period, today=today)
    return {
        "period": {
            "code": str(period),
            "label": period.label,
            "start": period.start,
            "end": period.end,
            "phase": _phase(period),
        },
        "filters": flt.as_dict(),
        "total": _finish(total, period),
        "divisions": divisions,
        "stages": stages,
        "targets": _targets(user=user, period=period, today=today, division=flt.division),
        "scheme": scheme,
        "ranking": ranking,
        "attraction": cached_funnel(
            user=user, period=period, region=flt.division, chain=flt.chain, today=today
        ),
        "red": [{"warning": w, "reasons": _reason_texts(w)} for w in red],
        "overdue_problems": [
            {"problem": p, "overdue_days": problem_selectors.overdue_days(p, today)} for p in overdue
        ],
        "direct_line": problem_selectors.direct_line_rows(problems=list(queue[:TOP]), today=today),
        "direct_line_count": queue.count(),
    }


# --- the map's points and a division's project list

POINTS = 3000  # the most points one map draws; the red and the yellow come first
DIVISION_PROJECTS = 20


def _light_order() -> Case:
    return Case(
        *(When(warning__level__code=code, then=Value(i)) for i, code in enumerate(LEVELS)),
        default=Value(len(LEVELS)),
        output_field=IntegerField(),
    )


def project_points(*, user, flt: DashboardFilter) -> list[dict]:
    """The projects with coordinates, each with its light: one query."""
    qs = (
        dashboard_projects(user=user, flt=flt)
        .filter(latitude__isnull=False, longitude__isnull=False)
        .annotate(light_order=_light_order())
        .order_by("light_order", "pk")
        .values("pk", "code", "name", "latitude", "longitude", "warning__level__code", "region__name")
    )
    return [
        {
            "id": r["pk"],
            "code": r["code"],
            "name": r["name"],
            "region": r["region__name"],
            "light": r["warning__level__code"] or "",
            "value": [float(r["longitude"]), float(r["latitude"])],
        }
        for r in qs[:POINTS]
    ]


def division_projects(*, user, flt: DashboardFilter) -> list[Project]:
    """A division's projects for the page under the map, red first, then by total investment."""
    return list(
        dashboard_projects(user=user, flt=flt)
        .select_related("stage", "region", "warning__level")
        .annotate(light_order=_light_order())
        .order_by("light_order", "-total_investment", "pk")[:DIVISION_PROJECTS]
    )
