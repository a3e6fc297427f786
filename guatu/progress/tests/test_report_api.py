"""The monthly reports API: scope per role (generic API test cases), filters, the computed
cumulative, PATCH with version (409 on stale), the workflow actions and their 409s."""

import itertools
from decimal import Decimal

import pytest
from django.urls import reverse

from guatu.core.testing_api import BUSINESS_ROLES, APITestCases, api_client
from guatu.progress.models import MonthlyReport
from guatu.progress.services import report_approve, report_submit
from guatu.progress.tests.report_helpers import building_project, months_ago, save

pytestmark = pytest.mark.django_db

_amounts = itertools.count(101)
WRITERS = frozenset({"city", "county", "other_county", "enterprise", "steward"})


def project_for(world, role: str):
    """A fresh project inside the role's scope (for roles that have one)."""
    if role == "other_county":
        return building_project(world, region=world.counties["211303"], enterprise=world.other_enterprise)
    if role == "steward":
        return building_project(world, steward=world.users["steward"])
    return building_project(world)


class TestReportAPI(APITestCases.List, APITestCases.Retrieve, APITestCases.Create, APITestCases.Versioned):
    model = MonthlyReport
    basename = "report"
    view_roles = BUSINESS_ROLES
    add_roles = WRITERS
    change_roles = WRITERS

    def make_object(self, world):
        return save(world.users["city"], building_project(world), months_ago(1))

    def make_objects(self, world):
        ours = building_project(world)
        ours.departments.add(world.department)
        return [
            save(world.users["city"], ours, months_ago(1)),
            save(world.users["city"], project_for(world, "other_county"), months_ago(1)),
            save(world.users["city"], project_for(world, "steward"), months_ago(2)),
        ]

    def create_data(self, world, role):
        project = project_for(world, role)
        return {
            "project": project.pk,
            "month": f"{months_ago(1):%Y-%m}",
            "investment_done": "12.5",
            "percent_complete": "10",
            "physical_progress": "土方开挖",
            "jobs_on_site": 20,
        }

    def invalid_create_data(self, world):
        return {**self.create_data(world, "city"), "percent_complete": "150"}, "percent_complete"

    def update_data(self, world, obj):
        return {"investment_done": str(next(_amounts))}


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


def url(report=None, action=None, **params):
    if report is None:
        base = reverse("api:report-list")
    elif action is None:
        base = reverse("api:report-detail", args=[report.pk])
    else:
        base = reverse(f"api:report-{action}", args=[report.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_the_representation_carries_the_computed_cumulative_and_flag(api, world):
    project = building_project(world)
    city = world.users["city"]
    save(city, project, months_ago(2), investment="100", percent="10")
    report = save(city, project, months_ago(1), investment="23.45", percent="20")
    data = api_client(city, api).get(url(report)).json()
    assert data["cumulative_investment"] == "123.45"
    assert (data["month"], data["status"], data["region"], data["version"]) == (
        f"{months_ago(1):%Y-%m}",
        "draft",
        "211302",
        1,
    )
    assert data["flag"] in {"pending", "missing"} and data["due_date"].endswith("-05")
    assert data["project_code"] == project.code


def test_filters_keep_the_cumulative_whole(api, world):
    city = world.users["city"]
    a = building_project(world)
    b = building_project(world, region=world.counties["211303"], enterprise=world.other_enterprise)
    save(city, a, months_ago(3), investment="100", percent="10")
    save(city, a, months_ago(2), investment="50", percent="20")
    last = save(city, a, months_ago(1), investment="25", percent="30")
    report_submit(actor=city, report_id=last.pk, version=1)
    save(city, b, months_ago(1), investment="7", percent="1")
    client = api_client(city, api)

    def rows(**params):
        return [
            (r["project"], r["month"], r["cumulative_investment"])
            for r in client.get(url(**params)).json()["results"]
        ]

    month = f"{months_ago(1):%Y-%m}"
    assert sorted(rows(month=month)) == sorted([(a.pk, month, "175.00"), (b.pk, month, "7.00")])
    assert rows(status="submitted") == [(a.pk, month, "175.00")]
    assert rows(region="211303") == [(b.pk, month, "7.00")]
    assert len(rows(region="211300")) == 4
    assert [r[2] for r in rows(project=a.pk)] == ["175.00", "150.00", "100.00"]
    assert client.get(url(month="2026-13")).status_code == 400


def test_list_queries_are_pinned(api, world, django_assert_num_queries):
    city = world.users["city"]
    for _ in range(12):
        save(city, building_project(world), months_ago(1))
    client = api_client(city, api)
    client.get(url())
    # token, the due day, count, rows, photos
    with django_assert_num_queries(5):
        response = client.get(url())
    assert response.json()["count"] == 12


def test_two_editors_through_the_api_the_second_gets_409_and_the_first_stands(api, world):
    report = save(world.users["county"], building_project(world), months_ago(1), investment="100")
    first, second = api_client(world.users["county"]), api_client(world.users["enterprise"])
    version = first.get(url(report)).json()["version"]
    assert second.get(url(report)).json()["version"] == version
    ok = first.patch(url(report), {"investment_done": "111", "version": version}, format="json")
    assert ok.status_code == 200 and ok.json()["version"] == version + 1
    stale = second.patch(url(report), {"investment_done": "222", "version": version}, format="json")
    assert stale.status_code == 409
    assert "已被他人修改" in stale.json()["detail"] and f"当前版本 {version + 1}" in stale.json()["detail"]
    report.refresh_from_db()
    assert report.investment_done == Decimal("111")


def test_patch_may_not_move_a_report_to_another_month_or_project(api, world):
    report = save(world.users["city"], building_project(world), months_ago(1))
    client = api_client(world.users["city"], api)
    moved = client.patch(url(report), {"month": f"{months_ago(2):%Y-%m}", "version": 1}, format="json")
    assert moved.status_code == 400 and moved.json()["month"]
    duplicate = client.post(
        url(),
        {
            "project": report.project_id,
            "month": f"{months_ago(1):%Y-%m}",
            "investment_done": "1",
            "percent_complete": "1",
        },
        format="json",
    )
    assert duplicate.status_code == 409 and "已由他人填写" in duplicate.json()["detail"]
    bad_month = client.post(
        url(),
        {"project": report.project_id, "month": "十月", "investment_done": "1", "percent_complete": "1"},
        format="json",
    )
    assert bad_month.status_code == 400 and bad_month.json()["month"]


def test_workflow_actions_and_their_refusals(api, world):
    project = building_project(world)
    report = save(world.users["enterprise"], project, months_ago(1))
    enterprise = api_client(world.users["enterprise"])
    county = api_client(world.users["county"])
    assert enterprise.post(url(report, "approve"), {"version": 1}, format="json").status_code == 403
    no_version = enterprise.post(url(report, "submit"), {}, format="json")
    assert no_version.status_code == 400 and no_version.json()["version"]
    submitted = enterprise.post(url(report, "submit"), {"version": 1}, format="json")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    again = enterprise.post(url(report, "submit"), {"version": 2}, format="json")
    assert again.status_code == 409 and "当前为“已报送”，不能报送" in again.json()["detail"]
    no_reason = county.post(url(report, "return"), {"version": 2}, format="json")
    assert no_reason.status_code == 400 and no_reason.json()["return_reason"]
    returned = county.post(url(report, "return"), {"version": 2, "reason": "缺少现场照片"}, format="json")
    assert (returned.json()["status"], returned.json()["return_reason"]) == ("returned", "缺少现场照片")
    approve_returned = county.post(url(report, "approve"), {"version": 3}, format="json")
    assert approve_returned.status_code == 409 and "不能审核通过" in approve_returned.json()["detail"]
    enterprise.patch(url(report), {"jobs_on_site": 15, "version": 3}, format="json")
    enterprise.post(url(report, "submit"), {"version": 4}, format="json")
    approved = county.post(url(report, "approve"), {"version": 5}, format="json")
    assert approved.json()["status"] == "approved" and approved.json()["approver"] == world.users["county"].pk
    locked = enterprise.patch(url(report), {"jobs_on_site": 16, "version": 6}, format="json")
    assert locked.status_code == 409 and "重新打开" in locked.json()["detail"]
    stale = county.post(url(report, "reopen"), {"version": 5}, format="json")
    assert stale.status_code == 409
    reopened = api_client(world.users["city"]).post(url(report, "reopen"), {"version": 6}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "draft"


def test_reopen_by_someone_other_than_the_approver_is_403(api, world):
    from guatu.accounts.models import Role
    from guatu.core.testing import make_user

    report = save(world.users["county"], building_project(world), months_ago(1))
    report_submit(actor=world.users["county"], report_id=report.pk, version=1)
    report_approve(actor=world.users["county"], report_id=report.pk, version=2)
    neighbour = make_user(Role.COUNTY, region=world.counties["211302"])
    response = api_client(neighbour, api).post(url(report, "reopen"), {"version": 3}, format="json")
    assert response.status_code == 403 and "只有审核该月报的人" in response.json()["detail"]
    other = api_client(world.users["other_county"], api).post(
        url(report, "reopen"), {"version": 3}, format="json"
    )
    assert other.status_code == 404


def test_department_reads_and_may_not_write(api, world):
    project = building_project(world)
    project.departments.add(world.department)
    report = save(world.users["city"], project, months_ago(1))
    client = api_client(world.users["department"], api)
    assert [r["id"] for r in client.get(url()).json()["results"]] == [report.pk]
    create = {
        "project": project.pk,
        "month": f"{months_ago(2):%Y-%m}",
        "investment_done": "1",
        "percent_complete": "1",
    }
    assert client.post(url(), create, format="json").status_code == 403
    assert client.patch(url(report), {"investment_done": "9", "version": 1}, format="json").status_code == 403
    assert client.post(url(report, "submit"), {"version": 1}, format="json").status_code == 403
    city = api_client(world.users["city"], api)
    assert city.put(url(report), {}, format="json").status_code == 405
    assert city.delete(url(report)).status_code == 405
    assert MonthlyReport.objects.filter(pk=report.pk).exists()
