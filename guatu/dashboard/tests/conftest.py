"""The dashboard tests' hand-built data: four projects in two divisions with reports and lights."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guatu.core.testing import make_project
from guatu.progress.models import MonthlyReport, ProjectWarning, ReportStatus, WarningLevel

TODAY = dt.date(2026, 6, 15)


def report(project, month, amount, status="approved"):
    return MonthlyReport.objects.create(
        project=project,
        region=project.region,
        month=month,
        investment_done=Decimal(amount),
        percent_complete=Decimal("10"),
        status=ReportStatus.objects.get(code=status),
    )


def light(project, level, reason="计划3月开工，尚未开工"):
    ProjectWarning.objects.update_or_create(
        project=project,
        defaults={
            "region": project.region,
            "level": WarningLevel.objects.get(code=level),
            "reasons": [{"rule": "start", "level": level, "reason": reason}],
            "computed_at": timezone.now(),
            "computed_on": TODAY,
        },
    )


@pytest.fixture
def data(world):
    """双塔区: two industry projects (one red, one green) and one infrastructure project (yellow);
    龙城区: one industry project (red). Reports: approved, submitted, draft (not counted) and last
    year's (not in the period)."""
    shuangta, longcheng = world.counties["211302"], world.counties["211303"]
    a = make_project(world, name="风电甲", total_investment=Decimal("10000"), annual_planned_investment=Decimal("1200"),
                     stage="started", planned_start=dt.date(2026, 4, 10))  # fmt: skip
    b = make_project(world, name="风电乙", total_investment=Decimal("2000"), annual_planned_investment=Decimal("600"),
                     planned_start=dt.date(2026, 5, 1))  # fmt: skip
    c = make_project(
        world,
        name="道路丙",
        kind="infrastructure",
        total_investment=Decimal("3000"),
        annual_planned_investment=Decimal("1000"),
    )
    d = make_project(
        world, name="园区丁", region=longcheng, total_investment=Decimal("7000"), stage="started"
    )
    report(a, dt.date(2026, 4, 1), "300")
    report(a, dt.date(2026, 5, 1), "200", status="submitted")
    report(a, dt.date(2026, 6, 1), "999", status="draft")
    report(a, dt.date(2026, 1, 1), "100")  # before the quarter: year to date only
    report(c, dt.date(2026, 5, 1), "50")
    report(d, dt.date(2026, 4, 1), "400")
    light(a, "red")
    light(b, "green")
    light(c, "yellow")
    light(d, "red", "工程进度滞后")
    return {"a": a, "b": b, "c": c, "d": d, "shuangta": shuangta, "longcheng": longcheng}
