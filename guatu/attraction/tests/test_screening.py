import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from guatu.attraction import services
from guatu.attraction.models import Lead, LeadStageChange
from guatu.attraction.tests.leads_helpers import TODAY, make_lead
from guatu.core.models import ChangeRecord

pytestmark = pytest.mark.django_db

SIGN_ON = dt.date(2026, 2, 1)


def sign(lead):
    return services.lead_advance(
        actor=None, lead_id=lead.pk, version=lead.version, to_stage="signed", on=SIGN_ON, today=TODAY
    )


def frozen(lead):
    def state():
        row = Lead.objects.get(pk=lead.pk)
        return (
            row.stage_id,
            row.version,
            LeadStageChange.objects.filter(lead=lead).count(),
            ChangeRecord.objects.count(),
        )

    before = state()
    return lambda: state() == before


def test_signing_is_refused_listing_every_failure_and_writes_nothing(world):
    lead = make_lead(
        world, stage="framework", industry_fit="failed", relocation="squeezed", is_two_high=True,
        is_six_small=True, land_mu=Decimal("1200"), energy_tce=Decimal("60000"),
    )  # fmt: skip
    unchanged = frozen(lead)
    with pytest.raises(ValidationError) as err:
        sign(lead)
    message = " ".join(err.value.messages)
    assert f"线索“{lead.name}”研判未通过，不能签约" in message
    for reason in (
        "产业契合未通过",
        "属于“挤出”项目",
        "两高项目",
        "六小项目",
        "用地超过 1000 亩",
        "能耗超过 50000 吨标煤",
    ):
        assert reason in message, reason
    assert unchanged()


def test_only_the_failures_present_are_listed(world):
    lead = make_lead(world, stage="framework", land_mu=Decimal("1000"), energy_tce=Decimal("50000.01"))
    with pytest.raises(ValidationError) as err:
        sign(lead)
    message = " ".join(err.value.messages)
    assert "能耗超过 50000 吨标煤" in message
    assert "用地" not in message and "两高" not in message and "产业契合" not in message


def test_pending_industry_fit_blocks_signing(world):
    lead = make_lead(world, stage="framework", industry_fit="pending")
    with pytest.raises(ValidationError) as err:
        sign(lead)
    assert "产业契合尚未研判" in " ".join(err.value.messages)


def test_clearing_the_failure_then_signing_works(world):
    lead = make_lead(world, stage="framework", relocation="squeezed", is_two_high=True)
    with pytest.raises(ValidationError):
        sign(lead)
    records = ChangeRecord.objects.count()
    lead = services.lead_screen(
        actor=world.users["county"], lead_id=lead.pk, version=lead.version,
        data={"relocation": "spillover", "is_two_high": False, "screening_note": "京津冀溢出产能，能耗已核减"},
    )  # fmt: skip
    assert ChangeRecord.objects.count() == records + 1
    assert services.screening_failures(lead) == []
    lead = sign(lead)
    assert lead.stage.code == "signed"
    assert LeadStageChange.objects.get(lead=lead, to_stage__code="signed").on == SIGN_ON


def test_thresholds_come_from_settings(world, settings):
    settings.GUATU_LEAD_MAX_LAND_MU = 300
    settings.GUATU_LEAD_MAX_ENERGY_TCE = 5000
    lead = make_lead(world, stage="framework", land_mu=Decimal("301"), energy_tce=Decimal("5000"))
    with pytest.raises(ValidationError) as err:
        sign(lead)
    message = " ".join(err.value.messages)
    assert "用地超过 300 亩" in message and "能耗" not in message


def test_import_of_a_signed_lead_is_screened_too(world):
    from guatu.attraction.tests.leads_helpers import lead_data

    with pytest.raises(ValidationError) as err:
        services.lead_create(
            actor=None, data={**lead_data(world, is_six_small=True), "stage": "signed"}, today=TODAY
        )
    assert "六小项目" in " ".join(err.value.messages)
    assert not Lead.objects.exists()


def test_screen_refuses_unknown_fields_and_negative_needs(world):
    lead = make_lead(world)
    with pytest.raises(ValidationError):
        services.lead_screen(actor=None, lead_id=lead.pk, version=lead.version, data={"amount": Decimal("1")})
    with pytest.raises(ValidationError) as err:
        services.lead_screen(
            actor=None, lead_id=lead.pk, version=lead.version, data={"land_mu": Decimal("-1")}
        )
    assert "不能为负数" in str(err.value)


def test_detail_page_shows_the_refusal_on_the_form(world, client):
    lead = make_lead(world, stage="framework", is_six_small=True)
    client.force_login(world.users["city"])
    url = reverse("attraction:lead_detail", args=[lead.pk])
    page = client.get(url).content.decode()
    assert "研判未通过，签约将被拒绝：六小项目" in page
    response = client.post(
        reverse("attraction:lead_advance", args=[lead.pk]),
        {"to_stage": "signed", "on": "2026-02-01", "version": lead.version},
    )
    assert response.status_code == 400
    assert "研判未通过，不能签约：六小项目" in response.content.decode()
    response = client.post(
        reverse("attraction:lead_screen", args=[lead.pk]),
        {"industry_fit": "passed", "relocation": "none", "version": lead.version, "screening_note": "已整改"},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert not lead.is_six_small and lead.screening_note == "已整改"
