"""Pagination whose deep pages cost about what the first page costs.

A plain OFFSET makes the database build and throw away every full row before the page (joins
included), so page 1,000 of a list reads 50,000 rows to show 50. The "deferred join" used here
first asks only for the keys of the page, in the list's order (an index-only scan when an index
covers the filters and the ordering), then fetches the 50 full rows by key with their joins and
prefetches. Page numbers stay what people use; the response shapes do not change. The first
pages (up to DEFER_FROM rows deep) keep the one plain query.

A unique tie-breaker (the primary key) is appended to every ordering, so rows with equal sort
keys never swap between two pages or show twice.

The API lists also page by cursor (`?cursor=`, see KeysetPagination): the link carries the sort
keys of the last row shown, and the next page is the rows after them (WHERE key > last_key OR
key = last_key AND pk > last_pk …), read from an index where one covers the ordering, so no page
reads the rows before it whatever its depth. Pages reached that way have no number and no count;
`?limit=&offset=` keeps answering as before.

A list whose first sort keys take a handful of values (the lights: level, then region) can say
so (`groups=`, `pagination_groups`): its rows are then counted per group from an index on those
foreign keys, which gives the count and where each group starts, and a page sorts only the rows
of the groups it falls in rather than every row of the list.

`count` stays exact. It is taken on keys alone, and without the DISTINCT that django-filter's
multiple-choice filters add when every join is a forward foreign key (it removes nothing there).
"""

import base64
import binascii
import datetime as dt
import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db.models import CharField, Count, F, Field, ForeignObjectRel, Q, QuerySet, TextField
from django.db.models.expressions import OrderBy
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django_tables2.data import TableQuerysetData
from django_tables2.rows import BoundRows
from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

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


@dataclass(frozen=True)
class _GroupKey:
    column: str  # what the rows are grouped by: a foreign key's column ("level_id") or a column
    related: Any  # the model the foreign key points to, None for a plain column
    field: str  # the sort column on that model ("order"), or the plain column itself
    descending: bool


def _group_keys(queryset: QuerySet, groups: int) -> list[_GroupKey] | None:
    """How to group the rows by the first `groups` keys of the ordering: each key a number or date
    column, or a column one forward, non-null foreign key away ("-level__order", "region__code").
    None when the ordering is another shape, or rows may repeat."""
    query = queryset.query
    if groups <= 0 or query.is_sliced or query.combinator or _has_window(queryset):
        return None
    if query.distinct and not _single_valued_joins(query):
        return None
    terms = list(query.order_by) if query.order_by else list(queryset.model._meta.ordering or [])
    if len(terms) < groups:
        return None
    keys = []
    for term in terms[:groups]:
        if not isinstance(term, str) or term.lstrip("-") in query.annotations:
            return None
        parts = term.lstrip("-").split("__")
        try:
            first = queryset.model._meta.get_field(parts[0])
        except FieldDoesNotExist:
            return None
        if len(parts) == 1 and not (
            first.is_relation or first.null or isinstance(first, CharField | TextField)
        ):
            keys.append(_GroupKey(first.attname, None, first.name, term.startswith("-")))
        elif len(parts) == 2 and first.many_to_one and not first.null:
            keys.append(_GroupKey(first.attname, first.related_model, parts[1], term.startswith("-")))
        else:
            return None
    return keys


@dataclass
class SortGroup:
    """Rows that share the values of the leading sort keys: how to pick them, and how many."""

    rows: Q
    count: int


def sort_groups(queryset: QuerySet, groups: int) -> list[SortGroup] | None:
    """The rows counted by the values of the ordering's first `groups` keys, in the list's order;
    None when the ordering does not allow it (see _group_keys).

    The rows are counted by the foreign keys themselves (an index on them answers that alone), and
    the few related rows are then ranked by their sort column in the database, so the order (and
    the collation of text) is the database's own."""
    keys = _group_keys(queryset, groups)
    if keys is None:
        return None
    counts = list(
        without_needless_distinct(queryset)
        .order_by()
        .values_list(*(k.column for k in keys))
        .annotate(Count("pk"))
    )
    ranks = []
    for i, key in enumerate(keys):
        present = {row[i] for row in counts}
        if key.related is None:
            pairs = [(value, value) for value in sorted(present)]
        else:
            related = key.related._default_manager.filter(pk__in=present)
            pairs = list(related.order_by(key.field, "pk").values_list("pk", key.field))
        values = dict(pairs)
        ordered = [value for _raw, value in pairs]
        distinct = list(dict.fromkeys(ordered))
        rank = {value: position for position, value in enumerate(distinct)}
        ranks.append({raw: (-1 if key.descending else 1) * rank[values[raw]] for raw in present})
    merged: dict[tuple, SortGroup] = {}
    for row in counts:
        order = tuple(ranks[i][row[i]] for i in range(len(keys)))
        pick = Q(**{key.column: row[i] for i, key in enumerate(keys)})
        if order in merged:
            merged[order].rows |= pick
            merged[order].count += row[-1]
        else:
            merged[order] = SortGroup(pick, row[-1])
    return [merged[order] for order in sorted(merged)]


def grouped_page_rows(queryset: QuerySet, groups: list[SortGroup], bottom: int, top: int) -> list:
    """Rows [bottom:top) of the queryset when its leading sort keys take few values (a light's
    level and region): the groups the page falls in are known from their counts, so only their
    rows are sorted, not every row of the list. Each group is picked by its foreign keys, which an
    index on them finds."""
    start, wanted, first_start = 0, [], None
    for group in groups:
        if start + group.count > bottom and start < top:
            wanted.append(group.rows)
            first_start = start if first_start is None else first_start
        start += group.count
        if start >= top:
            break
    if not wanted:
        return []
    return page_rows(queryset.filter(reduce(operator.or_, wanted)), bottom - first_start, top - first_start)


class DeferredJoinPaginator(Paginator):
    """Django's Paginator with page slices fetched key-first (see the module's note).

    Accepts a queryset, or django-tables2's rows over a queryset (what `Table.paginate` passes);
    anything else is sliced as Django's Paginator slices it.

    `groups=n` says the first n sort keys take few values (levels, regions): the count is then
    taken per group, and a page sorts only the rows of the groups it falls in (grouped_page_rows).
    """

    def __init__(self, *args, groups: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = groups

    @cached_property
    def _groups(self) -> list[SortGroup] | None:
        queryset = self._queryset()
        return sort_groups(queryset, self.groups) if queryset is not None and self.groups else None

    @cached_property
    def count(self) -> int:
        if self._groups is not None:
            return sum(group.count for group in self._groups)
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
        if self._groups is not None:
            rows = grouped_page_rows(queryset, self._groups, bottom, top)
        else:
            rows = page_rows(queryset, bottom, top)
        if isinstance(items, BoundRows):
            return BoundRows(data=rows, table=items.table, pinned_data=items.pinned_data)
        return rows


# ---------------------------------------------------------------- keyset (cursor) pages


@dataclass(frozen=True)
class SortKey:
    path: str  # a lookup path from the listed model ("level__order", "pk")
    descending: bool
    field: Field  # the column at the end of the path, to read a cursor's value back

    def term(self, *, reverse: bool = False) -> str:
        return ("-" if self.descending != reverse else "") + self.path


class NoKeyset(Exception):
    """The ordering cannot be sought by value: a key may be NULL, an expression, or reached over a
    relation that may hold several rows."""


def _resolve(model, path: str) -> Field:
    """The field at the end of `path`, every step a forward, non-null foreign key."""
    parts = path.split("__")
    for i, part in enumerate(parts):
        try:
            field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        except FieldDoesNotExist:
            raise NoKeyset(path) from None
        if isinstance(field, ForeignObjectRel) or field.many_to_many or field.null:
            raise NoKeyset(path)
        if field.is_relation and i < len(parts) - 1:
            model = field.related_model
    return field


def _sort_keys(model, terms, *, prefix: str = "", flip: bool = False, depth: int = 0) -> list[SortKey]:
    keys = []
    for term in terms:
        if isinstance(term, OrderBy) and isinstance(term.expression, F):
            name, descending = term.expression.name, term.descending
        elif isinstance(term, str) and term != "?" and "." not in term:
            name, descending = term.lstrip("-"), term.startswith("-")
        else:
            raise NoKeyset(str(term))
        path = prefix + name
        field = _resolve(model, path)  # from the listed model, the prefix included
        descending = descending != flip
        if field.is_relation and path.rsplit("__", 1)[-1] != field.attname:
            # Ordering by a foreign key orders by the related model's own ordering, as Django does.
            related = field.related_model
            if depth > 3:
                raise NoKeyset(path)
            if related._meta.ordering:
                keys += _sort_keys(
                    model, related._meta.ordering, prefix=f"{path}__", flip=descending, depth=depth + 1
                )
                continue
            path, field = f"{path}__pk", related._meta.pk
        keys.append(SortKey(path, descending, field))
    return keys


def sort_keys(queryset: QuerySet) -> list[SortKey]:
    """The queryset's ordering (tie-breaker included) as keys a cursor can seek by; NoKeyset when
    it has none such: the order must be total and every key a non-null column."""
    query = queryset.query
    if query.is_sliced or query.combinator or _has_window(queryset):
        raise NoKeyset("sliced, combined or windowed")
    terms = list(query.order_by) if query.order_by else list(queryset.model._meta.ordering or [])
    for term in terms:
        if isinstance(term, str) and term.lstrip("-") in query.annotations:
            raise NoKeyset(term)
    keys = _sort_keys(queryset.model, terms)
    if not any(_is_own_pk(key, queryset.model) for key in keys):
        raise NoKeyset("no primary key in the ordering")
    return keys


def _is_own_pk(key: SortKey, model) -> bool:
    return key.field is model._meta.pk and "__" not in key.path


def _beyond(keys: list[SortKey], values: list, *, reverse: bool) -> Q:
    """Rows after `values` in the keys' order (before them when reverse): the row comparison spelled
    out, with a range on the first key so that an index on it bounds the scan."""
    disjuncts, equal = [], {}
    for key, value in zip(keys, values, strict=True):
        op = "lt" if key.descending != reverse else "gt"
        disjuncts.append(Q(**equal, **{f"{key.path}__{op}": value}))
        equal[key.path] = value
    first = keys[0]
    bound = Q(**{f"{first.path}__{'lte' if first.descending != reverse else 'gte'}": values[0]})
    return bound & reduce(operator.or_, disjuncts)


def _plain(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()  # microseconds kept: the next page starts exactly after this row
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(values: Sequence, *, reverse: bool) -> str:
    text = json.dumps([[_plain(v) for v in values], int(reverse)], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(token: str, keys: list[SortKey]) -> tuple[list, bool]:
    """The sort values and direction a cursor carries, each read back through its column; ValueError
    when the cursor was not made for this ordering."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values, reverse = json.loads(raw.decode())
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError(token)
        return [key.field.to_python(v) for key, v in zip(keys, values, strict=True)], bool(reverse)
    except (binascii.Error, UnicodeDecodeError, TypeError, ValidationError, json.JSONDecodeError) as exc:
        raise ValueError(token) from exc


class KeysetPagination(LimitOffsetPagination):
    """`?limit=&offset=` as before, and `?cursor=` (empty for the first page) to walk a list whose
    ordering is total over non-null columns: `next`/`previous` links carry the last/first row's
    sort keys, each page costs two queries (the keys of the page from an index, then its rows by
    key) however deep it is, and no count is taken."""

    cursor_query_param = "cursor"
    cursor_mode = False

    def paginate_queryset(self, queryset, request, view=None):
        if isinstance(queryset, QuerySet) and self.cursor_query_param in request.query_params:
            return self.paginate_by_cursor(queryset, request)
        return self.paginate_by_offset(queryset, request, view)

    def paginate_by_offset(self, queryset, request, view=None):
        return super().paginate_queryset(queryset, request, view)

    def paginate_by_cursor(self, queryset: QuerySet, request) -> list:
        self.cursor_mode, self.request = True, request
        self.limit = self.get_limit(request) or self.default_limit or 50
        ordered = with_tie_breaker(without_needless_distinct(queryset))
        try:
            keys = sort_keys(ordered)
        except NoKeyset:
            raise exceptions.ValidationError(
                {
                    self.cursor_query_param: _(
                        "此列表的排序含可为空或计算的列，不能按游标翻页，请用 limit 和 offset"
                    )
                }
            ) from None
        token = request.query_params.get(self.cursor_query_param) or ""
        reverse, position = False, None
        if token:
            try:
                position, reverse = decode_cursor(token, keys)
            except ValueError:
                raise exceptions.NotFound(_("翻页游标“%(cursor)s”无效") % {"cursor": token[:40]}) from None
        seek = ordered.order_by(*(key.term(reverse=reverse) for key in keys))
        if position is not None:
            seek = seek.filter(_beyond(keys, position, reverse=reverse))
        rows = list(seek.values_list(*(key.path for key in keys))[: self.limit + 1])
        more = len(rows) > self.limit
        rows = rows[: self.limit]
        if reverse:
            rows.reverse()
        pk_at = next(i for i, key in enumerate(keys) if _is_own_pk(key, ordered.model))
        has_previous = more if reverse else position is not None
        has_next = True if reverse else more
        self.next_cursor = encode_cursor(rows[-1], reverse=False) if rows and has_next else None
        self.previous_cursor = encode_cursor(rows[0], reverse=True) if rows and has_previous else None
        pks = [row[pk_at] for row in rows]
        if not pks:
            return []
        by_pk = {obj.pk: obj for obj in ordered.order_by().filter(pk__in=set(pks))}
        return [by_pk[pk] for pk in pks if pk in by_pk]

    def get_schema_operation_parameters(self, view):
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": _(
                    "按游标翻页：首页传空值（?cursor=），之后跟随返回的 next / previous 链接；"
                    "此时不返回 count。仅排序列均不为空的列表支持。"
                ),
                "schema": {"type": "string"},
            },
        ]

    def get_paginated_response_schema(self, schema):
        # A page reached by cursor has no count: the published schema must not require one.
        answer = super().get_paginated_response_schema(schema)
        answer["required"] = [name for name in answer.get("required", []) if name != "count"]
        return answer

    def _cursor_link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.offset_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data):
        if not self.cursor_mode:
            return super().get_paginated_response(data)
        return Response(
            {
                "next": self._cursor_link(self.next_cursor),
                "previous": self._cursor_link(self.previous_cursor),
                "results": data,
            }
        )


class DeferredJoinLimitOffsetPagination(KeysetPagination):
    """LimitOffsetPagination (same count/next/previous/results) with the page fetched key-first,
    and pages by cursor as KeysetPagination gives them."""

    def paginate_by_offset(self, queryset, request, view=None):
        if not isinstance(queryset, QuerySet):
            return super().paginate_by_offset(queryset, request, view)
        self.request = request
        self.limit = self.get_limit(request)
        if self.limit is None:
            return None
        # A view whose first sort keys take few values says how many (`pagination_groups`).
        groups = sort_groups(queryset, getattr(view, "pagination_groups", 0))
        self.count = sum(g.count for g in groups) if groups is not None else count_rows(queryset)
        self.offset = self.get_offset(request)
        if self.count > self.limit and self.template is not None:
            self.display_page_controls = True
        if self.count == 0 or self.offset > self.count:
            return []
        if groups is not None:
            return grouped_page_rows(queryset, groups, self.offset, self.offset + self.limit)
        return page_rows(queryset, self.offset, self.offset + self.limit)
