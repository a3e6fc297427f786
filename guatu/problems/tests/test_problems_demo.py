"""The demo's problems: every status and rung, some overdue, some closed after a leader's
instruction, dated so the ladder agrees with them, and a second run creates nothing."""

import datetime as dt
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from guatu.core.models import ChangeRecord
from guatu.demo import catalogue as cat
from guatu.demo import problems_demo
from guatu.problems.models import EscalationLevel, Problem, ProblemStatus, ProblemStep
from guatu.problems.services import escalate_overdue


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    # Rolled back afterwards, so the other modules still start from empty tables.
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("demo", "--no-serve", stdout=io.StringIO())
            yield problems_demo.problem_counts()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


pytestmark = pytest.mark.django_db


def test_every_status_and_rung_is_shown(demo):
    for code in ProblemStatus.objects.values_list("code", flat=True):
        assert demo.get(f"status:{code}", 0) > 0, code
    for code in EscalationLevel.objects.values_list("code", flat=True):
        assert demo.get(f"level:{code}", 0) > 0, code
    assert 55 <= Problem.objects.filter(is_demo=True, source_visit__isnull=True).count() <= 65
    assert demo["overdue"] >= 5
    assert demo["closed_by_instruction"] >= 3


def test_some_were_closed_after_a_leaders_instruction(demo):
    closed = Problem.objects.filter(is_demo=True, status__code="closed", level__code="direct_line")
    assert closed.exists()
    for problem in closed:
        actions = list(problem.steps.values_list("action", "actor__username"))
        assert ("instruct", "leader") in actions
        assert actions[-1] == ("verify", "leader")


def test_the_timelines_are_dated_in_order_and_by_demo_accounts(demo):
    today = timezone.localdate()
    demo_accounts = set(cat.DEMO_USERNAMES)
    for problem in Problem.objects.filter(is_demo=True).prefetch_related("steps__actor"):
        steps = list(problem.steps.all())
        days = [timezone.localdate(step.at) for step in steps]
        assert days == sorted(days) and days[-1] <= today, problem
        assert timezone.localdate(problem.created_at) == days[0]
        assert {s.actor.username for s in steps if s.actor} <= demo_accounts
        if problem.status.is_closed:
            assert problem.closed_at is not None
        if problem.level.code != "county" and problem.steps.filter(action="escalate").exists():
            assert problem.escalated_at is not None


def test_the_ladder_agrees_with_the_dates(demo):
    """The daily job run today finds nothing to climb: the demo dated its climbs as the job would."""
    with transaction.atomic():
        climbed = escalate_overdue(today=timezone.localdate())
        transaction.set_rollback(True)
    assert climbed == []
    auto = ProblemStep.objects.filter(problem__is_demo=True, action="escalate", actor__isnull=True)
    assert auto.exists()
    # Climbs counted from the due date of the time (a leader's instruction may have moved it since).
    for step in auto.exclude(problem__steps__action="instruct").select_related("problem"):
        assert (timezone.localdate(step.at) - step.problem.due_date).days in {8, 16}


def test_the_demo_uses_every_rung_by_hand_too(demo):
    by_hand = ProblemStep.objects.filter(problem__is_demo=True, action="escalate", actor__isnull=False)
    assert by_hand.exists()
    assert Counter(by_hand.values_list("actor__role", flat=True)).keys() == {"county"}


def test_a_second_run_creates_nothing(demo):
    before = (Problem.objects.count(), ProblemStep.objects.count(), ChangeRecord.objects.count())

    class Result:
        created: Counter = Counter()

    problems_demo.build(today=timezone.localdate(), result=Result)
    assert Result.created["problems"] == 0
    assert (Problem.objects.count(), ProblemStep.objects.count(), ChangeRecord.objects.count()) == before
    # And on another day of the year: the same problems, none new.
    problems_demo.build(today=timezone.localdate() + dt.timedelta(days=3), result=Result)
    assert Problem.objects.count() == before[0]
