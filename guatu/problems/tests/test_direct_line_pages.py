"""The 直通车 inbox a page at a time: longest waiting first across pages, the total over every page,
and an instruction sent from a page returns to that page."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from guatu.problems import views
from guatu.problems.models import Problem
from guatu.problems.tests.problem_helpers import make_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(world, monkeypatch):
    """Five problems on the 直通车, escalated 5, 4, … 1 days ago (oldest first), two to a page."""
    monkeypatch.setattr(views, "PER_PAGE", 2)
    problems = []
    for days in (5, 4, 3, 2, 1):
        problem = make_problem(world, level="direct_line", title=f"等待{days}天的问题")
        Problem.objects.filter(pk=problem.pk).update(escalated_at=timezone.now() - dt.timedelta(days=days))
        problems.append(problem)
    make_problem(world, level="direct_line", status="closed", title="已销号的问题")
    return problems


def _titles(page: str) -> list[str]:
    return [f"等待{days}天的问题" for days in (5, 4, 3, 2, 1) if f"等待{days}天的问题" in page]


def test_the_inbox_is_paged_longest_waiting_first(world, client, waiting):
    client.force_login(world.users["leader"])
    pages = [client.get(reverse("problems:direct_line"), {"page": n}).content.decode() for n in (1, 2, 3)]

    assert [_titles(page) for page in pages] == [
        ["等待5天的问题", "等待4天的问题"],
        ["等待3天的问题", "等待2天的问题"],
        ["等待1天的问题"],
    ]
    assert all("尚未销号的问题 5 个" in page for page in pages)  # the total counts every page
    assert "已销号的问题" not in "".join(pages)
    assert "第 2 / 3 页" in pages[1] and "page=3" in pages[1] and "page=1" in pages[1]


def test_an_instruction_from_a_page_returns_to_it(world, client, waiting):
    client.force_login(world.users["leader"])
    problem = waiting[2]  # on page 2
    page = client.get(reverse("problems:direct_line"), {"page": 2}).content.decode()
    action = reverse("problems:problem_instruct", args=[problem.pk]) + "?page=2"
    assert f'action="{action}"' in page

    prefix = f"p{problem.pk}"
    refused = client.post(
        action, {"from": "direct_line", f"{prefix}-version": problem.version, f"{prefix}-instruction": ""}
    )
    assert refused.status_code == 400
    assert "请填写批示内容" in refused.content.decode() and "第 2 / 3 页" in refused.content.decode()

    done = client.post(
        action,
        {"from": "direct_line", f"{prefix}-version": problem.version, f"{prefix}-instruction": "限期办结"},
    )
    assert done.status_code == 302 and done["Location"] == reverse("problems:direct_line") + "?page=2"
