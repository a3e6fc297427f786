"""Pagination whose deep pages cost about what the first page costs.

A plain OFFSET makes the database build and throw away every full row before the page (joins
included), so page 1,000 of a list reads 50,000 rows to show 50. The "deferred join" used here
first asks only for the keys of the page, in the list's order (an index-only scan when an index
covers the filters and the ordering), then fetches the 50 full rows by key with their joins and
prefetches. Page numbers stay what people use; the response shapes do not change. The first
pages (up to DEFER_FROM rows deep) keep the one plain query.

A unique tie-breaker (the primary key) is appended to every ordering, so rows with equal sort
keys never swap between two pages or show twice.

Seeking by cursor (WHERE (key, pk) < (last_key, last_pk)) would make next/previous cheaper
still, but needs the page links to carry the cursor; with the covering index on the project
list the deep page already costs about what the first does, so page numbers alone are kept.

`count` stays exact. It is taken on keys alone, and without the DISTINCT that django-filter's
multiple-choice filters add when every join is a forward foreign key (it removes nothing there).
"""

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Paginator
from django.db.models import ForeignObjectRel, QuerySet
from django.db.models.expressions import OrderBy
from django.utils.functional import cached_property
from django_tables2.data import TableQuerysetData
from django_tables2.rows import BoundRows
from rest_framework.pagination import LimitOffsetPagination

# Pages that start this deep or deeper are fetched key-first; above it the rows thrown away by the
# OFFSET are few, and one query is cheaper than two.
DEFER_FROM = 1000


def _descending(term) -> bool:
    if isinstance(term, OrderBy):
        return term.descending
    return isinstance(term, str) and term.startswith("-")


def with_tie_breaker(queryset: QuerySet) -> QuerySet:
    """The queryset ordered as it was, then by primary key, so that the order is total.

    The key runs the way the first sort key runs, which is also the order the database returns
    equal keys in when it reads an index backwards."""
    query = queryset.query
    if query.is_sliced or query.combinator:
        return queryset
    if query.order_by:
        ordering = list(query.order_by)
    elif query.default_ordering:
        ordering = list(queryset.model._meta.ordering or [])
    else:
        ordering = []
    pk_name = queryset.model._meta.pk.name
    if any(isinstance(term, str) and term.lstrip("-") in {"pk", pk_name} for term in ordering):
        return queryset
    if any(not isinstance(term, str | OrderBy) for term in ordering):
        return queryset  # an expression we do not know how to extend
    tie = "-pk" if ordering and _descending(ordering[0]) else "pk"
    return queryset.order_by(*ordering, tie)


def _has_window(queryset: QuerySet) -> bool:
    return any(getattr(a, "contains_over_clause", False) for a in queryset.query.annotations.values())


def page_rows(queryset: QuerySet, bottom: int, top: int) -> list:
    """Rows [bottom:top) of the queryset in its order, ties broken by key: from DEFER_FROM on,
    keys first, then full rows by key.

    A queryset with a window annotation (a running total) is sliced as it is: narrowing it to the
    page's keys would narrow the window too and change the totals."""
    if queryset.query.is_sliced or queryset.query.combinator or _has_window(queryset):
        return list(queryset[bottom:top])
    if top <= bottom:
        return []
    ordered = with_tie_breaker(without_needless_distinct(queryset))
    if bottom < DEFER_FROM:
        return list(ordered[bottom:top])
    pks = list(ordered.values_list("pk", flat=True)[bottom:top])
    if not pks:
        return []
    # The filters are applied again on the few keys (cheap, by primary key) so that a
    # queryset whose rows depend on its own WHERE (annotations over joins) stays the same.
    by_pk = {row.pk: row for row in ordered.order_by().filter(pk__in=set(pks))}
    return [by_pk[pk] for pk in pks if pk in by_pk]


def _single_valued_joins(query) -> bool:
    """Every join of the query follows a foreign key forwards, so no row can appear twice."""
    for join in query.alias_map.values():
        field = getattr(join, "join_field", None)
        if field is None:
            continue  # the base table
        if isinstance(field, ForeignObjectRel) or not (field.many_to_one or field.one_to_one):
            return False
    return True


def without_needless_distinct(queryset: QuerySet) -> QuerySet:
    """django-filter's multiple-choice filters add DISTINCT whatever they join; over forward
    foreign keys alone it removes nothing and makes PostgreSQL sort or hash every column of
    every matching row, so it is dropped there."""
    query = queryset.query
    if not query.distinct or query.distinct_fields or query.combinator or query.is_sliced:
        return queryset
    if not _single_valued_joins(query):
        return queryset
    clone = queryset.all()
    clone.query.distinct = False
    return clone


def count_rows(queryset: QuerySet) -> int:
    """The number of rows, counted on keys alone where DISTINCT is really needed (it otherwise
    compares every column of every row)."""
    queryset = without_needless_distinct(queryset)
    query = queryset.query
    if query.distinct and not query.distinct_fields and not query.combinator and not query.is_sliced:
        return queryset.order_by().values("pk").count()
    return queryset.count()


class DeferredJoinPaginator(Paginator):
    """Django's Paginator with page slices fetched key-first (see the module's note).

    Accepts a queryset, or django-tables2's rows over a queryset (what `Table.paginate` passes);
    anything else is sliced as Django's Paginator slices it.
    """

    @cached_property
    def count(self) -> int:
        queryset = self._queryset()
        return count_rows(queryset) if queryset is not None else super().count

    def _queryset(self) -> QuerySet | None:
        items = self.object_list
        if isinstance(items, QuerySet):
            return items
        if isinstance(items, BoundRows) and isinstance(items.data, TableQuerysetData):
            return items.data.data
        return None

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self._slice(bottom, top), number, self)

    def _slice(self, bottom: int, top: int) -> Sequence[Any]:
        items = self.object_list
        queryset = self._queryset()
        if queryset is None:
            return items[bottom:top]
        rows = page_rows(queryset, bottom, top)
        if isinstance(items, BoundRows):
            return BoundRows(data=rows, table=items.table, pinned_data=items.pinned_data)
        return rows


class DeferredJoinLimitOffsetPagination(LimitOffsetPagination):
    """LimitOffsetPagination (same count/next/previous/results) with the page fetched key-first."""

    def paginate_queryset(self, queryset, request, view=None):
        if not isinstance(queryset, QuerySet):
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        self.count = count_rows(queryset)
        self.offset = self.get_offset(request)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        if self.count == 0 or self.offset > self.count:
            return []
        return page_rows(queryset, self.offset, self.offset + self.limit)
