"""Target and pledge services, permissions and pages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing_views import ViewTestCases
from guatu.org.models import Unit
from guatu.projects.models import Project
from guatu.targets import selectors
from guatu.targets.models import Pledge, Target
from guatu.targets.services import (
    pledge_create,
    pledge_update,
    target_create,
    target_delete,
    target_split,
    target_update,
)
from guatu.targets.tests.helpers import milestone, project

pytestmark = pytest.mark.django_db


def data(region=None, unit=None, metric="started", period="2026Q1", value="12", comparator="ge", **extra):
    return {"metric": metric, "period": period, "value": Decimal(value), "comparator": comparator,
            "region": region, "unit": unit, **extra}  # fmt: skip


def make_target(world, *, actor=None, **kwargs):
    kwargs.setdefault("region", world.counties["211302"])
    return target_create(actor=actor, data=data(**kwargs))


class TestTargetViews(ViewTestCases.List, ViewTestCases.Detail, ViewTestCases.Create, ViewTestCases.Delete):
    model = Target
    url_prefix = "targets:target"
    invalid_data = {"period": "2026Q5"}
    invalid_message = "季度须为 1–4"

    def kept_value(self, data):
        return data["period"]

    def make_object(self, world, **kwargs):
        return make_target(world, **kwargs)

    def form_data(self, world):
        return {"metric": "started", "period": "2026Q1", "comparator": "ge", "value": "12",
                "region": world.counties["211302"].pk, "source": "一季度开工12个"}  # fmt: skip


# ---------------------------------------------------------------- services: good input


def test_create_derives_period_dates_and_logs(world):
    target = make_target(world, actor=world.users["city"], period="2026q2")
    assert (target.period, target.period_kind) == ("2026Q2", "quarter")
    assert (target.start, target.end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    record = ChangeRecord.objects.order_by("-id").first()
    assert (record.action, record.object_id, record.actor_name) == ("create", str(target.pk), "t_city")


def test_unit_targets_for_zone_and_department(world):
    zone = Unit.objects.create(name="柳城经济开发区", kind=Unit.Kind.ZONE, region=world.counties["211302"])
    assert make_target(world, region=None, unit=zone).scope_label == "柳城经济开发区"
    assert make_target(world, region=None, unit=world.department).unit == world.department


def test_month_and_quarter_of_one_metric_may_coexist(world):
    # 以月保季: a March target inside Q1 is another period kind, not a duplicate.
    make_target(world, period="2026Q1")
    make_target(world, period="2026-03")
    make_target(world, period="2026Q1", region=world.counties["211303"])  # another scope
    make_target(world, period="2026Q1", metric="completed")  # another metric
    assert Target.objects.count() == 4


# ---------------------------------------------------------------- services: bad input writes nothing


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"metric": "starts"}, "metric", "未知指标：starts"),
        ({"period": "2026Q5"}, "period", "期间“2026Q5”有误：季度须为 1–4"),
        ({"period": "下季度"}, "period", "无法识别"),
        ({"value": Decimal("-1")}, "value", "目标值不能为负数"),
        ({"comparator": "gt"}, "comparator", "比较方式“gt”无效"),
        ({"region": None}, "region", "二者只填一个"),
    ],
)
def test_bad_input_is_refused_in_chinese_and_writes_nothing(world, change, field, words):
    before = (Target.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(ValidationError) as err:
        target_create(actor=world.users["city"], data=data(region=world.counties["211302"]) | change)
    assert any(words in m for m in err.value.message_dict[field])
    assert (Target.objects.count(), ChangeRecord.objects.count()) == before


def test_duplicate_target_is_refused(world):
    first = make_target(world, period="2026Q1", value="10")
    before = (Target.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(ValidationError) as err:
        make_target(world, period="2026q1", value="15")
    message = err.value.message_dict["period"][0]
    assert "与已有目标重复" in message and str(first) in message
    assert (Target.objects.count(), ChangeRecord.objects.count()) == before


def test_update_into_an_overlapping_period_is_refused(world):
    make_target(world, period="2026Q1")
    second = make_target(world, period="2026Q2")
    with pytest.raises(ValidationError) as err:
        target_update(actor=None, target_id=second.pk, version=second.version, data={"period": "2026Q1"})
    assert "与已有目标重复" in err.value.message_dict["period"][0]
    second.refresh_from_db()
    assert (second.period, second.version) == ("2026Q2", 1)


def test_unit_of_wrong_kind_and_both_scopes_are_refused(world):
    before = (Target.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(ValidationError) as err:
        make_target(world, region=None, unit=world.enterprise)
    assert (
        "单位“朝阳测试实业有限公司”是项目单位，目标只能落在开发区或市直部门" in err.value.message_dict["unit"]
    )
    with pytest.raises(ValidationError) as err:
        make_target(world, unit=world.department)
    assert "region" in err.value.message_dict
    assert (Target.objects.count(), ChangeRecord.objects.count()) == before


def test_only_the_project_office_writes_targets(world):
    for role in ("county", "leader", "department"):
        with pytest.raises(PermissionDenied):
            make_target(world, actor=world.users[role])
    assert not Target.objects.exists()


def test_update_checks_version_and_parts_follow(world):
    city = make_target(world, region=world.city, value="120")
    target_split(actor=None, target_id=city.pk, parts={"211302": 60, "211303": 60})
    updated = target_update(
        actor=world.users["city"],
        target_id=city.pk,
        version=1,
        data={"period": "2026Q2", "value": Decimal(130)},
    )
    assert (updated.version, updated.period) == (2, "2026Q2")
    assert set(Target.objects.filter(parent=city).values_list("period", flat=True)) == {"2026Q2"}
    with pytest.raises(Conflict) as err:
        target_update(actor=world.users["city"], target_id=city.pk, version=1, data={"value": Decimal(1)})
    assert "已被他人修改" in err.value.message
    target_delete(actor=world.users["city"], target_id=city.pk, version=2)
    assert not Target.objects.exists()
    assert ChangeRecord.objects.filter(action="delete").count() == 3  # the whole and its two parts


# ---------------------------------------------------------------- split


def test_split_creates_updates_adopts_and_removes_parts(world):
    own = make_target(world, region=world.counties["211303"], value="7")  # 龙城区's own Q1 target
    city = make_target(world, region=world.city, value="120")
    parts = target_split(actor=world.users["city"], target_id=city.pk, parts={"211302": "50", "211303": 60})
    assert {p.region.code: p.value for p in parts} == {"211302": 50, "211303": 60}
    own.refresh_from_db()
    assert (own.parent_id, own.value, own.version) == (city.pk, 60, 2)  # adopted, not duplicated
    target_split(actor=None, target_id=city.pk, parts={"211302": 60, "211303": ""})
    assert {t.region.code: t.value for t in city.parts.all()} == {"211302": 60}


def test_split_refuses_what_is_not_a_county_of_the_city(world):
    city = make_target(world, region=world.city, value="120")
    county = make_target(world, value="10")
    with pytest.raises(ValidationError) as err:
        target_split(actor=None, target_id=city.pk, parts={"211302": 60, "110101": 60})
    assert "“110101”不是朝阳市所辖的县(市)区" in err.value.messages[0]
    assert not city.parts.exists()
    with pytest.raises(ValidationError) as err:
        target_split(actor=None, target_id=county.pk, parts={"211302": 1})
    assert "只有全市目标可以分解" in err.value.messages[0]


def test_split_mismatch_is_shown_on_list_and_detail(client, world):
    city = make_target(world, region=world.city, value="120", period="2026")
    target_split(actor=None, target_id=city.pk, parts={"211302": 50, "211303": 60})
    client.force_login(world.users["city"])
    body = client.get(reverse("targets:target_list"), {"period": "2026"}).content.decode()
    assert "分解合计 110，与全市目标相差 10" in body
    detail = client.get(reverse("targets:target_detail", args=[city.pk])).content.decode()
    assert "分解合计 110，与全市目标相差 10" in detail and "双塔区" in detail and "龙城区" in detail
    target_split(actor=None, target_id=city.pk, parts={"211321": 10})
    body = client.get(reverse("targets:target_list"), {"period": "2026"}).content.decode()
    assert "与全市目标相符" in body and "相差" not in body


def test_split_page_posts_and_shows_errors(client, world):
    city = make_target(world, region=world.city, value="120")
    client.force_login(world.users["city"])
    url = reverse("targets:target_split", args=[city.pk])
    response = client.post(url, {"version": 1, "c_211302": "70", "c_211303": "50"})
    assert response.status_code == 302
    assert city.parts.count() == 2
    stale = client.post(url, {"version": 0, "c_211302": "1"})
    assert stale.status_code == 409 and "已被他人修改" in stale.content.decode()
    client.force_login(world.users["county"])
    assert client.post(url, {"version": 1, "c_211302": "1"}).status_code == 403


# ---------------------------------------------------------------- permissions and selectors


def test_county_sees_city_and_own_targets_not_another_county(client, world):
    city = make_target(world, region=world.city, value="120")
    own = make_target(world, region=world.counties["211302"])
    other = make_target(world, region=world.counties["211303"])
    dept = make_target(world, region=None, unit=world.department)
    seen = set(selectors.target_queryset(user=world.users["county"]))
    assert seen == {city, own}
    assert set(selectors.target_queryset(user=world.users["department"])) == {city, dept}
    assert set(selectors.target_queryset(user=world.users["leader"])) == {city, own, other, dept}
    assert not selectors.target_queryset(user=world.users["auditor"]).exists()
    client.force_login(world.users["county"])
    assert client.get(reverse("targets:target_detail", args=[other.pk])).status_code == 404
    body = client.get(reverse("targets:target_list")).content.decode()
    assert str(city) in body and str(own) in body and str(other) not in body
    assert client.get(reverse("targets:target_add")).status_code == 403


def test_target_rows_and_target_for(world):
    today = dt.date(2026, 2, 10)
    q1 = make_target(world, region=world.city, value="120")
    make_target(world, region=world.city, period="2026Q2", value="191", metric="at_capacity")
    make_target(world, region=world.city, period="2026", value="200", metric="signed")
    county_q1 = make_target(world, region=world.counties["211302"], value="20")
    user = world.users["city"]
    current = selectors.target_rows(user=user, today=today)
    assert {r.target.period for r in current} == {"2026Q1", "2026"}
    assert {r.target for r in selectors.target_rows(user=user, period="2026Q1", today=today)} == {
        q1,
        county_q1,
    }
    assert [
        r.target for r in selectors.target_rows(user=user, period="2026Q1", city_only=True, today=today)
    ] == [q1]
    assert selectors.target_for(metric="started", period="2026Q1", region=world.city) == q1
    assert selectors.target_for(metric="started", period="2026Q2", region=world.city) is None
    assert selectors.current_phase(dt.date(2026, 5, 1)).name == "双过半"
    assert selectors.current_phase(dt.date(2026, 12, 31)).name == "收官"


def test_list_shows_phase_with_headline_city_actuals(client, world):
    today = dt.date.today()
    phase = selectors.current_phase(today)
    client.force_login(world.users["city"])
    body = client.get(reverse("targets:target_list")).content.decode()
    assert phase.name in body and phase.slogan in body


def test_detail_of_a_quarter_target_names_its_phase(client, world):
    q1 = make_target(world, region=world.city, value="120", source="一季度开工120个")
    client.force_login(world.users["leader"])
    body = client.get(reverse("targets:target_detail", args=[q1.pk])).content.decode()
    assert "开门红" in body and "一季度开工120个" in body
    assert "分解目标" not in body  # the leader reads, the project office splits


def test_list_filters_by_period_metric_and_scope(client, world):
    make_target(world, region=world.city, value="120")
    make_target(world, region=world.city, period="2026", value="200", metric="signed")
    make_target(world, region=world.counties["211302"], value="20")
    client.force_login(world.users["city"])
    url = reverse("targets:target_list")
    assert "共 1 条" in client.get(url, {"metric": "signed"}).content.decode()
    assert "共 2 条" in client.get(url, {"period": "2026Q1"}).content.decode()
    assert "共 1 条" in client.get(url, {"period": "2026Q1", "scope": "city"}).content.decode()
    bad = client.get(url, {"period": "2026Q5"}).content.decode()
    assert "季度须为 1–4" in bad and "共 0 条" in bad


def test_edit_page_stale_version_gets_409(client, world):
    target = make_target(world)
    client.force_login(world.users["city"])
    url = reverse("targets:target_edit", args=[target.pk])
    form = {
        "metric": "started",
        "period": "2026Q1",
        "comparator": "ge",
        "region": target.region_id,
        "version": 1,
    }
    assert client.post(url, form | {"value": "13"}).status_code == 302
    second = client.post(url, form | {"value": "14"})
    assert second.status_code == 409 and "已被他人修改" in second.content.decode()
    target.refresh_from_db()
    assert target.value == 13


# ---------------------------------------------------------------- pledges (军令状)


@pytest.fixture
def county_unit(world):
    return Unit.objects.create(name="双塔区人民政府", kind=Unit.Kind.COUNTY, region=world.counties["211302"])


def pledge_data(unit, **extra):
    return {"unit": unit, "title": "2026年项目建设军令状", "signer": "张三", "signer_title": "区委书记",
            "signed_on": dt.date(2026, 2, 7), **extra}  # fmt: skip


def test_pledge_with_its_targets_and_missed_flag(client, world, county_unit):
    p = project(world, stage="started", signed_on=dt.date(2024, 1, 1))
    milestone(p, "started", dt.date(2025, 2, 1))
    missed = make_target(world, period="2025Q1", value="3")  # 1 started of 3: missed
    met = make_target(world, period="2025Q1", metric="started_or_resumed", value="1")
    pledge = pledge_create(
        actor=world.users["city"], data=pledge_data(county_unit), target_ids=[missed.pk, met.pk]
    )
    assert pledge.region == world.counties["211302"]
    assert set(pledge.targets.all()) == {missed, met}
    (row,) = selectors.pledge_rows(user=world.users["county"], pledges=[pledge])
    assert {r.target: r.status for r in row.rows} == {missed: "missed", met: "met"}
    assert row.missed_count == 1
    client.force_login(world.users["county"])
    body = client.get(reverse("targets:pledge_list")).content.decode()
    assert "双塔区人民政府" in body and "张三" in body and "未完成" in body and "1 项未完成" in body
    detail = client.get(reverse("targets:pledge_detail", args=[pledge.pk])).content.decode()
    assert "已完成 1，未完成 1" in detail
    client.force_login(world.users["other_county"])
    assert client.get(reverse("targets:pledge_detail", args=[pledge.pk])).status_code == 404


def test_pledge_refuses_targets_of_another_unit_and_writes_nothing(world, county_unit):
    other = make_target(world, region=world.counties["211303"])
    before = (Pledge.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(ValidationError) as err:
        pledge_create(actor=world.users["city"], data=pledge_data(county_unit), target_ids=[other.pk])
    assert "不属于立状单位“双塔区人民政府”" in err.value.message_dict["targets"][0]
    assert (Pledge.objects.count(), ChangeRecord.objects.count()) == before
    with pytest.raises(ValidationError) as err:
        pledge_create(actor=None, data=pledge_data(world.enterprise))
    assert "军令状由县(市)区、开发区或市直部门签署" in err.value.message_dict["unit"][0]
    with pytest.raises(PermissionDenied):
        pledge_create(actor=world.users["county"], data=pledge_data(county_unit))


def test_pledge_update_replaces_its_targets_and_checks_version(world, county_unit):
    a, b = make_target(world, period="2026Q1"), make_target(world, period="2026Q2")
    pledge = pledge_create(actor=None, data=pledge_data(county_unit), target_ids=[a.pk])
    pledge = pledge_update(actor=world.users["city"], pledge_id=pledge.pk, version=1, data={"signer": "李四"},
                           target_ids=[b.pk])  # fmt: skip
    assert (pledge.signer, pledge.version, list(pledge.targets.all())) == ("李四", 2, [b])
    with pytest.raises(Conflict):
        pledge_update(actor=world.users["city"], pledge_id=pledge.pk, version=1, data={"signer": "王五"})


def test_pledge_pages_create_and_edit(client, world, county_unit):
    target = make_target(world)
    client.force_login(world.users["city"])
    form = {"unit": county_unit.pk, "title": "军令状", "signer": "赵六", "signer_title": "区委书记",
            "signed_on": "2026-02-07", "targets": [target.pk]}  # fmt: skip
    response = client.post(reverse("targets:pledge_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    pledge = Pledge.objects.get()
    assert list(pledge.targets.all()) == [target]
    bad = client.post(reverse("targets:pledge_edit", args=[pledge.pk]), form | {"version": 1, "signer": ""})
    assert bad.status_code == 400


# ---------------------------------------------------------------- demo


def test_demo_targets_and_pledges_are_idempotent(world):
    from collections import Counter

    from guatu.demo import catalogue as cat
    from guatu.demo import targets_demo

    for county in cat.COUNTIES:
        Unit.objects.create(
            name=f"{county.name}人民政府", kind=Unit.Kind.COUNTY, region=world.counties[county.code]
        )
    for name in cat.DEPARTMENTS:
        Unit.objects.get_or_create(name=name, defaults={"kind": Unit.Kind.DEPARTMENT, "region": world.city})
    signed = project(world, stage="preparing", planned_start=dt.date(2026, 9, 1), is_demo=True)
    early = project(world, stage="started", planned_start=dt.date(2026, 3, 1), is_demo=True)
    project(world, stage="planning", is_demo=True)  # not signed: no signing day
    today = dt.date(2026, 5, 15)

    class Result:
        created = Counter()

    targets_demo.build(today=today, result=Result)
    city = {t.source: t for t in Target.objects.filter(region=world.city)}
    assert {
        "一季度开工120个": ("started", "2026Q1", Decimal(120)),
        "二季度达产191个": ("at_capacity", "2026Q2", Decimal(191)),
        "全年引进项目200个以上": ("signed", "2026", Decimal(200)),
        "开复工项目1000个以上": ("started_or_resumed", "2026", Decimal(1000)),
    }.items() <= {source: (t.metric, t.period, t.value) for source, t in city.items()}.items()
    for source in ("一季度开工120个", "二季度达产191个", "全年引进项目200个以上", "开复工项目1000个以上"):
        target = city[source]
        assert (target.comparator, target.is_demo, target.parts.count()) == ("ge", True, 7)
        assert sum(p.value for p in target.parts.all()) == target.value  # the parts add up
    assert city["全年完成年度投资计划"].metric == "plan_completion_rate"
    assert Target.objects.filter(region=world.city, period="2026Q4").exists()
    pledges = Pledge.objects.all()
    assert pledges.count() == 12 and all(p.is_demo for p in pledges)
    assert all(1 <= p.targets.count() <= 3 for p in pledges)
    shuangta = pledges.get(unit__name="双塔区人民政府")
    assert shuangta.signer_title == "双塔区委书记" and shuangta.signed_on == dt.date(2026, 2, 7)
    # Signing days: before the planned start, never after today; none for a project still 谋划.
    signed.refresh_from_db()
    early.refresh_from_db()
    assert dt.date(2026, 1, 1) <= signed.signed_on <= today
    assert early.signed_on < early.planned_start
    assert not Project.objects.filter(stage__code="planning", signed_on__isnull=False).exists()
    counts = (Target.objects.count(), Pledge.objects.count(), ChangeRecord.objects.count())
    targets_demo.build(today=today, result=Result)
    assert (Target.objects.count(), Pledge.objects.count(), ChangeRecord.objects.count()) == counts
