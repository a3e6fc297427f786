"""The demo campaign's lights: computed from the demo's reports, approvals and milestones, the way
the daily job computes them, so every light on the pages is true to the data beside it.

One thing the data cannot show by itself is a light's history: the recovery rule needs a project
that was red and has made up its gap. A few green projects under construction are given that
history (their light left red some days ago), so the rule shows in the demo too.
"""

import datetime as dt
from collections import Counter

from guatu.progress.models import ProjectWarning
from guatu.progress.services import warnings_recompute
from guatu.projects.models import Project

RECOVERED_DAYS_AGO = (3, 10, 20)  # days since each recovered project's light left red


def build(*, today: dt.date, result) -> None:
    ids = list(Project.objects.filter(is_demo=True).values_list("pk", flat=True))
    if not ids:
        return
    warnings_recompute(project_ids=ids, today=today)
    demo = ProjectWarning.objects.filter(project__is_demo=True)
    if not demo.filter(rules__contains=",recovery,").exists():
        recovered = list(
            demo.filter(level__code="green", project__stage__code="under_construction")
            .order_by("project__code")
            .values_list("pk", flat=True)[: len(RECOVERED_DAYS_AGO)]
        )
        for pk, days in zip(recovered, RECOVERED_DAYS_AGO, strict=False):
            ProjectWarning.objects.filter(pk=pk).update(red_cleared_on=today - dt.timedelta(days=days))
        warnings_recompute(project_ids=ids, today=today)


def warning_counts() -> Counter:
    """Demo lights by level ("red") and by the rule that fired ("rule:start")."""
    counts: Counter = Counter()
    for level, reasons in ProjectWarning.objects.filter(project__is_demo=True).values_list(
        "level__code", "reasons"
    ):
        counts[level] += 1
        for rule in {reason["rule"] for reason in reasons}:
            counts[f"rule:{rule}"] += 1
    return counts
