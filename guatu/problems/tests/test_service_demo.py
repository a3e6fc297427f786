"""The service part of the demo (guatu/demo/service_demo.py) on a small hand-built campaign."""

import datetime as dt
from collections import Counter

import pytest

from guatu.accounts.models import Role
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_user
from guatu.demo import service_demo
from guatu.demo.generator import BuildResult
from guatu.problems import selectors
from guatu.problems.models import AgencyRequest, AgencyStatus, Problem, ProjectContact, StewardVisit
from guatu.problems.tests.service_support import big_project
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def campaign(world):
    guanjia = make_user(Role.STEWARD, username="guanjia_shuangta", region=world.counties["211302"])
    projects = [
        big_project(
            world, total=str(6000 + 500 * n), steward=guanjia, is_demo=True, departments=[world.department]
        )
        for n in range(20)
    ]
    small = big_project(world, total="800", is_demo=True)
    return projects, small


def test_demo_service_has_every_kind_of_row_and_runs_once(world, campaign):
    projects, small = campaign
    result = BuildResult()
    service_demo.build(today=TODAY, result=result)

    unserved = Project.objects.filter(pk__in=[p.pk for p in projects], steward__isnull=True)
    assert result.created["stewards_removed"] == unserved.count() == 3
    coverage = selectors.steward_coverage(user=world.users["city"], today=TODAY)
    assert coverage.uncovered_count == 3

    enterprise = Counter(
        ProjectContact.objects.filter(kind="enterprise").values_list("project_id", flat=True)
    )
    assert 10 <= len(enterprise) <= 20 and set(enterprise.values()) == {1}
    assert not ProjectContact.objects.filter(project=small).exists()
    assert ProjectContact.objects.filter(kind="department", unit=world.department).exists()

    visits = StewardVisit.objects.all()
    assert visits.count() == 80 and not visits.filter(is_demo=False).exists()
    assert set(visits.values_list("steward__username", flat=True)) == {"guanjia_shuangta"}
    days = list(visits.values_list("visited_on", flat=True))
    assert min(days) >= TODAY - dt.timedelta(days=182) and max(days) <= TODAY
    raised = Problem.objects.filter(source_visit__isnull=False)
    assert raised.count() == 8 and not raised.filter(is_demo=False).exists()

    statuses = Counter(AgencyRequest.objects.values_list("status", flat=True))
    assert statuses == {
        AgencyStatus.REQUESTED: 3,
        AgencyStatus.ASSIGNED: 3,
        AgencyStatus.IN_PROGRESS: 4,
        AgencyStatus.DONE: 3,
        AgencyStatus.CANCELLED: 2,
    }
    assert not AgencyRequest.objects.filter(is_demo=False).exists()
    counts = selectors.agency_counts(AgencyRequest.objects.all(), today=TODAY)
    assert counts["overdue"] >= 1
    for agency in AgencyRequest.objects.filter(status=AgencyStatus.DONE).select_related("approval"):
        assert agency.approval.status in {"approved", "rejected"}
        assert agency.closed_at.date() <= TODAY

    before = (ChangeRecord.objects.count(), StewardVisit.objects.count(), ProjectContact.objects.count())
    again = BuildResult()
    service_demo.build(today=TODAY, result=again)
    assert (
        ChangeRecord.objects.count(),
        StewardVisit.objects.count(),
        ProjectContact.objects.count(),
    ) == before
    assert not +again.created

    assert service_demo.reset() == 15 and not AgencyRequest.objects.exists()
