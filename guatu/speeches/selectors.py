"""Speeches: selectors. Sections: the library (import, search, pages) and the breakdown (review of
extracted items, targets and supervised tasks, exports)."""

import datetime as dt
import itertools
import logging
import re
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import BooleanField, Count, FloatField, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from guatu.core.permissions import can, restrict
from guatu.problems.models import ProblemTransition
from guatu.problems.services import actor_kinds
from guatu.speeches import services
from guatu.speeches import text as speech_text
from guatu.speeches.filters import TaskFilterSet
from guatu.speeches.models import (
    ExtractedItem,
    ReviewStatus,
    Speech,
    SpeechDocument,
    SupervisedTask,
    TaskNote,
)
from guatu.targets.metrics import metric_name

# --- library

#
# Full-text search in Chinese: jieba cuts the title and text into words, stored space-separated in
# Speech.search_tokens; SQLite indexes them in the FTS5 table speeches_speech_fts (migration 0002,
# kept in step by the services), PostgreSQL through a GIN index on to_tsvector('simple', …).

FTS_TABLE = "speeches_speech_fts"
_WORD_RE = re.compile(r"\w")
_tokenizer = None
_tokenizer_lock = threading.Lock()


def _jieba():
    """One jieba tokenizer per process, its dictionary loaded at first use (about a second)."""
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                with warnings.catch_warnings():
                    # jieba 0.42 has regex literals with invalid escapes, reported when compiled.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    warnings.simplefilter("ignore", SyntaxWarning)
                    import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def _words(tokens) -> list[str]:
    # Punctuation and whitespace are not words to search for.
    return [token.strip() for token in tokens if _WORD_RE.search(token)]


def search_tokens(*texts: str) -> str:
    """What the index holds for a speech: jieba's search-mode words (a long word and its shorter
    dictionary words: 高质量 → 高质、质量、高质量), space-separated."""
    tokenizer = _jieba()
    words: list[str] = []
    for value in texts:
        if value:
            words.extend(_words(tokenizer.cut_for_search(value)))
    return " ".join(words)


_HAN_CHAR_RE = re.compile(r"^[\u4e00-\u9fff]$")


def query_terms(q: str) -> list[str]:
    """The words of a query (jieba's precise mode), each of which a hit must contain.

    A lone Chinese character beside longer words is dropped: jieba joins it to its neighbour in
    running text ("推进会上" → 推进、会上), so "推进会" would otherwise miss the very speech it names."""
    seen: dict[str, None] = {}
    for word in _words(_jieba().cut(q or "")):
        seen.setdefault(word, None)
    words = list(seen)
    if any(len(word) > 1 for word in words):
        words = [word for word in words if not _HAN_CHAR_RE.match(word)]
    return words


def _fts_match(terms: list[str]) -> str:
    # Each word quoted (a quote inside doubled) so FTS5 reads it as a string, never as syntax.
    return " AND ".join('"{}"'.format(term.replace('"', '""')) for term in terms)


def apply_search(queryset: QuerySet[Speech], q: str) -> QuerySet[Speech]:
    """Speeches whose title or text hold every word of q, best first (annotated `rank`, higher is
    better). An empty query leaves the queryset as it is; a query with no words finds nothing."""
    if not (q or "").strip():
        return queryset
    terms = query_terms(q)
    if not terms:
        return queryset.none()
    table = Speech._meta.db_table
    vendor = connections[queryset.db].vendor  # a read may go to a replica
    if vendor == "sqlite":
        match = _fts_match(terms)
        hits = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])
        # bm25() is smaller for better hits; negated so that every database ranks higher = better.
        rank = RawSQL(
            f"SELECT -bm25({FTS_TABLE}) FROM {FTS_TABLE} "
            f'WHERE {FTS_TABLE} MATCH %s AND rowid = "{table}"."id"',
            [match],
            output_field=FloatField(),
        )
        queryset = queryset.filter(pk__in=hits).annotate(rank=rank)
    elif vendor == "postgresql":
        # The same expression as the GIN index of migration 0002, so that the index serves it.
        words = " ".join(terms)
        vector = f'to_tsvector(\'simple\', "{table}"."search_tokens")'
        hit = RawSQL(f"{vector} @@ plainto_tsquery('simple', %s)", [words], output_field=BooleanField())
        rank = RawSQL(f"ts_rank({vector}, plainto_tsquery('simple', %s))", [words], output_field=FloatField())
        queryset = queryset.filter(hit).annotate(rank=rank)
    else:  # other databases: every word as a substring, unranked
        for term in terms:
            queryset = queryset.filter(search_tokens__contains=term)
        return queryset
    return queryset.order_by("-rank", "-date", "pk")


def snippet(text: str, terms: list[str], *, before: int = 30, after: int = 90) -> SafeString:
    """The text around the first hit, each term marked; "" when no term occurs. The first hit is
    where the terms stand together as the query wrote them ("项目管家"), else the first term found."""
    lowered = text.lower()
    first = lowered.find("".join(terms).lower()) if len(terms) > 1 else -1
    if first < 0:
        found = [pos for pos in (lowered.find(term.lower()) for term in terms if term) if pos >= 0]
        if not found:
            return mark_safe("")
        first = min(found)
    start, end = max(0, first - before), min(len(text), first + after)
    window = re.sub(r"\s+", " ", text[start:end])
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.I)
    pieces, pos = [], 0
    for m in pattern.finditer(window):
        pieces.append(conditional_escape(window[pos : m.start()]))
        pieces.append(format_html("<mark>{}</mark>", m.group(0)))
        pos = m.end()
    pieces.append(conditional_escape(window[pos:]))
    lead = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return mark_safe(lead + "".join(str(p) for p in pieces) + tail)


# --- library: reads


def _item_count(user) -> Coalesce:
    items = (
        restrict(ExtractedItem.objects, user, "view")
        .filter(speech=OuterRef("pk"))
        .order_by()
        .values("speech")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(items, output_field=IntegerField()), 0)


def speech_queryset(*, user, action: str = "view") -> QuerySet[Speech]:
    """Speeches the user may act on, with their document and the number of items read out of them
    (a subquery, so the list runs the same queries however many speeches there are)."""
    return (
        restrict(Speech.objects, user, action)
        .select_related("document")
        .defer("search_tokens", "document__raw_text")
        .annotate(item_count=_item_count(user))
    )


def speech_filterset(*, user, params):
    from guatu.speeches.filters import SpeechFilterSet

    return SpeechFilterSet(params, queryset=speech_queryset(user=user))


def speech_list(*, user, params) -> QuerySet[Speech]:
    filterset = speech_filterset(user=user, params=params)
    return filterset.qs if filterset.is_valid() else Speech.objects.none()


def speech_search(*, user, q: str) -> QuerySet[Speech]:
    """The speeches the user may read that match q (every jieba word of it), best first."""
    return apply_search(speech_queryset(user=user), q)


def speech_get(*, user, pk: int, action: str = "view") -> Speech:
    return speech_queryset(user=user, action=action).get(pk=pk)


def document_get(*, user, pk: int) -> SpeechDocument:
    return restrict(SpeechDocument.objects, user, "view").get(pk=pk)


def document_speeches(*, user, document: SpeechDocument) -> QuerySet[Speech]:
    return speech_queryset(user=user).filter(document=document).order_by("start", "pk")


def duplicate_of(sha256: str) -> SpeechDocument | None:
    return SpeechDocument.objects.filter(sha256=sha256).order_by("pk").first()


@dataclass(frozen=True)
class TextPage:
    number: int  # 1-based
    start: int  # span in Speech.text
    end: int


def speech_pages(speech: Speech, *, per_page: int = 3000) -> list[TextPage]:
    spans = speech_text.pages(speech.text, per_page=per_page) or [(0, len(speech.text))]
    return [TextPage(n, start, end) for n, (start, end) in enumerate(spans, 1)]


def page_of(pages: list[TextPage], offset: int) -> int:
    """The page number holding a character offset of Speech.text (links to an item's page)."""
    for page in pages:
        if page.start <= offset < page.end:
            return page.number
    return pages[-1].number if pages else 1


def page_items(*, user, speech: Speech, page: TextPage) -> list[ExtractedItem]:
    """The items whose span falls (at least partly) on the page."""
    return list(
        restrict(ExtractedItem.objects, user, "view")
        .filter(speech=speech, start__lt=page.end, end__gt=page.start)
        .order_by("start", "pk")
    )


def page_paragraphs(speech: Speech, page: TextPage, items: list[ExtractedItem]) -> list[SafeString]:
    """The page's paragraphs (one per non-blank line) as HTML, each item's span wrapped in
    <mark data-item="ID">; overlapping items nest, so every item keeps a mark of its own."""
    text = speech.text
    paragraphs = []
    for m in re.finditer(r"[^\r\n]+", text[page.start : page.end]):
        start, end = page.start + m.start(), page.start + m.end()
        if not text[start:end].strip():
            continue
        cuts = {start, end}
        for item in items:
            for offset in (item.start, item.end):
                if start < offset < end:
                    cuts.add(offset)
        bounds = sorted(cuts)
        html = []
        for a, b in itertools.pairwise(bounds):
            piece = conditional_escape(text[a:b])
            for item in reversed([i for i in items if i.start < b and i.end > a]):
                piece = format_html(
                    '<mark data-item="{}" class="speech-item speech-item-{}">{}</mark>',
                    item.pk,
                    item.status,
                    piece,
                )
            html.append(str(piece))
        paragraphs.append(mark_safe("".join(html)))
    return paragraphs


# --- breakdown


def task_queryset(*, user, action: str = "view") -> QuerySet[SupervisedTask]:
    """The tasks the user may `action`, each once, with what lists and pages show."""
    return (
        services.task_scope(user, action)
        .select_related("status", "level", "owner_unit", "region", "speech")
        .prefetch_related("supporting_units")
    )


def task_filterset(*, user, params: Mapping[str, Any], today: dt.date | None = None) -> TaskFilterSet:
    return TaskFilterSet(params, queryset=task_queryset(user=user), today=today)


def task_list(*, user, params: Mapping[str, Any], today: dt.date | None = None) -> QuerySet[SupervisedTask]:
    filterset = task_filterset(user=user, params=params, today=today)
    # An invalid filter shows nothing rather than everything.
    return filterset.qs if filterset.is_valid() else SupervisedTask.objects.none()


def task_get(*, user, pk: int, action: str = "view") -> SupervisedTask:
    return task_queryset(user=user, action=action).get(pk=pk)


def overdue_days(task: SupervisedTask, today: dt.date) -> int:
    """Days past the deadline of a task not closed; 0 when it is not overdue."""
    if task.status.is_closed or task.deadline >= today:
        return 0
    return (today - task.deadline).days


def task_counts(*, user, today: dt.date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    open_tasks = services.task_scope(user).filter(status__is_closed=False)
    return open_tasks.aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(deadline__lt=today)))


def task_notes(*, user, task: SupervisedTask) -> QuerySet[TaskNote]:
    return (
        restrict(TaskNote.objects, user, "view")
        .filter(task=task)
        .select_related("actor", "from_status", "to_status")
        .order_by("at", "pk")
    )


def transition_names() -> dict[str, str]:
    return dict(ProblemTransition.objects.values_list("action", "name"))


def note_label(note: TaskNote, names: Mapping[str, str] | None = None) -> str:
    names = transition_names() if names is None else names
    return str(names.get(note.action) or services.NOTE_LABELS.get(note.action) or note.action)


def task_actions(*, user, task: SupervisedTask) -> list[ProblemTransition]:
    """The flow steps this user may take on the task now, as the flow table says."""
    kinds = actor_kinds(user, task)
    rows = ProblemTransition.objects.filter(from_status=task.status).select_related("to_status")
    return [row for row in rows.order_by("to_status__order") if kinds & set(row.actors)]


def can_note(*, user, task: SupervisedTask) -> bool:
    return not task.status.is_closed and services.task_scope(user, "change").filter(pk=task.pk).exists()


def can_edit_task(*, user, task: SupervisedTask) -> bool:
    return not task.status.is_closed and services.task_scope(user, "change").filter(pk=task.pk).exists()


def speech_for_review(*, user, pk: int) -> Speech:
    return restrict(Speech.objects, user, "view").get(pk=pk)


def speech_items(*, user, speech: Speech) -> QuerySet[ExtractedItem]:
    return (
        restrict(ExtractedItem.objects, user, "view")
        .filter(speech=speech)
        .select_related("target", "target__region", "target__unit", "task", "task__owner_unit", "reviewed_by")
        .order_by("start", "pk")
    )


def may_review(*, user) -> bool:
    return can(user, "change", ExtractedItem)


@dataclass(frozen=True)
class BreakdownRow:
    """One line of a 任务分解表: an accepted target or a supervised task."""

    number: int
    task: str
    measure: str
    lead_leader: str
    owner: str
    supporting: str
    deadline: dt.date | None


def _target_measure(item: ExtractedItem) -> str:
    target = item.target
    if target is None:
        return ""
    value = f"{target.value.normalize():f}"
    return f"{metric_name(target.metric)} {target.get_comparator_display()} {value}（{target.period}）"


def item_value_text(item: ExtractedItem) -> str:
    """An item's value as the review table shows it: "≥ 200 个", "10—15 %"; "" without a number."""
    if item.value is None:
        return ""
    value = f"{item.value.normalize():f}"
    if item.comparator == "range" and item.value_max is not None:
        return f"{value}—{item.value_max.normalize():f} {item.unit}".strip()
    sign = {">=": "≥", "<=": "≤", "≈": "≈"}.get(item.comparator, "")
    return f"{sign} {value} {item.unit}".strip()


def _item_measure(item: ExtractedItem) -> str:
    if item.value is None:
        return ""
    value = f"{item.value.normalize():f}"
    if item.comparator == "range" and item.value_max is not None:
        value = f"{value}—{item.value_max.normalize():f}"
    return f"{item.metric} {value}{item.unit}"


def breakdown_rows(
    *, user, speech: Speech | None = None, params: Mapping[str, Any] | None = None
) -> list[BreakdownRow]:
    """The breakdown table: for a speech, its accepted targets then its tasks (those the user may
    see); without one, every task the filters select."""
    rows: list[BreakdownRow] = []
    if speech is not None:
        targets = speech_items(user=user, speech=speech).filter(
            status=ReviewStatus.ACCEPTED, target__isnull=False
        )
        for item in targets:
            target = item.target
            rows.append(
                BreakdownRow(
                    number=len(rows) + 1,
                    task=item.metric or item.sentence,
                    measure=_target_measure(item),
                    lead_leader="",
                    owner=target.scope_label,
                    supporting="",
                    deadline=target.end,
                )
            )
        tasks = task_queryset(user=user).filter(speech=speech).order_by("deadline", "pk")
    else:
        tasks = task_list(user=user, params=params or {}).order_by("category", "deadline", "pk")
    tasks = list(tasks)
    measures = {
        item.task_id: _item_measure(item)
        for item in ExtractedItem.objects.filter(task__in=[t.pk for t in tasks]).exclude(value=None)
    }
    for task in tasks:
        rows.append(
            BreakdownRow(
                number=len(rows) + 1,
                task=task.title,
                measure=measures.get(task.pk, ""),
                lead_leader=task.lead_leader,
                owner=task.owner_unit.name,
                supporting="、".join(u.name for u in task.supporting_units.all()),
                deadline=task.deadline,
            )
        )
    return rows
