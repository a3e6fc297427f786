"""The ladder: county → city department → 直通车. Overdue problems climb one rung a day past their
rung's allowance (the boundary day tested on both sides), anyone in scope escalates by hand with a
reason, and on the top rung a leader's instruction (批示) is recorded and reaches everyone."""

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from guatu.core.exceptions import Conflict
from guatu.core.testing import make_project, make_user
from guatu.org.models import Unit
from guatu.problems.models import EscalationLevel, Notification, Problem, ProblemStep
from guatu.problems.services import escalate_overdue, problem_act, problem_escalate, problem_instruct
from guatu.problems.tasks import escalate_overdue_task
from guatu.problems.tests.problem_helpers import TODAY, make_problem

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 6, 1)


def _climb_days(code: str) -> int:
    return EscalationLevel.objects.get(code=code).climb_after_days


def test_the_ladder_is_data(world):
    assert list(EscalationLevel.objects.values_list("code", "climb_after_days")) == [
        ("county", 7),
        ("department", 7),
        ("direct_line", 0),
    ]


def test_overdue_by_exactly_the_allowance_does_not_climb(world):
    problem = make_problem(world, due_date=DUE)
    assert escalate_overdue(today=DUE + dt.timedelta(days=_climb_days("county"))) == []
    problem.refresh_from_db()
    assert (problem.level.code, problem.escalated_at) == ("county", None)
    assert not problem.steps.filter(action="escalate").exists()


def test_overdue_by_one_day_more_climbs_one_rung(world, django_capture_on_commit_callbacks):
    problem = make_problem(world, due_date=DUE)
    today = DUE + dt.timedelta(days=_climb_days("county") + 1)
    city = world.users["city"]
    with django_capture_on_commit_callbacks(execute=True):
        climbed = escalate_overdue(today=today)
    assert [p.pk for p in climbed] == [problem.pk]
    problem.refresh_from_db()
    assert problem.level.code == "department"
    assert timezone.localdate(problem.escalated_at) == today
    assert problem.version == 2
    step = problem.steps.get(action="escalate")
    assert (step.from_level.code, step.to_level.code, step.actor) == ("county", "department", None)
    assert "逾期 8 天" in step.comment and "市直部门协调" in step.comment
    # The people involved and the project office hear of it once.
    told = set(Notification.objects.filter(event="escalation").values_list("user__username", flat=True))
    assert told == {"t_fagai", "t_shuangta", city.username}
    assert escalate_overdue(today=today) == []  # the same day again: nothing more


def test_the_next_rung_counts_from_the_last_escalation(world):
    problem = make_problem(world, due_date=DUE)
    first = DUE + dt.timedelta(days=8)
    escalate_overdue(today=first)
    allowance = _climb_days("department")
    assert escalate_overdue(today=first + dt.timedelta(days=allowance)) == []
    assert Problem.objects.get(pk=problem.pk).level.code == "department"
    climbed = escalate_overdue(today=first + dt.timedelta(days=allowance + 1))
    assert [p.level.code for p in climbed] == ["direct_line"]
    # At the top there is nowhere left to climb, however late.
    assert escalate_overdue(today=first + dt.timedelta(days=365)) == []


def test_one_rung_a_run_however_late(world):
    make_problem(world, due_date=DUE)
    climbed = escalate_overdue(today=DUE + dt.timedelta(days=100))
    assert [p.level.code for p in climbed] == ["department"]


def test_closed_and_not_yet_due_problems_stay(world):
    make_problem(world, due_date=DUE, status="closed")
    make_problem(world, due_date=DUE + dt.timedelta(days=30))
    assert escalate_overdue(today=DUE + dt.timedelta(days=20)) == []


def test_a_hand_escalation_before_the_due_date_does_not_hurry_the_next_climb(world):
    due = timezone.localdate() + dt.timedelta(days=10)
    problem = make_problem(world, due_date=due, today=timezone.localdate())
    problem_escalate(
        actor=world.users["county"], problem_id=problem.pk, version=problem.version, reason="县里协调不动"
    )
    # Counted from the due date (later than the escalation): 7 days late stays, 8 climbs.
    assert escalate_overdue(today=due + dt.timedelta(days=7)) == []
    assert [p.level.code for p in escalate_overdue(today=due + dt.timedelta(days=8))] == ["direct_line"]


def test_the_command_says_how_many_climbed_to_which_rung(world):
    make_problem(world, due_date=DUE)
    make_problem(world, due_date=DUE, level="department")
    make_problem(world, due_date=DUE + dt.timedelta(days=5))
    out = io.StringIO()
    call_command("escalate_overdue", "--date", "2026-06-10", stdout=out)
    assert out.getvalue().strip() == "已上升 2 个问题：至“市直部门协调” 1 个，至“书记市长直通车” 1 个"
    out = io.StringIO()
    call_command("escalate_overdue", "--date", "2026-06-10", stdout=out)
    assert out.getvalue().strip() == "没有需要上升的逾期问题"
    with pytest.raises(CommandError, match="格式不对"):
        call_command("escalate_overdue", "--date", "6/10")


def test_the_daily_task_runs_the_climb(world):
    make_problem(world, due_date=DUE)
    result = escalate_overdue_task.enqueue(date="2026-06-10")
    assert result.return_value == {"department": 1}


# ---------------------------------------------------------------- by hand


def test_anyone_in_scope_escalates_by_hand_with_a_reason(world):
    problem = make_problem(world, project=make_project(world, steward=world.users["steward"]))
    for role, level in (("steward", "department"), ("enterprise", "direct_line")):
        problem = problem_escalate(
            actor=world.users[role],
            problem_id=problem.pk,
            version=problem.version,
            reason="拖了两个月没有进展",
        )
        assert problem.level.code == level
        step = problem.steps.latest("id")
        assert (step.action, step.actor, step.comment) == (
            "escalate",
            world.users[role],
            "拖了两个月没有进展",
        )


def test_a_hand_escalation_needs_a_reason(world):
    problem = make_problem(world)
    with pytest.raises(ValidationError) as refused:
        problem_escalate(
            actor=world.users["county"], problem_id=problem.pk, version=problem.version, reason=" "
        )
    assert "须填写理由" in refused.value.message_dict["reason"][0]
    assert Problem.objects.get(pk=problem.pk).level.code == "county"


def test_the_top_rung_and_a_closed_problem_refuse_to_climb(world):
    top = make_problem(world, level="direct_line")
    with pytest.raises(Conflict) as refused:
        problem_escalate(actor=world.users["city"], problem_id=top.pk, version=top.version, reason="再上")
    assert refused.value.message == "问题已在最高层级“书记市长直通车”，不能再上升"
    closed = make_problem(world, status="closed")
    with pytest.raises(Conflict) as refused:
        problem_escalate(
            actor=world.users["city"], problem_id=closed.pk, version=closed.version, reason="再上"
        )
    assert "问题当前为“已销号”" in refused.value.message
    assert not ProblemStep.objects.filter(action="escalate").exists()


def test_outside_scope_nobody_escalates(world):
    problem = make_problem(world)
    for role in ("other_county", "auditor"):
        with pytest.raises(Problem.DoesNotExist):
            problem_escalate(
                actor=world.users[role], problem_id=problem.pk, version=problem.version, reason="x"
            )


# ---------------------------------------------------------------- the 直通车 and the leader's instruction


@pytest.fixture
def on_top(world):
    """A problem on the 直通车: raised by the enterprise, owned by the department, supported by 商务局,
    in 双塔区, its project with a steward."""
    project = make_project(world, steward=world.users["steward"])
    problem = make_problem(world, actor=world.users["enterprise"], project=project, level="direct_line")
    return problem


def test_an_instruction_sets_a_new_due_date_and_owner_and_reaches_everyone(
    world, on_top, django_capture_on_commit_callbacks
):
    make_user("department", unit=world.other_department, region=world.city, username="t_shangwu")
    problem = problem_act(
        actor=world.users["county"], problem_id=on_top.pk, action="assign", version=on_top.version
    )
    problem = problem_act(
        actor=world.users["department"], problem_id=problem.pk, action="accept", version=problem.version
    )
    Notification.objects.all().delete()
    new_due = TODAY + dt.timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        done = problem_instruct(
            actor=world.users["leader"],
            problem_id=problem.pk,
            version=problem.version,
            instruction="请市商务局牵头，十日内办结",
            new_due_date=new_due,
            new_owner_unit=world.other_department,
            today=TODAY,
        )
    assert (done.due_date, done.owner_unit, done.status.code) == (new_due, world.other_department, "assigned")
    assert list(done.supporting_units.all()) == []  # 商务局 leads now; it no longer merely supports
    step = done.steps.latest("id")
    assert (step.action, step.actor, step.comment, step.new_due_date, step.new_owner_unit) == (
        "instruct",
        world.users["leader"],
        "请市商务局牵头，十日内办结",
        new_due,
        world.other_department,
    )
    told = set(Notification.objects.filter(event="instruction").values_list("user__username", flat=True))
    # raiser, old owner, new owner, county, steward, project office (the leader wrote it)
    assert told == {"t_qiye", "t_fagai", "t_shangwu", "t_shuangta", "t_guanjia", "t_city"}
    assert list(Notification.objects.filter(event="assignment").values_list("user__username", flat=True)) == [
        "t_shangwu"
    ]
    body = Notification.objects.filter(event="instruction").values_list("body", flat=True).first()
    assert body == "王振华批示：请市商务局牵头，十日内办结" or body.endswith(
        "批示：请市商务局牵头，十日内办结"
    )


def test_an_instruction_alone_changes_only_the_timeline(world, on_top):
    done = problem_instruct(
        actor=world.users["city"],
        problem_id=on_top.pk,
        version=on_top.version,
        instruction="抓紧协调",
        today=TODAY,
    )
    assert (done.due_date, done.owner_unit, done.status.code) == (
        on_top.due_date,
        on_top.owner_unit,
        "reported",
    )
    assert done.version == on_top.version + 1
    assert done.steps.filter(action="instruct", comment="抓紧协调").exists()


def test_a_new_owner_for_a_reported_problem_hands_it_out(world, on_top):
    done = problem_instruct(
        actor=world.users["leader"],
        problem_id=on_top.pk,
        version=on_top.version,
        instruction="由市商务局牵头",
        new_owner_unit=world.other_department.pk,
        today=TODAY,
    )
    assert (done.owner_unit, done.status.code) == (world.other_department, "assigned")


@pytest.mark.parametrize("role", ["county", "department", "enterprise", "steward"])
def test_only_leaders_and_the_project_office_instruct(world, on_top, role):
    with pytest.raises(PermissionDenied):
        problem_instruct(
            actor=world.users[role], problem_id=on_top.pk, version=on_top.version, instruction="x"
        )
    assert not ProblemStep.objects.filter(action="instruct").exists()


def test_instructions_are_for_the_direct_line_and_open_problems(world):
    below = make_problem(world, level="department")
    with pytest.raises(Conflict) as refused:
        problem_instruct(
            actor=world.users["city"], problem_id=below.pk, version=below.version, instruction="x"
        )
    assert "当前在“市直部门协调”层级" in refused.value.message
    closed = make_problem(world, level="direct_line", status="closed")
    with pytest.raises(Conflict) as refused:
        problem_instruct(
            actor=world.users["city"], problem_id=closed.pk, version=closed.version, instruction="x"
        )
    assert "已销号" in refused.value.message


@pytest.mark.parametrize(
    "kwargs,field,words",
    [
        ({"instruction": ""}, "instruction", "请填写批示内容"),
        ({"new_due_date": TODAY - dt.timedelta(days=1)}, "new_due_date", "早于今天"),
        ({"new_owner_unit": 999999}, "new_owner_unit", "编号为 999999 的单位不存在"),
        ({"new_owner_unit": "ENTERPRISE"}, "new_owner_unit", "须为县(市)区政府、开发区或市直部门"),
    ],
)
def test_a_bad_instruction_is_refused_and_changes_nothing(world, on_top, kwargs, field, words):
    if kwargs.get("new_owner_unit") == "ENTERPRISE":
        kwargs = {"new_owner_unit": world.enterprise}
    args = {"instruction": "请抓紧", **kwargs}
    with pytest.raises(ValidationError) as refused:
        problem_instruct(
            actor=world.users["leader"], problem_id=on_top.pk, version=on_top.version, today=TODAY, **args
        )
    assert words in refused.value.message_dict[field][0]
    after = Problem.objects.get(pk=on_top.pk)
    assert (after.version, after.due_date, after.owner_unit_id) == (
        on_top.version,
        on_top.due_date,
        on_top.owner_unit_id,
    )
    assert not ProblemStep.objects.filter(action="instruct").exists()


def test_a_problem_closed_by_a_leaders_instruction(world, on_top):
    """The 直通车 at work: escalated, instructed, resolved by the new owner, verified by the leader."""
    leader = world.users["leader"]
    zone = Unit.objects.create(
        name="柳城经济开发区管委会", kind=Unit.Kind.ZONE, region=world.counties["211302"]
    )
    problem = problem_instruct(
        actor=leader, problem_id=on_top.pk, version=on_top.version, instruction="开发区牵头", new_owner_unit=zone,
        today=TODAY,
    )  # fmt: skip
    county = world.users["county"]  # the zone lies in its division: its users own the zone's problems
    for action, comment in (("accept", ""), ("resolve", "已办结")):
        problem = problem_act(
            actor=county, problem_id=problem.pk, action=action, version=problem.version, comment=comment
        )
    problem = problem_act(
        actor=leader, problem_id=problem.pk, action="verify", version=problem.version, comment="同意销号"
    )
    assert problem.status.code == "closed"
    assert list(problem.steps.values_list("action", flat=True)) == [
        "report", "instruct", "accept", "resolve", "verify"
    ]  # fmt: skip
