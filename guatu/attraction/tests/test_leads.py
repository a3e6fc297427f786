import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from guatu.attraction import services
from guatu.attraction.models import FundsInPlace, Lead, LeadStageChange
from guatu.attraction.selectors import lead_queryset, lead_timeline
from guatu.attraction.tests.leads_helpers import TODAY, county_unit, lead_data, link, make_lead
from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.org.models import Chain, Unit

pytestmark = pytest.mark.django_db


def advance(lead, to_stage, on, actor=None):
    return services.lead_advance(
        actor=actor, lead_id=lead.pk, version=lead.version, to_stage=to_stage, on=on, today=TODAY
    )


# --- create and update


def test_create_starts_at_clue_with_its_date_and_a_change_record(world):
    user = world.users["county"]
    before = ChangeRecord.objects.count()
    lead = services.lead_create(
        actor=user,
        data=lead_data(world, attracting_unit=county_unit(world)),
        on=dt.date(2026, 2, 1),
        today=TODAY,
    )
    assert lead.stage.code == "clue"
    change = LeadStageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage.code, change.on) == (None, "clue", dt.date(2026, 2, 1))
    assert ChangeRecord.objects.count() == before + 2  # the lead and its stage row
    assert lead.created_by == user


@pytest.mark.parametrize(
    ("field", "make_value", "message"),
    [
        ("attracting_unit", lambda w: w.enterprise, "须为县(市)区政府、开发区或市直部门"),
        ("region", lambda w: w.city, "不是本市的县(市)区"),
        ("amount", lambda w: Decimal("0"), "须大于 0"),
        ("amount", lambda w: Decimal("-5"), "须大于 0"),
    ],
)
def test_create_refuses_bad_facts_and_writes_nothing(world, field, make_value, message):
    before = (Lead.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(ValidationError) as err:
        services.lead_create(actor=None, data=lead_data(world, **{field: make_value(world)}), today=TODAY)
    assert message in "".join(err.value.message_dict[field])
    assert (Lead.objects.count(), ChangeRecord.objects.count()) == before


def test_link_must_belong_to_the_leads_chain_and_gives_its_position(world):
    other = Chain.objects.create(name="钢铁深加工", order=2)
    foreign = link(world, "特钢", chain=other)
    with pytest.raises(ValidationError) as err:
        services.lead_create(actor=None, data=lead_data(world, link=foreign), today=TODAY)
    assert "环节“特钢”不属于产业链“新能源”" in err.value.message_dict["link"][0]
    own = link(world, "正极材料", position="upstream")
    lead = services.lead_create(actor=None, data=lead_data(world, link=own), today=TODAY)
    assert lead.position == "upstream"
    with pytest.raises(ValidationError) as err:
        services.lead_create(actor=None, data=lead_data(world, link=own, position="downstream"), today=TODAY)
    assert "位置" in str(err.value.message_dict["position"])


def test_update_checks_the_version_and_writes_nothing_when_unchanged(world):
    lead = make_lead(world)
    records = ChangeRecord.objects.count()
    same = services.lead_update(actor=None, lead_id=lead.pk, version=lead.version, data={"name": lead.name})
    assert same.version == lead.version and ChangeRecord.objects.count() == records
    updated = services.lead_update(
        actor=None, lead_id=lead.pk, version=lead.version, data={"amount": Decimal("30000")}
    )
    assert updated.version == lead.version + 1 and ChangeRecord.objects.count() == records + 1
    with pytest.raises(Conflict) as err:
        services.lead_update(actor=None, lead_id=lead.pk, version=lead.version, data={"amount": Decimal("1")})
    assert "已被他人修改" in err.value.message
    with pytest.raises(ValidationError):
        services.lead_update(actor=None, lead_id=lead.pk, version=updated.version, data={"stage": None})


# --- stage rules


def test_stages_advance_one_at_a_time_with_dates(world):
    lead = make_lead(world, start=dt.date(2026, 1, 5))
    lead = advance(lead, "negotiating", dt.date(2026, 1, 20))
    assert lead.stage.code == "negotiating"
    with pytest.raises(ValidationError) as err:
        advance(lead, "signed", dt.date(2026, 1, 25))  # skips 框架协议
    assert "只能逐级推进" in str(err.value) and "框架协议" in str(err.value)
    with pytest.raises(ValidationError):
        advance(lead, "clue", dt.date(2026, 1, 25))  # backwards
    assert Lead.objects.get(pk=lead.pk).stage.code == "negotiating"
    assert LeadStageChange.objects.filter(lead=lead).count() == 2


def test_a_back_dated_or_future_advance_is_refused(world):
    lead = make_lead(world, stage="negotiating", start=dt.date(2026, 3, 1))  # 洽谈 on 3-8
    with pytest.raises(ValidationError) as err:
        advance(lead, "framework", dt.date(2026, 3, 7))
    assert "不能早于进入“洽谈”的日期（2026-03-08）" in str(err.value)
    with pytest.raises(ValidationError) as err:
        advance(lead, "framework", TODAY + dt.timedelta(days=1))
    assert "不能晚于今天" in str(err.value)
    lead = advance(lead, "framework", dt.date(2026, 3, 8))  # the same day is fine
    assert lead.stage.code == "framework"


def test_started_is_entered_only_by_conversion(world):
    lead = make_lead(world, stage="registered")
    with pytest.raises(ValidationError) as err:
        advance(lead, "started", TODAY)
    assert "转为入库项目" in str(err.value)


def test_timeline_gives_days_in_each_stage(world):
    lead = make_lead(world, stage="framework", start=dt.date(2026, 6, 1))  # 6-1, 6-8, 6-15
    steps = lead_timeline(user=world.users["city"], lead=lead, today=TODAY)
    assert [(s.stage.code, s.entered_on, s.days) for s in steps[:3]] == [
        ("clue", dt.date(2026, 6, 1), 7),
        ("negotiating", dt.date(2026, 6, 8), 7),
        ("framework", dt.date(2026, 6, 15), 15),
    ]
    assert steps[2].is_current
    assert [s.stage.code for s in steps[3:]] == ["signed", "registered", "started", "in_production"]
    assert all(s.entered_on is None for s in steps[3:])


# --- drop


def test_drop_needs_a_reason_and_stops_the_lead(world):
    lead = make_lead(world, stage="negotiating")
    with pytest.raises(ValidationError) as err:
        services.lead_drop(actor=None, lead_id=lead.pk, version=lead.version, reason=" ", today=TODAY)
    assert "须填写原因" in str(err.value)
    lead = services.lead_drop(
        actor=None, lead_id=lead.pk, version=lead.version, reason="投资方资金链断裂", on=TODAY, today=TODAY
    )
    assert lead.dropped_at == TODAY and lead.drop_reason == "投资方资金链断裂"
    assert lead.stage.code == "negotiating"  # the stage reached is kept
    with pytest.raises(ValidationError) as err:
        advance(lead, "framework", TODAY)
    assert "已于 2026-06-30 放弃" in str(err.value)


def test_a_started_lead_cannot_be_dropped(world):
    lead = make_lead(world, stage="registered")
    lead = Lead.objects.get(pk=lead.pk)
    project = services.lead_convert(
        actor=None, lead_id=lead.pk, version=lead.version,
        data={"code": "2026-211302-44-01-000901", "kind": "industry", "on": TODAY}, today=TODAY,
    )  # fmt: skip
    lead = Lead.objects.get(pk=project.lead.pk)
    with pytest.raises(ValidationError) as err:
        services.lead_drop(actor=None, lead_id=lead.pk, version=lead.version, reason="x", today=TODAY)
    assert "不能放弃" in str(err.value)


# --- funds in place


def test_funds_only_for_signed_leads(world):
    lead = make_lead(world, stage="framework")
    with pytest.raises(ValidationError) as err:
        services.funds_add(actor=None, lead_id=lead.pk, received_on=TODAY, amount=Decimal("100"), today=TODAY)
    assert "尚未签约" in str(err.value)
    assert not FundsInPlace.objects.exists()


def test_funds_rules_on_a_signed_lead(world):
    lead = make_lead(world, stage="signed", start=dt.date(2026, 3, 2))  # signed 3-23
    for amount, day, message in [
        (Decimal("0"), TODAY, "须大于 0"),
        (Decimal("-1"), TODAY, "须大于 0"),
        (Decimal("100"), TODAY + dt.timedelta(days=1), "不能晚于今天"),
        (Decimal("100"), dt.date(2026, 3, 22), "不能早于签约日期"),
    ]:
        with pytest.raises(ValidationError) as err:
            services.funds_add(actor=None, lead_id=lead.pk, received_on=day, amount=amount, today=TODAY)
        assert message in str(err.value)
    assert not FundsInPlace.objects.exists()
    funds = services.funds_add(
        actor=world.users["city"],
        lead_id=lead.pk,
        received_on=dt.date(2026, 4, 1),
        amount="1500.5",
        today=TODAY,
    )
    assert funds.amount == Decimal("1500.50") and funds.region == lead.region
    assert ChangeRecord.objects.filter(object_id=str(funds.pk), content_type__model="fundsinplace").exists()


# --- scope per role


def test_scope_per_role(world):
    shuangta = county_unit(world, "211302")
    own = make_lead(world, attracting_unit=world.department)  # lands in 双塔区
    attracted_elsewhere = make_lead(world, attracting_unit=shuangta, region=world.counties["211303"])
    other = make_lead(world, attracting_unit=world.other_department, region=world.counties["211303"])
    visible = {
        key: set(lead_queryset(user=user).values_list("pk", flat=True)) for key, user in world.users.items()
    }
    everyone = {own.pk, attracted_elsewhere.pk, other.pk}
    assert visible["city"] == visible["leader"] == everyone
    assert visible["county"] == {own.pk, attracted_elsewhere.pk}
    assert visible["other_county"] == {attracted_elsewhere.pk, other.pk}
    assert visible["department"] == {own.pk}
    for key in ("enterprise", "steward", "sysadmin", "secadmin", "auditor"):
        assert visible[key] == set(), key
    assert set(lead_queryset(user=world.users["leader"], action="change")) == set()


def test_writes_outside_scope_are_refused(world):
    lead = make_lead(world, attracting_unit=world.other_department, region=world.counties["211303"])
    with pytest.raises(Lead.DoesNotExist):
        advance(lead, "negotiating", TODAY, actor=world.users["county"])
    with pytest.raises(Lead.DoesNotExist):
        advance(lead, "negotiating", TODAY, actor=world.users["leader"])
    with pytest.raises(PermissionDenied):
        services.lead_create(actor=world.users["enterprise"], data=lead_data(world), today=TODAY)
    # A county may not place a lead in another county attracted by someone else's unit.
    with pytest.raises(PermissionDenied):
        services.lead_create(
            actor=world.users["county"], data=lead_data(world, region=world.counties["211303"]), today=TODAY
        )
    # A department works only the leads it attracts.
    with pytest.raises(PermissionDenied):
        services.lead_create(
            actor=world.users["department"],
            data=lead_data(world, attracting_unit=world.other_department),
            today=TODAY,
        )
    assert services.lead_create(actor=world.users["department"], data=lead_data(world), today=TODAY).pk


# --- pages


def test_list_filters_and_badges(world, client):
    blocked = make_lead(world, name="两高焦化项目", is_two_high=True)
    make_lead(world, name="风电整机项目", stage="negotiating")
    dropped = make_lead(world, name="放弃的项目")
    services.lead_drop(
        actor=None, lead_id=dropped.pk, version=dropped.version, reason="不符合规划", today=TODAY
    )
    client.force_login(world.users["city"])
    url = reverse("attraction:lead_list")
    page = client.get(url).content.decode()
    assert "研判未通过" in page and "两高项目" in page  # the reason is on the badge's title
    assert "两高焦化项目" in client.get(url, {"blocked": "yes"}).content.decode()
    not_blocked = client.get(url, {"blocked": "no"}).content.decode()
    assert "两高焦化项目" not in not_blocked and "风电整机项目" in not_blocked
    by_stage = client.get(url, {"stage": "negotiating"}).content.decode()
    assert "风电整机项目" in by_stage and "两高焦化项目" not in by_stage
    assert "放弃的项目" in client.get(url, {"dropped": "yes"}).content.decode()
    assert "放弃的项目" not in client.get(url, {"dropped": "no"}).content.decode()
    assert blocked.name not in client.get(url, {"county": "211303"}).content.decode()
    assert blocked.name in client.get(url, {"county": world.city.code}).content.decode()


def test_nav_shows_zhaoshang_to_business_roles_that_work_leads(world, client):
    for key, shown in [("city", True), ("leader", True), ("county", True), ("department", True),
                       ("enterprise", False), ("steward", False)]:  # fmt: skip
        client.force_login(world.users[key])
        page = client.get(reverse("projects:project_list")).content.decode()
        assert (reverse("attraction:lead_list") in page) is shown, key


def test_detail_page_shows_timeline_and_advances(world, client):
    lead = make_lead(world, stage="negotiating", start=dt.date(2026, 1, 5))
    client.force_login(world.users["county"])
    url = reverse("attraction:lead_detail", args=[lead.pk])
    page = client.get(url).content.decode()
    assert "阶段进程" in page and "2026-01-12" in page and "推进到“框架协议”" in page
    response = client.post(
        reverse("attraction:lead_advance", args=[lead.pk]),
        {"to_stage": "framework", "on": "2026-01-10", "version": lead.version},
    )
    assert response.status_code == 400
    assert "不能早于进入“洽谈”的日期" in response.content.decode()
    response = client.post(
        reverse("attraction:lead_advance", args=[lead.pk]),
        {"to_stage": "framework", "on": "2026-01-20", "version": lead.version},
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).stage.code == "framework"


def test_create_and_edit_pages(world, client):
    client.force_login(world.users["department"])
    response = client.post(
        reverse("attraction:lead_add"),
        {
            "name": "储能电站", "investor": "天津测试储能有限公司", "investor_region": "天津市",
            "chain": world.chain.pk, "amount": "0", "attracting_unit": world.department.pk,
            "region": world.counties["211302"].pk,
        },
    )  # fmt: skip
    assert response.status_code == 400 and "须大于 0" in response.content.decode()
    assert not Lead.objects.exists()
    response = client.post(
        reverse("attraction:lead_add"),
        {
            "name": "储能电站", "investor": "天津测试储能有限公司", "investor_region": "天津市",
            "chain": world.chain.pk, "amount": "8000", "attracting_unit": world.department.pk,
            "region": world.counties["211302"].pk,
        },
    )  # fmt: skip
    lead = Lead.objects.get()
    assert response.status_code == 302 and response.url == lead.get_absolute_url()
    assert client.get(reverse("attraction:lead_edit", args=[lead.pk])).status_code == 200
    client.force_login(world.users["enterprise"])
    assert client.get(reverse("attraction:lead_list")).status_code == 403
    assert client.get(reverse("attraction:lead_detail", args=[lead.pk])).status_code == 403
    client.force_login(world.users["other_county"])
    assert client.get(reverse("attraction:lead_detail", args=[lead.pk])).status_code == 404


def test_unit_kinds_accepted_as_attracting_units(world):
    zone = Unit.objects.create(
        name="朝阳经济技术开发区", kind=Unit.Kind.ZONE, region=world.counties["211302"]
    )
    for unit in (zone, county_unit(world), world.department):
        assert services.lead_create(actor=None, data=lead_data(world, attracting_unit=unit), today=TODAY).pk
