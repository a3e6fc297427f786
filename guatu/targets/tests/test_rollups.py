"""Rollups follow every change of their inputs: after any sequence of writes (projects created,
moved, re-planned, deleted; milestones, stage history, reports, lights, departments), the stored
rollups equal a recomputation from the raw tables, and every metric and the war map's figures read
from them equal the same figures counted from the projects."""

import datetime as dt
from decimal import Decimal

from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from guatu.core.testing import make_project, make_world
from guatu.dashboard.selectors import (
    DashboardFilter,
    _by_region,
    _by_region_rolled,
    dashboard_projects,
    rollup_where,
)
from guatu.org.models import Chain
from guatu.progress.models import MonthlyReport, ProjectWarning, ReportStatus, WarningLevel
from guatu.projects.models import Milestone, Project, Stage
from guatu.targets import rollups
from guatu.targets.metrics import METRICS, Scope, actual, actuals, scope_projects
from guatu.targets.models import Rollup
from guatu.targets.periods import Period
from guatu.targets.tests.helpers import entered

STAGES = (
    "planning", "signed", "preparing", "started", "under_construction", "completed", "in_production",
    "at_capacity",
)  # fmt: skip
COUNTIES = ("211302", "211303", "211322", "211381")
BASE = dt.date(2025, 10, 1)
PERIODS = ("2026", "2026Q2", "2026-05", "2026-11")


def days(low: int = 0, high: int = 450):
    return st.integers(low, high).map(lambda n: BASE + dt.timedelta(days=n))


ops = st.one_of(
    st.tuples(
        st.just("create"),
        st.sampled_from(COUNTIES),
        st.sampled_from(STAGES),
        st.none() | days(),
        st.none() | days(),
        st.sampled_from((0, 1200, 4500)),
        st.booleans(),
    ),
    st.tuples(st.just("milestone"), st.integers(0, 9), st.sampled_from(("started", "completed", "in_production")),
              st.none() | days()),
    st.tuples(st.just("stage"), st.integers(0, 9), st.sampled_from(STAGES), days()),
    st.tuples(st.just("report"), st.integers(0, 9), st.integers(1, 12),
              st.sampled_from(("80.5", "300", "1200")), st.sampled_from(("submitted", "approved", "draft"))),
    st.tuples(st.just("unreport"), st.integers(0, 9)),
    st.tuples(st.just("move"), st.integers(0, 9), st.sampled_from(COUNTIES), st.sampled_from(("industry", "service")),
              st.booleans()),
    st.tuples(st.just("departments"), st.integers(0, 9), st.sets(st.integers(0, 1))),
    st.tuples(st.just("light"), st.integers(0, 9), st.sampled_from(("red", "yellow", "green", None))),
    st.tuples(st.just("replan"), st.integers(0, 9), st.none() | days()),
    st.tuples(st.just("delete"), st.integers(0, 9)),
)  # fmt: skip


class RollupsFollowEveryChange(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.world = make_world()
        cls.other_chain = Chain.objects.create(name="装备制造", order=2)

    def apply(self, op) -> None:
        w = self.world
        projects = list(Project.objects.order_by("pk"))
        kind, *args = op
        if kind == "create":
            county, stage, start, end, plan, signed = args
            if start and end and end < start:
                start, end = end, start
            make_project(
                w, region=w.counties[county], stage=stage, planned_start=start, planned_completion=end,
                annual_planned_investment=Decimal(plan), signed_on=BASE if signed else None,
            )  # fmt: skip
            return
        if not projects:
            return
        p = projects[args[0] % len(projects)]
        if kind == "milestone":
            row, _ = Milestone.objects.get_or_create(project=p, kind=args[1])
            row.actual_date = args[2]
            row.save()
        elif kind == "stage":
            entered(p, args[1], args[2])
            p.stage = Stage.objects.get(code=args[1])
            p.save()
        elif kind == "report":
            month, amount, status = args[1:]
            row = MonthlyReport.objects.filter(project=p, month=dt.date(2026, month, 1)).first()
            row = row or MonthlyReport(project=p, region=p.region, month=dt.date(2026, month, 1))
            row.investment_done, row.percent_complete = Decimal(amount), Decimal(10)
            row.status = ReportStatus.objects.get(code=status)
            row.save()
        elif kind == "unreport":
            if row := MonthlyReport.objects.filter(project=p).order_by("month").first():
                row.delete()
        elif kind == "move":
            county, project_kind, other_chain = args[1:]
            p.region, p.kind = w.counties[county], project_kind
            p.chain = self.other_chain if other_chain else w.chain
            p.save()
        elif kind == "departments":
            units = (w.department, w.other_department)
            p.departments.set([units[n] for n in args[1]])
        elif kind == "light":
            if args[1] is None:
                ProjectWarning.objects.filter(project=p).delete()
            else:
                ProjectWarning.objects.update_or_create(
                    project=p,
                    defaults={
                        "region": p.region,
                        "level": WarningLevel.objects.get(code=args[1]),
                        "computed_at": timezone.now(),
                        "computed_on": BASE,
                    },
                )
        elif kind == "replan":
            p.planned_start = args[1]
            if p.planned_start and p.planned_completion and p.planned_completion < p.planned_start:
                p.planned_completion = None
            p.save()
        elif kind == "delete":
            p.delete()

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(changes=st.lists(ops, min_size=1, max_size=14), today=days(90, 450))
    def test_rollups_equal_a_recomputation_after_any_changes(self, changes, today):
        for op in changes:
            self.apply(op)
        assert rollups.differences() == []

        w = self.world
        scopes = [
            Scope("city", w.city),
            Scope("county", w.counties["211302"]),
            Scope("department", None, w.department),
            Scope("all"),
        ]
        for period in map(Period.parse, PERIODS):
            for code, metric in METRICS.items():
                if metric.scoped:
                    continue
                rolled = actuals(code, scopes, period, today)
                for s in scopes:
                    raw = actual(code, scope_projects(region=s.region, unit=s.unit), period, today)
                    assert rolled[s.key] == raw, (code, str(period), s.key, today, changes)
            # The war map's figures per division, for the city, a county and a department.
            flt = _filter(period)
            for user in ("city", "county", "department"):
                account = w.users[user]
                live = _by_region(
                    dashboard_projects(user=account, flt=flt), user=account, period=period, today=today
                )
                rolled = _by_region_rolled(rollup_where(user=account, flt=flt), period=period, today=today)
                for region in set(live) | set(rolled):
                    assert _plain(rolled[region]) == _plain(live[region]), (
                        user, str(period), region, _plain(rolled[region]), _plain(live[region]), today, changes
                    )  # fmt: skip


def _filter(period: Period) -> DashboardFilter:
    if period.kind == "month":
        return DashboardFilter(year=period.year, month=period.index)
    if period.kind == "quarter":
        return DashboardFilter(year=period.year, quarter=period.index)
    return DashboardFilter(year=period.year)


def _plain(row: dict) -> dict:
    return {
        k: (Decimal(v).quantize(Decimal("0.01")) if isinstance(v, Decimal) else v) for k, v in row.items()
    }


class RollupVerifyCommand(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.world = make_world()

    def test_verify_passes_then_names_a_tampered_row_and_rebuild_mends_it(self):
        p = make_project(self.world, stage="started", planned_start=dt.date(2026, 3, 2))
        Milestone.objects.create(project=p, kind="started", actual_date=dt.date(2026, 3, 9))
        call_command("rollup_verify")  # whole: exits 0

        row = Rollup.objects.get(unit=0, measure="started_day", month=dt.date(2026, 3, 1))
        assert row.value == 1
        Rollup.objects.filter(pk=row.pk).update(value=2)
        with self.assertRaises(CommandError) as caught:
            call_command("rollup_verify")
        assert caught.exception.returncode == 1
        assert "汇总与原始数据不符：共 1 处" in str(caught.exception)

        # A change the signals never saw (a raw update) is found too, and --rebuild mends both.
        Project.objects.filter(pk=p.pk).update(planned_start=dt.date(2026, 4, 1))
        with self.assertRaises(CommandError) as caught:
            call_command("rollup_verify")
        assert f"项目 #{p.pk} 的汇总份额与原始数据不符" in rollups.differences()
        call_command("rollup_verify", "--rebuild")
        assert rollups.differences() == []
        assert Rollup.objects.get(unit=0, measure="planned_start", month=dt.date(2026, 4, 1)).value == 1

    def test_a_deleted_project_leaves_nothing_behind(self):
        p = make_project(self.world, stage="started", planned_start=dt.date(2026, 3, 2))
        p.departments.set([self.world.department])
        assert Rollup.objects.filter(unit=self.world.department.pk, measure="projects").get().value == 1
        p.delete()
        assert not rollups.ProjectRollup.objects.exists()
        assert not Rollup.objects.exclude(value=0).exists()
        assert rollups.differences() == []

    def test_migrating_a_database_with_projects_and_no_shares_fills_them(self):
        p = make_project(self.world, stage="started", planned_start=dt.date(2026, 3, 2))
        Rollup.objects.all().delete()
        rollups.ProjectRollup.objects.all().delete()  # as before the rollups existed
        call_command("migrate", verbosity=0)
        assert rollups.ProjectRollup.objects.filter(project=p).exists()
        assert rollups.differences() == []
