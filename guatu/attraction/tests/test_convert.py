import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from guatu.attraction import services
from guatu.attraction.models import Lead, LeadStageChange
from guatu.attraction.tests.leads_helpers import TODAY, make_lead
from guatu.core.models import ChangeRecord
from guatu.org.models import Unit
from guatu.projects.models import Project

pytestmark = pytest.mark.django_db

CODE = "2026-211302-44-01-000777"


def convert(lead, actor=None, **data):
    values = {"code": CODE, "kind": "industry", "on": dt.date(2026, 5, 1)} | data
    return services.lead_convert(actor=actor, lead_id=lead.pk, version=lead.version, data=values, today=TODAY)


def test_conversion_creates_the_project_linked_both_ways_without_retyping(world):
    lead = make_lead(
        world, stage="registered", start=dt.date(2026, 1, 5), investor="北京测试氢能有限公司",
        amount=Decimal("52000"), is_two_high=False,
    )  # fmt: skip
    project = convert(
        lead, actor=world.users["county"], planned_start=dt.date(2026, 5, 10),
        planned_completion=dt.date(2027, 10, 1),
    )  # fmt: skip
    lead = Lead.objects.get(pk=lead.pk)
    assert lead.project == project and project.lead == lead
    assert lead.stage.code == "started"
    change = LeadStageChange.objects.get(lead=lead, to_stage__code="started")
    assert change.on == dt.date(2026, 5, 1) and change.from_stage.code == "registered"
    assert (project.name, project.region, project.chain, project.total_investment) == (
        lead.name, lead.region, lead.chain, Decimal("52000.00"),
    )  # fmt: skip
    assert project.code == CODE and project.kind == "industry"
    assert project.signed_on == dt.date(2026, 1, 26)  # the day the lead entered 正式签约
    assert (project.planned_start, project.planned_completion) == (dt.date(2026, 5, 10), dt.date(2027, 10, 1))
    enterprise = project.enterprise
    assert enterprise.name == "北京测试氢能有限公司" and enterprise.kind == Unit.Kind.ENTERPRISE
    assert enterprise.region == lead.region
    assert ChangeRecord.objects.filter(content_type__model="project", object_id=str(project.pk)).exists()


def test_an_existing_enterprise_is_reused(world):
    lead = make_lead(world, stage="registered", investor=world.enterprise.name)
    units = Unit.objects.count()
    project = convert(lead)
    assert project.enterprise == world.enterprise and Unit.objects.count() == units


def test_a_second_conversion_is_refused(world):
    lead = make_lead(world, stage="registered")
    convert(lead)
    lead = Lead.objects.get(pk=lead.pk)
    with pytest.raises(ValidationError) as err:
        convert(lead, code="2026-211302-44-01-000778")
    assert "已转为项目" in str(err.value) and "不能重复转换" in str(err.value)
    assert Project.objects.count() == 1


def test_conversion_before_registration_is_refused(world):
    lead = make_lead(world, stage="signed")
    with pytest.raises(ValidationError) as err:
        convert(lead)
    assert "须注册落户后才能转为项目" in str(err.value)
    assert not Project.objects.exists()


def test_a_bad_code_writes_nothing(world):
    lead = make_lead(world, stage="registered", investor="新投资方有限公司")
    before = (Project.objects.count(), Unit.objects.count(), ChangeRecord.objects.count())
    with pytest.raises(ValidationError) as err:
        convert(lead, code="not-a-code")
    assert "code" in err.value.message_dict
    lead = Lead.objects.get(pk=lead.pk)
    assert lead.stage.code == "registered" and lead.project is None
    assert (Project.objects.count(), Unit.objects.count(), ChangeRecord.objects.count()) == before


def test_code_and_kind_are_required(world):
    lead = make_lead(world, stage="registered")
    with pytest.raises(ValidationError) as err:
        services.lead_convert(actor=None, lead_id=lead.pk, version=lead.version, data={}, today=TODAY)
    assert set(err.value.message_dict) == {"code", "kind"}


def test_a_department_cannot_convert(world):
    lead = make_lead(world, stage="registered")  # attracted by the department
    with pytest.raises(PermissionDenied):
        convert(lead, actor=world.users["department"])
    assert not Project.objects.exists()


def test_convert_page(world, client):
    lead = make_lead(world, stage="registered")
    client.force_login(world.users["city"])
    url = reverse("attraction:lead_detail", args=[lead.pk])
    assert "开工：转为入库项目" in client.get(url).content.decode()
    response = client.post(
        reverse("attraction:lead_convert", args=[lead.pk]),
        {"code": CODE, "kind": "industry", "build_type": "new", "on": "2026-05-01", "version": lead.version},
    )
    assert response.status_code == 302
    project = Project.objects.get(code=CODE)
    page = client.get(url).content.decode()
    assert project.get_absolute_url() in page and "开工：转为入库项目" not in page
    client.force_login(world.users["department"])
    page = client.get(url).content.decode()
    assert "开工：转为入库项目" not in page
