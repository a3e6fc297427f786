"""The status flow is data: every (status, action) pair is allowed exactly when a ProblemTransition
row says so; who may take a step, and whether it needs a reason, come from the same row."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError

from guatu.core.exceptions import Conflict
from guatu.core.models import ChangeRecord
from guatu.core.testing import make_project, make_user
from guatu.org.models import Unit
from guatu.problems.models import EscalationLevel, Problem, ProblemStatus, ProblemStep, ProblemTransition
from guatu.problems.services import problem_act
from guatu.problems.tests.problem_helpers import ACTIONS, SEED, STATUS_CODES, make_problem

pytestmark = pytest.mark.django_db


def _actor_for(world, kind: str, problem: Problem):
    """A user who is `kind` for the problem (the owner unit is world.department)."""
    if kind == "owner":
        return world.users["department"]
    if kind == "governor":
        return world.users["city"]
    if kind == "leader":
        Problem.objects.filter(pk=problem.pk).update(level_id=_level("direct_line"))
        return world.users["leader"]
    if kind == "raiser":
        Problem.objects.filter(pk=problem.pk).update(raised_by=world.users["enterprise"])
        return world.users["enterprise"]
    raise AssertionError(kind)


def _level(code):
    return EscalationLevel.objects.get(code=code).pk


def test_the_seeded_flow_is_the_one_the_tests_walk():
    rows = {
        (t.action, t.from_status.code): (t.to_status.code, sorted(t.actors), t.needs_reason)
        for t in ProblemTransition.objects.select_related("from_status", "to_status")
    }
    seeded = {
        (action, source): (target, sorted(actors), reason)
        for action, _name, source, target, actors, reason in SEED.TRANSITIONS
    }
    assert rows == seeded
    assert list(ProblemStatus.objects.values_list("code", flat=True)) == STATUS_CODES


@pytest.mark.parametrize("status", STATUS_CODES)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_status_and_action_is_allowed_iff_the_flow_has_a_row(world, status, action):
    problem = make_problem(world, status=status)
    row = (
        ProblemTransition.objects.filter(action=action, from_status__code=status)
        .select_related("from_status", "to_status")
        .first()
    )
    steps_before = ProblemStep.objects.filter(problem=problem).count()
    if row is None:
        # Even the system, which is every kind of actor, is refused, with the status named.
        with pytest.raises(Conflict) as refused:
            problem_act(
                actor=None, problem_id=problem.pk, action=action, version=problem.version, comment="理由"
            )
        name = ProblemTransition.objects.filter(action=action).values_list("name", flat=True).first()
        current = ProblemStatus.objects.get(code=status).name
        assert f"问题当前为“{current}”，不能“{name}”" in refused.value.message
        after = Problem.objects.get(pk=problem.pk)
        assert (after.status.code, after.version) == (status, problem.version)
        assert ProblemStep.objects.filter(problem=problem).count() == steps_before
        return
    actor = _actor_for(world, row.actors[0], problem)
    problem.refresh_from_db()
    done = problem_act(
        actor=actor, problem_id=problem.pk, action=action, version=problem.version, comment="已核实"
    )
    assert done.status == row.to_status
    assert done.version == problem.version + 1
    step = ProblemStep.objects.filter(problem=problem).latest("id")
    assert (step.action, step.from_status, step.to_status, step.actor, step.comment) == (
        action,
        row.from_status,
        row.to_status,
        actor,
        "已核实",
    )
    assert ChangeRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(Problem),
        object_id=str(problem.pk),
        action="update",
        actor=actor,
    ).exists()
    assert (done.closed_at is not None) == row.to_status.is_closed


@pytest.mark.parametrize(
    "action,status,role,why",
    [
        ("assign", "reported", "department", "the owner does not hand out"),
        ("assign", "reported", "enterprise", "an enterprise does not hand out"),
        ("accept", "assigned", "city", "the project office is no owner"),
        ("accept", "assigned", "county", "the county is no owner of a department's problem"),
        ("start", "accepted", "leader", "a leader does not do the work"),
        ("resolve", "in_progress", "city", "only the owner reports back"),
        ("verify", "resolved", "department", "the owner does not close its own problem"),
        ("verify", "resolved", "leader", "a leader verifies only on the 直通车"),
        ("send_back", "resolved", "enterprise", "an enterprise does not send back"),
        ("reopen", "closed", "steward", "a steward does not reopen"),
    ],
)
def test_users_not_among_the_rows_actors_are_refused(world, action, status, role, why):
    steward = world.users["steward"]
    project_kwargs = {"steward": steward} if role == "steward" else {}
    problem = make_problem(world, status=status, project=make_project(world, **project_kwargs))
    with pytest.raises(PermissionDenied) as refused:
        problem_act(
            actor=world.users[role],
            problem_id=problem.pk,
            action=action,
            version=problem.version,
            comment="理由",
        )
    assert "只能由" in str(refused.value), why
    assert Problem.objects.get(pk=problem.pk).status.code == status


def test_a_supporting_unit_sees_but_does_not_sign(world):
    supporter = make_user("department", unit=world.other_department, region=world.city)
    problem = make_problem(world, status="assigned")
    with pytest.raises(PermissionDenied):
        problem_act(actor=supporter, problem_id=problem.pk, action="accept", version=problem.version)


def test_a_county_outside_the_region_cannot_find_the_problem(world):
    problem = make_problem(world, status="reported")
    with pytest.raises(Problem.DoesNotExist):
        problem_act(
            actor=world.users["other_county"], problem_id=problem.pk, action="assign", version=problem.version
        )


def test_a_county_government_unit_is_owned_by_its_county_users(world):
    government = Unit.objects.create(
        name="双塔区人民政府", kind=Unit.Kind.COUNTY, region=world.counties["211302"]
    )
    problem = make_problem(world, status="assigned", owner_unit=government)
    done = problem_act(
        actor=world.users["county"], problem_id=problem.pk, action="accept", version=problem.version
    )
    assert done.status.code == "accepted"


def test_a_leader_verifies_a_direct_line_problem(world):
    problem = make_problem(world, status="resolved", level="direct_line")
    done = problem_act(
        actor=world.users["leader"], problem_id=problem.pk, action="verify", version=problem.version
    )
    assert done.status.code == "closed"


@pytest.mark.parametrize(
    "action,status,actor", [("resolve", "in_progress", "department"), ("send_back", "resolved", "city"),
                            ("reopen", "closed", "city")]
)  # fmt: skip
def test_steps_that_need_a_reason_refuse_without_one(world, action, status, actor):
    problem = make_problem(world, status=status)
    with pytest.raises(ValidationError) as refused:
        problem_act(
            actor=world.users[actor],
            problem_id=problem.pk,
            action=action,
            version=problem.version,
            comment="  ",
        )
    assert "须填写理由" in refused.value.message_dict["comment"][0]
    after = Problem.objects.get(pk=problem.pk)
    assert (after.status.code, after.version) == (status, problem.version)
    assert not ProblemStep.objects.filter(problem=problem, action=action).exists()


def test_a_stale_version_is_a_conflict_and_changes_nothing(world):
    problem = make_problem(world)
    owner = world.users["department"]
    problem_act(actor=owner, problem_id=problem.pk, action="accept", version=problem.version)
    with pytest.raises(Conflict) as stale:
        problem_act(actor=owner, problem_id=problem.pk, action="start", version=problem.version)
    assert "已被他人修改" in stale.value.message
    assert Problem.objects.get(pk=problem.pk).status.code == "accepted"


def test_an_unknown_action_names_itself(world):
    problem = make_problem(world)
    with pytest.raises(ValidationError) as refused:
        problem_act(actor=None, problem_id=problem.pk, action="teleport", version=problem.version)
    assert "teleport" in refused.value.message_dict["action"][0]


def test_the_refusal_names_the_status_the_problem_is_in(world):
    problem = make_problem(world, status="closed")
    with pytest.raises(Conflict) as refused:
        problem_act(actor=None, problem_id=problem.pk, action="accept", version=problem.version)
    assert refused.value.message.startswith("问题当前为“已销号”，不能“签收”")
    assert "只有“已交办”的问题可以签收" in refused.value.message


def test_a_walk_through_the_whole_flow_leaves_a_timeline(world):
    county, owner = world.users["county"], world.users["department"]
    problem = make_problem(world, actor=world.users["enterprise"])
    assert problem.status.code == "reported"
    steps = [
        (county, "assign", ""),
        (owner, "accept", "收到，马上协调"),
        (owner, "start", ""),
        (owner, "resolve", "补偿协议已全部签订"),
        (county, "send_back", "还差一户未签"),
        (owner, "resolve", "最后一户已签"),
        (county, "verify", "核实无误，销号"),
        (world.users["city"], "reopen", "群众反映补偿款未到位"),
    ]
    for actor, action, comment in steps:
        problem = problem_act(
            actor=actor, problem_id=problem.pk, action=action, version=problem.version, comment=comment
        )
    timeline = list(
        ProblemStep.objects.filter(problem=problem).values_list(
            "action", "to_status__code", "actor__username", "comment"
        )
    )
    assert timeline == [
        ("report", "reported", "t_qiye", ""),
        ("assign", "assigned", "t_shuangta", ""),
        ("accept", "accepted", "t_fagai", "收到，马上协调"),
        ("start", "in_progress", "t_fagai", ""),
        ("resolve", "resolved", "t_fagai", "补偿协议已全部签订"),
        ("send_back", "in_progress", "t_shuangta", "还差一户未签"),
        ("resolve", "resolved", "t_fagai", "最后一户已签"),
        ("verify", "closed", "t_shuangta", "核实无误，销号"),
        ("reopen", "in_progress", "t_city", "群众反映补偿款未到位"),
    ]
    assert problem.closed_at is None  # reopened
