"""`guatu generate`: a bulk population that is consistent, deterministic, and whole."""

import datetime as dt
import hashlib
import io
import itertools
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import models
from django.db.models import Sum

from guatu.accounts.models import Role
from guatu.attraction.models import Lead, LeadStageChange
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_user
from guatu.dashboard.selectors import DashboardFilter, summary
from guatu.demo import catalogue as cat
from guatu.demo.scale import MARK, STAGES
from guatu.org.models import Region, Unit
from guatu.problems.models import Problem, ProblemStep
from guatu.progress.models import MonthlyReport, ProjectWarning
from guatu.progress.services import warnings_recompute
from guatu.projects.codes import code_errors
from guatu.projects.models import ApprovalKind, Milestone, Project, ProjectApproval, StageChange
from guatu.projects.services import kinds_for_project

pytestmark = pytest.mark.django_db(transaction=False)

TODAY = dt.date(2026, 6, 17)
N = 50
BUILT = {"started", "under_construction", "completed", "in_production", "at_capacity"}


def generate(*args: str) -> str:
    out = io.StringIO()
    call_command("generate", *args, "--today", TODAY.isoformat(), stdout=out)
    return out.getvalue()


def generated():
    return Project.objects.filter(is_demo=True, description__endswith=MARK)


def shift(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def digest() -> str:
    """The generated population by natural keys (codes, names, dates, amounts), without row ids."""
    parts = [
        sorted(
            generated().values_list(
                "code", "name", "region__code", "stage__code", "enterprise__name", "chain__name", "kind",
                "build_type", "total_investment", "annual_planned_investment", "signed_on", "planned_start",
                "planned_completion", "latitude", "longitude", "capacity_gate", "environment_gate",
                "safety_gate", "is_two_high", "lead_leader",
            )
        ),
        sorted(
            MonthlyReport.objects.filter(project__in=generated()).values_list(
                "project__code", "month", "investment_done", "percent_complete", "status__code",
                "submitted_at", "approved_at", "jobs_on_site", "physical_progress",
            )
        ),
        sorted(
            ProjectApproval.objects.filter(project__in=generated()).values_list(
                "project__code", "kind__code", "status", "submitted_on", "approved_on", "document_no"
            )
        ),
        sorted(Milestone.objects.filter(project__in=generated()).values_list("project__code", "kind", "actual_date")),
        sorted(
            StageChange.objects.filter(project__in=generated()).values_list(
                "project__code", "from_stage__code", "to_stage__code", "at"
            )
        ),
        sorted(
            Problem.objects.filter(project__in=generated()).values_list(
                "project__code", "title", "status__code", "level__code", "due_date", "escalated_at",
                "closed_at", "owner_unit__name",
            )
        ),
        sorted(
            ProblemStep.objects.filter(problem__project__in=generated()).values_list(
                "problem__project__code", "action", "at", "to_level__code"
            )
        ),
        sorted(
            Lead.objects.filter(screening_note=MARK).values_list(
                "name", "investor", "stage__code", "project__code", "amount", "dropped_at", "region__code"
            )
        ),
        sorted(
            LeadStageChange.objects.filter(lead__screening_note=MARK).values_list(
                "lead__name", "to_stage__code", "on"
            )
        ),
        sorted(
            ProjectWarning.objects.filter(project__in=generated()).values_list(
                "project__code", "level__code", "rules"
            )
        ),
    ]  # fmt: skip
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@pytest.fixture
def population():
    out = generate("--projects", str(N), "--seed", "7")
    return out


def test_command_prints_progress_and_counts_per_table(population):
    assert "项目 50/50" in population and "行/秒" in population
    assert "projects" in population and "reports" in population and "用时" in population
    assert generated().count() == N
    reports = MonthlyReport.objects.filter(project__in=generated()).count()
    assert f"{reports:>12,}" in population


def test_projects_are_valid_unique_and_marked_as_demo(population):
    projects = list(generated().select_related("region", "enterprise", "stage"))
    assert len(projects) == N
    codes = [p.code for p in projects]
    assert len(set(codes)) == N
    for project in projects:
        assert code_errors(project.code) == []
        assert project.code[5:11] == project.region.code
        assert project.region.code in {c.code for c in cat.COUNTIES}
        assert project.is_demo and project.enterprise.kind == Unit.Kind.ENTERPRISE
        assert project.annual_planned_investment <= project.total_investment
        assert project.planned_start <= project.planned_completion
        project.full_clean()  # every check the forms and the API apply
    # A realistic mix: several stages, kinds and counties, not one of each.
    assert len({p.stage.code for p in projects}) >= 5
    assert len({p.region_id for p in projects}) >= 4


def test_coordinates_lie_in_the_city(population):
    city = Region.objects.get(level=Region.Level.CITY)
    located = generated().exclude(latitude=None)
    assert located.count() >= N // 2
    for lat, lon in located.values_list("latitude", "longitude"):
        assert city.min_lat <= float(lat) <= city.max_lat
        assert city.min_lon <= float(lon) <= city.max_lon


def test_every_started_project_reports_each_month_since_its_start(population):
    reports: dict[int, list] = defaultdict(list)
    for row in (
        MonthlyReport.objects.filter(project__in=generated())
        .order_by("month")
        .values_list("project_id", "month", "investment_done", "percent_complete", "status__code")
    ):
        reports[row[0]].append(row[1:])
    started = dict(Milestone.objects.filter(kind="started").values_list("project_id", "actual_date"))
    completed = dict(Milestone.objects.filter(kind="completed").values_list("project_id", "actual_date"))
    last = shift(TODAY.replace(day=1), -1)
    with_reports = 0
    for project in generated().select_related("stage"):
        rows = reports.get(project.pk, [])
        if project.stage.code not in BUILT:
            assert rows == [] and project.pk not in started
            continue
        first = started[project.pk].replace(day=1)
        end = last
        if project.stage.code == "at_capacity":
            end = min(end, completed[project.pk].replace(day=1))
        expected, month = [], first
        while month <= end:
            expected.append(month)
            month = shift(month, 1)
        assert [r[0] for r in rows] == expected, project.code
        with_reports += bool(rows)
        assert sum(r[1] for r in rows) <= project.total_investment
        percents = [r[2] for r in rows]
        assert percents == sorted(percents) and all(0 <= p <= 100 for p in percents)
        assert {r[3] for r in rows} <= {"approved", "submitted"}
        assert all(r[1] >= 0 for r in rows)
    assert with_reports >= N // 4


def test_stage_history_approvals_and_milestones_agree_with_the_stage(population):
    kinds = list(ApprovalKind.objects.order_by("order"))
    for project in generated().select_related("stage"):
        order = STAGES.index(project.stage.code)
        steps = list(
            StageChange.objects.filter(project=project)
            .order_by("at", "id")
            .values_list("from_stage__code", "to_stage__code", "at")
        )
        assert [(a, b) for a, b, _at in steps] == list(itertools.pairwise(STAGES[: order + 1]))
        assert [at for _a, _b, at in steps] == sorted(at for _a, _b, at in steps)
        groups = {k.group for k in kinds_for_project(project.kind, kinds)}
        approvals = list(ProjectApproval.objects.filter(project=project).select_related("kind"))
        assert sorted(a.kind.group for a in approvals) == sorted(groups)
        if project.stage.code in BUILT:
            assert {a.status for a in approvals} <= {"approved", "not_needed"}
            assert all(a.approved_on <= TODAY for a in approvals if a.approved_on)
            assert Milestone.objects.filter(project=project, kind="started").exists()
        if project.stage.code == "planning":
            assert {a.status for a in approvals} == {"not_started"}
    done = ProjectApproval.objects.filter(project__in=generated(), status="approved").count()
    assert done > ProjectApproval.objects.filter(project__in=generated()).count() / 2  # mostly done


def test_problems_and_leads_come_in_realistic_numbers_with_their_history(population):
    problems = Problem.objects.filter(project__in=generated())
    assert 1 <= problems.count() <= N // 4
    for problem in problems.select_related("status", "level"):
        steps = list(problem.steps.order_by("at", "id"))
        assert steps[0].action == "report"
        assert problem.is_demo and problem.description.endswith(MARK)
        assert (problem.closed_at is not None) == problem.status.is_closed
        assert (problem.escalated_at is not None) == (problem.level.order > 1)
        if not problem.status.is_closed:  # the daily escalation would not move it yet
            assert problem.due_date >= TODAY - dt.timedelta(days=7)
    leads = Lead.objects.filter(screening_note=MARK)
    assert 1 <= leads.count() <= N // 2
    for lead in leads.select_related("stage"):
        changes = list(LeadStageChange.objects.filter(lead=lead).order_by("on", "id"))
        assert changes and changes[0].from_stage_id is None
        assert changes[-1].to_stage_id == lead.stage_id
        assert all(a.to_stage_id == b.from_stage_id for a, b in itertools.pairwise(changes))
        if lead.dropped_at:  # dropped as lead_drop does: the stage it reached is kept
            assert lead.drop_reason and lead.dropped_at >= changes[-1].on
        if lead.project_id:
            assert lead.project.description.endswith(MARK)


def test_every_foreign_key_points_at_a_row(population):
    checked = 0
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.concrete_fields:
            if not isinstance(f, models.ForeignKey) or not f.db_constraint:
                continue
            parent = f.remote_field.model
            dangling = (
                model._base_manager.exclude(**{f"{f.attname}__isnull": True})
                .exclude(**{f"{f.attname}__in": parent._base_manager.values(f.target_field.attname)})
                .count()
            )
            assert dangling == 0, f"{model._meta.db_table}.{f.column}"
            checked += 1
    assert checked > 20


def test_lights_are_those_the_daily_recompute_gives(population):
    ids = list(generated().values_list("pk", flat=True))
    written = dict(ProjectWarning.objects.filter(project_id__in=ids).values_list("project_id", "reasons"))
    levels = dict(ProjectWarning.objects.filter(project_id__in=ids).values_list("project_id", "level__code"))
    assert set(written) == set(ids)
    counts = warnings_recompute(project_ids=ids, today=TODAY)
    after = dict(ProjectWarning.objects.filter(project_id__in=ids).values_list("project_id", "reasons"))
    assert after == written
    assert (
        dict(ProjectWarning.objects.filter(project_id__in=ids).values_list("project_id", "level__code"))
        == levels
    )
    assert counts["green"] + counts["yellow"] + counts["red"] == N
    assert counts["green"] > 0 and counts["red"] + counts["yellow"] > 0


def test_one_change_record_for_the_whole_generation_and_the_chain_verifies(population):
    before = ChangeRecord.objects.count()
    generate("--projects", "20", "--seed", "8")
    new = list(ChangeRecord.objects.order_by("id")[before:])
    assert len(new) == 1
    record = new[0]
    assert record.action == "create" and record.actor_id is None
    assert record.after["rows"]["projects"] == 20 and record.after["seed"] == 8
    assert generated().count() == N + 20  # on top of what exists
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert "完整" in out.getvalue()


def test_same_seed_gives_the_same_rows_and_another_seed_others(population):
    first = digest()
    generate("--projects", str(N), "--seed", "7", "--reset")
    assert generated().count() == N
    assert digest() == first
    generate("--projects", str(N), "--seed", "8", "--reset")
    assert generated().count() == N
    assert digest() != first
    call_command("audit_verify", stdout=io.StringIO())


def test_reset_removes_only_generated_rows(population):
    own = Unit.objects.create(
        name="朝阳真实企业有限公司", kind=Unit.Kind.ENTERPRISE, region=Region.objects.get(code="211302")
    )
    generate("--projects", "0", "--reset")
    assert generated().count() == 0
    assert not MonthlyReport.objects.exists() and not ProjectWarning.objects.exists()
    assert not Lead.objects.filter(screening_note=MARK).exists()
    assert Unit.objects.filter(pk=own.pk).exists()
    assert not Unit.objects.filter(is_demo=True, kind=Unit.Kind.ENTERPRISE, projects__isnull=True).exists()
    assert Unit.objects.filter(kind=Unit.Kind.COUNTY).count() == len(cat.COUNTIES)  # reference data stays
    call_command("audit_verify", stdout=io.StringIO())


def test_dashboard_summary_totals_equal_simple_counts(population):
    user = make_user(Role.CITY_ADMIN, region=Region.objects.get(level=Region.Level.CITY))
    data = summary(user=user, flt=DashboardFilter(year=TODAY.year), today=TODAY)
    total = data["total"]
    projects = Project.objects.all()
    assert total["projects"] == projects.count() == N
    assert total["total_investment"] == projects.aggregate(s=Sum("total_investment"))["s"]
    assert total["annual_plan"] == projects.aggregate(s=Sum("annual_planned_investment"))["s"]
    done = MonthlyReport.objects.filter(
        month__gte=dt.date(TODAY.year, 1, 1), month__lte=TODAY, status__code__in=("submitted", "approved")
    ).aggregate(s=Sum("investment_done"))["s"]
    assert total["investment_done"] == done.quantize(Decimal("0.01"))
    lights = Counter(ProjectWarning.objects.values_list("level__code", flat=True))
    assert (total["red"], total["yellow"], total["green"]) == (
        lights["red"],
        lights["yellow"],
        lights["green"],
    )
    by_stage = Counter(projects.values_list("stage__code", flat=True))
    assert {s["code"]: s["count"] for s in data["stages"]} == {code: by_stage.get(code, 0) for code in STAGES}
    assert sum(d["projects"] for d in data["divisions"]) == N


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--projects", "-1"], "--projects"),
        (["--projects", "1", "--years", "0"], "--years"),
    ],
)
def test_bad_arguments_are_refused_with_the_value(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate", *args, stdout=io.StringIO())


def test_bad_today_is_refused():
    with pytest.raises(CommandError, match="2026-13-01"):
        call_command("generate", "--projects", "1", "--today", "2026-13-01", stdout=io.StringIO())


def _index_definitions() -> set:
    from django.db import connection

    tables = [
        m._meta.db_table for m in (Project, MonthlyReport, ProjectApproval, StageChange, ProjectWarning)
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
        else:
            marks = ", ".join("%s" for _t in tables)
            cursor.execute(
                f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks})", tables
            )
        return set(cursor.fetchall())


def test_a_bulk_load_leaves_every_index_as_it_was(monkeypatch):
    from guatu.demo import scale

    before = _index_definitions()
    assert len(before) > 10
    monkeypatch.setattr(scale, "BULK_FROM", 1)  # the path of a large load, at a small N
    generate("--projects", "30", "--seed", "3")
    assert generated().count() == 30
    assert _index_definitions() == before


def test_a_failing_write_leaves_nothing_behind(monkeypatch):
    from guatu.demo import scale

    generate("--projects", "5")
    existing = generated().first().code
    before = (Project.objects.count(), MonthlyReport.objects.count(), ChangeRecord.objects.count())
    monkeypatch.setattr(scale.Generator, "code", lambda self, *args: existing)  # a duplicate code
    with pytest.raises(Exception, match=r"code|unique|UNIQUE"):
        generate("--projects", "5")
    assert (Project.objects.count(), MonthlyReport.objects.count(), ChangeRecord.objects.count()) == before
