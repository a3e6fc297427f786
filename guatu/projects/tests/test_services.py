from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project
from guatu.projects.models import Project, StageChange
from guatu.projects.services import project_change_stage, project_update

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("code", "2026-211302-44-01-12345", "格式不对"),
        ("code", "2026-110101-44-01-000001", "不属于本市"),
        ("code", "1826-211302-44-01-000001", "年份"),
        ("total_investment", Decimal("-1"), "不能为负数"),
        ("planned_completion", "2026-01-01", "不能早于计划开工日期"),
        ("latitude", Decimal("30.0"), "不在本市范围内"),
    ],
)
def test_bad_project_facts_are_refused_and_nothing_written(world, field, value, message):
    extra = {field: value}
    if field == "planned_completion":
        extra["planned_start"] = "2026-03-01"
    if field == "latitude":
        extra["longitude"] = Decimal("120.4")
    before = ChangeRecord.objects.count()
    with pytest.raises(ValidationError) as err:
        make_project(world, **extra)
    assert message in str(err.value.message_dict)
    assert Project.objects.count() == 0
    assert ChangeRecord.objects.count() == before


def test_a_location_inside_the_city_is_kept(world):
    project = make_project(world, latitude=Decimal("41.57"), longitude=Decimal("120.45"))
    assert project.latitude == Decimal("41.57")


def test_stale_version_is_a_conflict_not_an_overwrite(world):
    project = make_project(world)
    city = world.users["city"]
    project_update(actor=city, project_id=project.pk, version=1, data={"name": "第一次修改"})
    with pytest.raises(Conflict, match="已被他人修改"):
        project_update(actor=city, project_id=project.pk, version=1, data={"name": "第二次修改"})
    project.refresh_from_db()
    assert project.name == "第一次修改"
    assert project.version == 2


def test_county_cannot_move_a_project_out_of_its_region(world):
    project = make_project(world)
    county = world.users["county"]
    with pytest.raises(PermissionDenied):
        project_update(
            actor=county, project_id=project.pk, version=1, data={"region": world.counties["211303"]}
        )
    project.refresh_from_db()
    assert project.region.code == "211302"


def test_project_cannot_leave_planning_with_a_failed_or_pending_gate(world):
    project = make_project(world, capacity_gate="passed", environment_gate="failed", safety_gate="pending")
    city = world.users["city"]
    with pytest.raises(ValidationError) as err:
        project_change_stage(actor=city, project_id=project.pk, to_stage="signed")
    text = str(err.value.message_dict["stage"])
    assert "环境关未通过" in text and "安全关尚未审查" in text and "产能关" not in text
    assert not StageChange.objects.exists()


def test_two_high_project_needs_a_recorded_approval(world):
    gates = {"capacity_gate": "passed", "environment_gate": "passed", "safety_gate": "passed"}
    project = make_project(world, is_two_high=True, **gates)
    city = world.users["city"]
    with pytest.raises(ValidationError, match="两高"):
        project_change_stage(actor=city, project_id=project.pk, to_stage="signed")
    project_update(
        actor=city, project_id=project.pk, version=1, data={"two_high_approval": "辽发改〔2026〕12号"}
    )
    project = project_change_stage(actor=city, project_id=project.pk, to_stage="signed", note="签约")
    assert project.stage.code == "signed"
    change = StageChange.objects.get()
    assert (change.from_stage.code, change.to_stage.code, change.actor) == ("planning", "signed", city)


def test_stage_moves_one_step_unless_city_admin_overrides_with_reason(world):
    project = make_project(world, stage="preparing")
    county = world.users["county"]
    with pytest.raises(ValidationError, match="只能进入下一阶段"):
        project_change_stage(actor=county, project_id=project.pk, to_stage="completed")
    project_change_stage(actor=county, project_id=project.pk, to_stage="signed")  # back one
    city = world.users["city"]
    with pytest.raises(ValidationError, match="须填写理由"):
        project_change_stage(actor=city, project_id=project.pk, to_stage="completed")
    project = project_change_stage(
        actor=city, project_id=project.pk, to_stage="completed", override_reason="补录历史项目"
    )
    assert project.stage.code == "completed"
    assert StageChange.objects.filter(is_override=True, note__contains="补录历史项目").count() == 1
