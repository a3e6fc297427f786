"""The demo campaign shows every warning rule firing somewhere (built once for this module)."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from guatu.demo.warnings_demo import warning_counts
from guatu.progress.models import ProjectWarning, WarningRule
from guatu.projects.models import Project


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    # Rolled back afterwards, so the other modules still start from empty tables.
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("demo", "--no-serve", stdout=io.StringIO())
            yield warning_counts()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.mark.django_db
def test_every_rule_fires_somewhere_in_the_demo(demo):
    for code in WarningRule.objects.values_list("code", flat=True):
        assert demo[f"rule:{code}"] > 0, code
    assert demo["red"] and demo["yellow"] and demo["green"]


@pytest.mark.django_db
def test_every_demo_project_has_a_light_with_a_reason_unless_green(demo):
    assert (
        ProjectWarning.objects.filter(project__is_demo=True).count()
        == Project.objects.filter(is_demo=True).count()
    )
    for level, reasons in ProjectWarning.objects.values_list("level__code", "reasons"):
        assert bool(reasons) == (level != "green")
        assert level in {r["level"] for r in reasons} | {"green"}


@pytest.mark.django_db
def test_the_recovered_projects_show_why_they_are_yellow(demo):
    recovered = ProjectWarning.objects.filter(rules__contains=",recovery,")
    assert recovered.exists()
    for warning in recovered:
        assert warning.red_cleared_on is not None and warning.level.code == "yellow"
        assert "红灯已追回差距" in next(r["reason"] for r in warning.reasons if r["rule"] == "recovery")
