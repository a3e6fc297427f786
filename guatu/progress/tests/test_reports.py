"""Monthly reports: the services (save, workflow, version checks, scope) and the selectors
(cumulative investment, due dates, missing and late reports, the month sheet, the S-curve)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from guatu.accounts.models import Role
from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project, make_user, project_code
from guatu.progress import selectors, services
from guatu.progress.models import MonthlyReport, WarningRule
from guatu.progress.services import (
    report_approve,
    report_reopen,
    report_return,
    report_save,
    report_submit,
    shift_month,
)
from guatu.progress.tests.report_helpers import building_project, months_ago, save, this_month
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(world):
    return building_project(world)


@pytest.fixture
def city(world):
    return world.users["city"]


@pytest.fixture
def county(world):
    return world.users["county"]


def log_count(report) -> int:
    ct = ContentType.objects.get_for_model(MonthlyReport)
    return ChangeRecord.objects.filter(content_type=ct, object_id=str(report.pk)).count()


def stamp(report, when: dt.datetime) -> None:
    MonthlyReport.objects.filter(pk=report.pk).update(submitted_at=when)


def local(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


# ---------------------------------------------------------------- saving


def test_a_new_report_is_a_draft_in_its_projects_region_with_one_change_record(project, county, monkeypatch):
    asked = []
    monkeypatch.setattr(services, "schedule_recompute", lambda *, project_id: asked.append(project_id))
    report = save(
        county, project, months_ago(1), investment="250.5", percent="12.5", physical_progress=" 基础施工 "
    )
    report.refresh_from_db()
    assert (report.status.code, report.version, report.region_id) == ("draft", 1, project.region_id)
    assert (report.investment_done, report.percent_complete) == (Decimal("250.50"), Decimal("12.50"))
    assert report.physical_progress == "基础施工"
    record = ChangeRecord.objects.order_by("-id").first()
    assert (record.action, record.object_id, record.actor_id) == ("create", str(report.pk), county.pk)
    assert asked == [project.pk]


def test_an_update_needs_the_version_read_and_bumps_it(project, county):
    report = save(county, project, months_ago(1))
    updated = save(county, project, months_ago(1), investment="300", version=1)
    assert (updated.pk, updated.version, updated.investment_done) == (report.pk, 2, Decimal("300"))
    assert log_count(report) == 2
    assert ChangeRecord.objects.order_by("-id").first().before["investment_done"] == "100.00"


def test_a_stale_version_is_a_conflict_naming_both_versions_and_changes_nothing(project, county):
    report = save(county, project, months_ago(1))
    save(county, project, months_ago(1), investment="300", version=1)
    with pytest.raises(Conflict) as caught:
        save(county, project, months_ago(1), investment="999", version=1)
    assert "该月报已被他人修改" in caught.value.message
    assert "当前版本 2" in caught.value.message and "版本 1" in caught.value.message
    report.refresh_from_db()
    assert (report.investment_done, report.version, log_count(report)) == (Decimal("300"), 2, 2)


def test_saving_without_a_version_over_an_existing_report_is_a_conflict_not_an_overwrite(project, county):
    report = save(county, project, months_ago(1), investment="100")
    with pytest.raises(Conflict, match="已由他人填写"):
        save(county, project, months_ago(1), investment="555")
    report.refresh_from_db()
    assert report.investment_done == Decimal("100")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"investment_done": "-1"}, "investment_done", "本月完成投资不能为负数"),
        ({"percent_complete": "100.01"}, "percent_complete", "形象进度须在 0 到 100 之间"),
        ({"percent_complete": "-0.5"}, "percent_complete", "形象进度须在 0 到 100 之间"),
        ({"jobs_on_site": -3}, "jobs_on_site", ""),
        ({"version": 3}, "version", "不能修改的字段"),
    ],
)
def test_bad_figures_are_refused_by_field_and_nothing_is_written(project, county, data, field, message):
    values = {"investment_done": "10", "percent_complete": "10", **data}
    before = (MonthlyReport.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(ValidationError) as caught:
        report_save(actor=county, project_id=project.pk, month=months_ago(1), data=values)
    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])
    assert (MonthlyReport.objects.count(), ChangeRecord.objects.count()) == before


def test_percent_may_not_fall_below_last_months(project, county):
    save(county, project, months_ago(2), percent="50")
    with pytest.raises(ValidationError) as caught:
        save(county, project, months_ago(1), percent="49.99")
    assert caught.value.message_dict["percent_complete"] == [
        "形象进度不能低于上月的 50%（形象进度是累计的，不能倒退）"
    ]
    assert save(county, project, months_ago(1), percent="50").percent_complete == Decimal("50")


def test_percent_compares_with_the_nearest_earlier_report_even_months_back(project, county):
    save(county, project, months_ago(4), percent="30")
    with pytest.raises(ValidationError, match=r"不能低于.*月月报的 30%"):
        save(county, project, months_ago(1), percent="20")


def test_an_earlier_month_may_not_rise_above_a_later_months_percent(project, county):
    save(county, project, months_ago(3), percent="20")
    save(county, project, months_ago(2), percent="40")
    with pytest.raises(ValidationError, match=r"不能高于.*月报的 40%"):
        save(county, project, months_ago(3), percent="45", version=1)


def test_month_must_be_a_first_day_not_in_the_future_and_not_before_the_project(project, county):
    with pytest.raises(ValidationError, match="第一天"):
        save(county, project, months_ago(1) + dt.timedelta(days=3))
    next_month = shift_month(this_month(), 1)
    with pytest.raises(ValidationError, match="不能晚于本月"):
        save(county, project, next_month)
    assert save(county, project, this_month()).month == this_month()
    too_early = shift_month(services.earliest_month(project), -1)
    with pytest.raises(ValidationError, match="早于项目"):
        save(county, project, too_early)


# ---------------------------------------------------------------- workflow


def test_draft_to_submitted_to_approved(project, county, city):
    report = save(county, project, months_ago(1))
    report = report_submit(actor=county, report_id=report.pk, version=1)
    assert (report.status.code, report.version) == ("submitted", 2)
    assert report.submitted_at is not None
    report = report_approve(actor=city, report_id=report.pk, version=2)
    report.refresh_from_db()
    assert (report.status.code, report.version, report.approver_id) == ("approved", 3, city.pk)
    assert report.approved_at is not None
    assert log_count(report) == 3


def test_return_needs_a_reason_then_the_report_can_be_corrected_and_sent_again(project, world, city):
    enterprise = world.users["enterprise"]
    report = save(enterprise, project, months_ago(1))
    report = report_submit(actor=enterprise, report_id=report.pk, version=1)
    first_sent = report.submitted_at
    with pytest.raises(ValidationError) as caught:
        report_return(actor=city, report_id=report.pk, reason="  ", version=2)
    assert "return_reason" in caught.value.message_dict
    report = report_return(actor=city, report_id=report.pk, reason="投资额与统计口径不符", version=2)
    assert (report.status.code, report.return_reason) == ("returned", "投资额与统计口径不符")
    report = save(enterprise, project, months_ago(1), investment="80", version=3)
    assert report.status.code == "returned"
    report = report_submit(actor=enterprise, report_id=report.pk, version=4)
    assert (report.status.code, report.return_reason) == ("submitted", "")
    assert report.submitted_at == first_sent  # lateness is judged by the first submission


@pytest.mark.parametrize(
    ("steps", "step", "words"),
    [
        ([], "approve", "当前为“草稿”，不能审核通过"),
        ([], "return", "当前为“草稿”，不能退回"),
        ([], "reopen", "不能重新打开"),
        (["submit"], "submit", "当前为“已报送”，不能报送"),
        (["submit"], "reopen", "不能重新打开"),
        (["submit", "approve"], "submit", "当前为“已审核”，不能报送"),
        (["submit", "approve"], "return", "不能退回"),
        (["submit", "approve"], "approve", "不能审核通过"),
        (["submit", "return"], "approve", "当前为“已退回”，不能审核通过"),
    ],
)
def test_illegal_transitions_are_conflicts_with_a_reason(project, city, steps, step, words):
    report = save(city, project, months_ago(1))
    for done in steps:
        kwargs = {"reason": "理由"} if done == "return" else {}
        report = services.REPORT_WORKFLOW[done](
            actor=city, report_id=report.pk, version=report.version, **kwargs
        )
    before = (report.status.code, report.version, log_count(report))
    kwargs = {"reason": "理由"} if step in {"return", "reopen"} else {}
    with pytest.raises(Conflict) as caught:
        services.REPORT_WORKFLOW[step](actor=city, report_id=report.pk, version=report.version, **kwargs)
    assert words in caught.value.message
    report.refresh_from_db()
    assert (report.status.code, report.version, log_count(report)) == before


def test_an_approved_report_refuses_changes_until_its_approver_reopens_it(project, world, county):
    neighbour = make_user(Role.COUNTY, region=world.counties["211302"])  # same county, not the approver
    report = save(world.users["enterprise"], project, months_ago(1))
    report = report_submit(actor=world.users["enterprise"], report_id=report.pk, version=1)
    report = report_approve(actor=county, report_id=report.pk, version=2)
    with pytest.raises(Conflict, match="已审核，须由审核人重新打开后才能修改"):
        save(county, project, months_ago(1), investment="1", version=3)
    with pytest.raises(PermissionDenied, match="只有审核该月报的人"):
        report_reopen(actor=neighbour, report_id=report.pk, version=3)
    with pytest.raises(MonthlyReport.DoesNotExist):  # the reporter cannot approve or reopen at all
        report_reopen(actor=world.users["enterprise"], report_id=report.pk, version=3)
    report = report_reopen(actor=county, report_id=report.pk, reason="更正在岗人数", version=3)
    assert (report.status.code, report.approver_id, report.return_reason) == ("draft", None, "更正在岗人数")
    assert save(county, project, months_ago(1), jobs_on_site=88, version=4).jobs_on_site == 88


def test_the_project_office_may_reopen_what_a_county_approved(project, county, city):
    report = save(county, project, months_ago(1))
    report_submit(actor=county, report_id=report.pk, version=1)
    report_approve(actor=county, report_id=report.pk, version=2)
    assert report_reopen(actor=city, report_id=report.pk, version=3).status.code == "draft"


def test_a_stale_workflow_step_is_a_conflict(project, county, city):
    report = save(county, project, months_ago(1))
    save(county, project, months_ago(1), investment="5", version=1)
    with pytest.raises(Conflict, match="已被他人修改"):
        report_submit(actor=county, report_id=report.pk, version=1)
    assert MonthlyReport.objects.get(pk=report.pk).status.code == "draft"


# ---------------------------------------------------------------- scope


def test_scope_county_only_its_region_enterprise_only_its_own_department_reads_only(world, city):
    ours = building_project(world)
    theirs = building_project(world, region=world.counties["211303"], enterprise=world.other_enterprise)
    a = save(city, ours, months_ago(1))
    b = save(city, theirs, months_ago(1))

    def visible(role):
        return set(selectors.report_queryset(user=world.users[role]).values_list("pk", flat=True))

    assert visible("county") == {a.pk}
    assert visible("other_county") == {b.pk}
    assert visible("enterprise") == {a.pk}
    assert visible("city") == visible("leader") == {a.pk, b.pk}
    assert visible("department") == set()  # no project lists this department
    ours.departments.add(world.department)
    assert visible("department") == {a.pk}
    with pytest.raises(PermissionDenied):
        save(world.users["department"], ours, months_ago(2))
    with pytest.raises(PermissionDenied):  # it sees the report, and may not change it
        save(world.users["department"], ours, months_ago(1))
    with pytest.raises(PermissionDenied):
        save(world.users["department"], ours, months_ago(1), version=1)
    with pytest.raises(Exception, match="不存在或无权"):
        save(world.users["county"], theirs, months_ago(2))
    with pytest.raises(MonthlyReport.DoesNotExist):
        report_submit(actor=world.users["county"], report_id=b.pk)
    with pytest.raises(MonthlyReport.DoesNotExist):
        report_approve(actor=world.users["enterprise"], report_id=a.pk)
    assert MonthlyReport.objects.count() == 2


# ---------------------------------------------------------------- cumulative investment


def test_cumulative_is_a_running_total_and_follows_an_edit_of_an_earlier_month(project, world, city):
    other = building_project(world)
    save(city, project, months_ago(3), investment="100", percent="10")
    save(city, project, months_ago(2), investment="50", percent="20")
    save(city, project, months_ago(1), investment="25.5", percent="30")
    save(city, other, months_ago(2), investment="7", percent="5")

    def totals():
        rows = selectors.report_queryset(user=city).filter(project=project).order_by("month")
        return [r.cumulative_investment for r in rows]

    assert totals() == [Decimal("100"), Decimal("150"), Decimal("175.5")]
    save(city, project, months_ago(3), investment="200", percent="10", version=1)
    assert totals() == [Decimal("200"), Decimal("250"), Decimal("275.5")]
    assert selectors.report_at(user=city, project=other, month=months_ago(2)).cumulative_investment == 7


def test_picking_one_month_or_status_keeps_the_whole_running_total(project, city):
    save(city, project, months_ago(3), investment="100", percent="10")
    save(city, project, months_ago(2), investment="50", percent="20")
    last = save(city, project, months_ago(1), investment="25", percent="30")
    report_submit(actor=city, report_id=last.pk, version=1)
    month = selectors.report_list(user=city, params={"month": f"{months_ago(1):%Y-%m}"})
    assert [r.cumulative_investment for r in month] == [Decimal("175")]
    submitted = selectors.report_list(user=city, params={"status": ["submitted"]})
    assert [r.cumulative_investment for r in submitted] == [Decimal("175")]
    assert submitted.count() == 1
    assert selectors.report_get(user=city, pk=last.pk).cumulative_investment == Decimal("175")
    region = selectors.report_list(user=city, params={"region": "211300", "month": f"{months_ago(2):%Y-%m}"})
    assert [r.cumulative_investment for r in region] == [Decimal("150")]
    assert (
        selectors.report_before(user=city, project=project, month=months_ago(1)).cumulative_investment == 150
    )


# ---------------------------------------------------------------- due dates, missing and late


def test_due_date_is_the_due_day_of_next_month_read_from_the_report_rule():
    october = dt.date(2026, 10, 1)
    assert selectors.due_date(october) == dt.date(2026, 11, 5)
    rule = WarningRule.objects.get(code="report")
    rule.params = {**rule.params, "due_day": 10}
    rule.save()
    assert selectors.due_date(october) == dt.date(2026, 11, 10)
    rule.params = {k: v for k, v in rule.params.items() if k != "due_day"}
    rule.save()
    assert selectors.due_date(dt.date(2026, 12, 1)) == dt.date(2027, 1, 5)


def test_flags_at_the_boundary_day(project, city):
    month = months_ago(2)
    due = selectors.due_date(month)
    assert (due.day, due.month) == (5, shift_month(month, 1).month)
    report = save(city, project, month)
    # Not reported: pending up to and on the due day, missing the day after.
    assert selectors.report_flag(None, due=due, today=due) == "pending"
    assert selectors.report_flag(None, due=due, today=due + dt.timedelta(days=1)) == "missing"
    report.refresh_from_db()
    assert selectors.report_flag(report, due=due, today=due + dt.timedelta(days=1)) == "missing"  # a draft
    report = report_submit(actor=city, report_id=report.pk, version=1)
    stamp(report, local(due, 23, 59))
    report.refresh_from_db()
    assert selectors.report_flag(report, due=due, today=due + dt.timedelta(days=30)) == "on_time"
    stamp(report, local(due + dt.timedelta(days=1)))
    report.refresh_from_db()
    assert selectors.report_flag(report, due=due, today=due + dt.timedelta(days=30)) == "late"
    report = report_return(actor=city, report_id=report.pk, reason="重报", version=report.version)
    assert selectors.report_flag(report, due=due, today=due + dt.timedelta(days=30)) == "missing"


def test_month_flags_name_the_missing_and_late_projects_of_a_region(world, city):
    month = months_ago(2)
    due = selectors.due_date(month)
    after = due + dt.timedelta(days=1)
    on_time = building_project(world, name="按时项目")
    late = building_project(world, name="迟报项目")
    missing = building_project(world, name="缺报项目")
    drafted = building_project(world, name="草稿项目")
    elsewhere = building_project(world, name="龙城缺报项目", region=world.counties["211303"])
    building_project(world, name="未开工项目", stage="preparing")
    building_project(world, name="下月才开工项目", start_months_ago=1)
    building_project(world, name="达产项目", stage="at_capacity")
    for project, when in ((on_time, local(due, 18)), (late, local(after, 9))):
        report = save(city, project, month)
        report_submit(actor=city, report_id=report.pk, version=1)
        stamp(report, when)
    save(city, drafted, month)

    flags = selectors.month_flags(user=city, month=month, today=after, region=world.counties["211302"])
    assert sorted(p.name for p in flags["missing"]) == ["缺报项目", "草稿项目"]
    assert [p.name for p in flags["late"]] == ["迟报项目"]
    everywhere = selectors.month_flags(user=city, month=month, today=after)
    assert {p.name for p in everywhere["missing"]} == {"龙城缺报项目", "缺报项目", "草稿项目"}
    on_due_day = selectors.month_flags(user=city, month=month, today=due)
    assert on_due_day["missing"] == []  # the due day itself is still on time
    county_view = selectors.month_flags(user=world.users["other_county"], month=month, today=after)
    assert [p.name for p in county_view["missing"]] == ["龙城缺报项目"]
    assert missing.pk in {p.pk for p in flags["missing"]} and elsewhere.pk not in {
        p.pk for p in flags["missing"]
    }


def test_the_month_sheet_lists_owing_projects_with_their_report_and_counts(world, city):
    month = months_ago(1)
    due = selectors.due_date(month)
    a = building_project(world, name="甲")
    b = building_project(world, name="乙")
    c = building_project(world, name="丙")
    planning = make_project(world, name="谋划中但已填报", stage="planning")
    save(city, a, month, investment="30")
    for project, when in ((planning, local(due, 10)), (c, local(due + dt.timedelta(days=2), 10))):
        report = report_submit(actor=city, report_id=save(city, project, month, investment="1").pk, version=1)
        stamp(report, when)
    today = due + dt.timedelta(days=3)
    sheet = selectors.month_sheet(user=city, params={"month": f"{month:%Y-%m}"}, today=today)
    projects = list(sheet.filterset.qs)
    assert [p.pk for p in projects] == sorted(
        [a.pk, b.pk, c.pk, planning.pk], key=lambda pk: Project.objects.get(pk=pk).code
    )
    rows = selectors.sheet_rows(user=city, projects=projects, month=month, due=sheet.due, today=today)
    by_name = {row.project.name: row for row in rows}
    assert by_name["甲"].report.cumulative_investment == 30 and by_name["甲"].flag == "missing"
    assert by_name["乙"].report is None and by_name["乙"].flag == "missing"
    assert (by_name["丙"].flag, by_name["谋划中但已填报"].flag) == ("late", "on_time")
    assert selectors.month_sheet_summary(sheet) == {
        "total": 4,
        "reported": 2,
        "on_time": 1,
        "late": 1,
        "not_reported": 2,
        "no_report": 1,
    }
    none = selectors.month_sheet(user=city, params={"month": f"{month:%Y-%m}", "status": "none"}, today=today)
    assert [p.name for p in none.filterset.qs] == ["乙"]
    late = selectors.month_sheet(user=city, params={"month": f"{month:%Y-%m}", "flag": "late"}, today=today)
    assert [p.name for p in late.filterset.qs] == ["丙"]
    on_time = selectors.month_sheet(
        user=city, params={"month": f"{month:%Y-%m}", "flag": "on_time"}, today=today
    )
    assert [p.name for p in on_time.filterset.qs] == ["谋划中但已填报"]
    before_due = selectors.month_sheet(
        user=city, params={"month": f"{month:%Y-%m}", "flag": "pending"}, today=due
    )
    assert sorted(p.name for p in before_due.filterset.qs) == ["乙", "甲"]


def test_the_sheet_defaults_to_the_month_being_reported():
    today = dt.date(2026, 1, 3)
    assert selectors.reporting_month(today) == dt.date(2025, 12, 1)


def test_a_started_milestone_moves_when_reports_are_owed(world, city):
    from guatu.projects.services import milestone_set_actual

    project = building_project(world, start_months_ago=0)  # planned to start this month
    month = months_ago(1)
    today = timezone.localdate()
    assert project.pk not in {
        p.pk
        for p in selectors.month_sheet(
            user=city, params={"month": f"{month:%Y-%m}"}, today=today
        ).filterset.qs
    }
    milestone_set_actual(
        actor=city, project_id=project.pk, kind="started", date=months_ago(1) + dt.timedelta(days=9)
    )
    assert project.pk in {
        p.pk
        for p in selectors.month_sheet(
            user=city, params={"month": f"{month:%Y-%m}"}, today=today
        ).filterset.qs
    }


# ---------------------------------------------------------------- S-curve


def test_scurve_plans_linearly_and_sums_reports(world, city):
    start = dt.date(2026, 1, 1)
    project = make_project(
        world,
        stage="under_construction",
        planned_start=start,
        planned_completion=dt.date(2026, 4, 30),
        total_investment=Decimal("1000"),
        annual_planned_investment=Decimal("1000"),
    )
    reports = [
        MonthlyReport(month=dt.date(2026, 1, 1), investment_done=Decimal("100")),
        MonthlyReport(month=dt.date(2026, 3, 1), investment_done=Decimal("300")),
    ]
    data = selectors.scurve_data(project=project, reports=reports, today=dt.date(2026, 4, 10))
    assert data["months"] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert data["planned"] == ["250.00", "500.00", "750.00", "1000.00"]
    assert data["actual"] == ["100.00", "100.00", "400.00", None]
    assert data["continuing"] is False


def test_scurve_of_a_continuing_project_starts_this_year_from_what_was_done_before(world):
    project = make_project(
        world,
        stage="under_construction",
        build_type="continuing",
        planned_start=dt.date(2025, 7, 1),
        planned_completion=dt.date(2026, 4, 30),
        total_investment=Decimal("1400"),
        annual_planned_investment=Decimal("800"),
    )
    reports = [
        MonthlyReport(month=dt.date(2025, 11, 1), investment_done=Decimal("400")),
        MonthlyReport(month=dt.date(2026, 1, 1), investment_done=Decimal("100")),
    ]
    data = selectors.scurve_data(project=project, reports=reports, today=dt.date(2026, 2, 10))
    assert data["continuing"] is True and data["base"] == "400.00"
    assert data["months"] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert data["planned"] == ["650.00", "900.00", "1150.00", "1400.00"]
    assert data["actual"] == ["500.00", None, None, None]
    unknown = selectors.scurve_data(project=project, reports=reports[1:], today=dt.date(2026, 2, 10))
    assert unknown["base"] == "0.00" and unknown["planned"][0] == "350.00"


# ---------------------------------------------------------------- demo


def test_demo_reports_are_valid_varied_logged_and_built_once(world):
    from collections import Counter
    from types import SimpleNamespace

    from guatu.demo import reports as demo_reports

    today = timezone.localdate()
    # Fixed codes: the demo draws per project code, so the test sees the same mix whatever ran before it.
    projects = [
        building_project(
            world, is_demo=True, start_months_ago=4 + i % 9, months=10 + i % 14,
            code=project_code("211302", n=900_000 + i, year=months_ago(4 + i % 9).year),
        )
        for i in range(40)
    ]  # fmt: skip
    result = SimpleNamespace(created=Counter())
    demo_reports.build(today=today, result=result)
    rows = list(MonthlyReport.objects.select_related("status").order_by("project_id", "month"))
    assert result.created["reports"] == len(rows) > 40
    ct = ContentType.objects.get_for_model(MonthlyReport)
    assert ChangeRecord.objects.filter(content_type=ct, action="create").count() == len(rows)
    by_project: dict[int, list[MonthlyReport]] = {}
    for row in rows:
        by_project.setdefault(row.project_id, []).append(row)
        row.full_clean()
        assert row.month <= selectors.reporting_month(today) and row.investment_done >= 0
        assert row.region_id == row.project.region_id
    for project_rows in by_project.values():
        percents = [r.percent_complete for r in project_rows]
        assert percents == sorted(percents)  # 形象进度 never goes down
    statuses = Counter(r.status.code for r in rows if r.month == selectors.reporting_month(today))
    assert statuses["approved"] and len(statuses) >= 2
    missing = [p for p in projects if p.pk not in by_project or by_project[p.pk][-1].month != months_ago(1)]
    assert missing, "some projects have not reported last month"
    again = SimpleNamespace(created=Counter())
    demo_reports.build(today=today, result=again)
    assert again.created["reports"] == 0 and MonthlyReport.objects.count() == len(rows)
