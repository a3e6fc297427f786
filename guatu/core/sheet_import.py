"""What every Excel importer shares once its sheet is read: write each good row through the
services in its own savepoint (or, where a RowWriter's write_rows says so, many rows through a
bulk service), turn a service's refusal into row errors on the right column, and keep the whole
file all or nothing. An app supplies a RowWriter with its `_write` (and may override `write_rows`)."""

from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import wraps
from typing import Any, ClassVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import translation
from django.utils.translation import gettext as _

from guatu.core import xlsx
from guatu.core.exceptions import Conflict
from guatu.core.imports import ImportResult, Progress
from guatu.core.permissions import restrict
from guatu.core.xlsx import Column, Row, RowError

SHEET_LANGUAGE = "zh-hans"  # sheets are Chinese whatever language the user reads the site in


def in_sheet_language(func: Callable) -> Callable:
    @wraps(func)
    def wrapper(*args, **kwargs):
        with translation.override(SHEET_LANGUAGE):
            return func(*args, **kwargs)

    return wrapper


class RowFailed(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(errors)
        self.errors = errors


def differs(current: Any, new: Any) -> bool:
    if isinstance(current, Decimal) and isinstance(new, Decimal):
        return current.compare(new) != 0
    if hasattr(current, "pk") and hasattr(new, "pk"):
        return current.pk != new.pk
    return current != new


class RowWriter:
    """Writes one row; `_write` returns "created", "updated" or "unchanged"."""

    model: ClassVar[type[Model]]
    key_field: ClassVar[str]  # the column blamed for a missing row or a stale version
    # Errors of the services, by field, shown on these columns.
    ALIASES: ClassVar[dict[str, str]] = {"__all__": ""}

    def __init__(self, *, actor, spec: Sequence[Column], existing_ids: Sequence[int] = ()):
        self.actor = actor
        self.by_field = {c.field: c for c in spec}
        self.changeable: set[int] = set()
        if existing_ids:
            qs = self.model.objects.filter(pk__in=existing_ids)
            if actor is not None:
                qs = restrict(qs, actor, "change")
            self.changeable = set(qs.values_list("pk", flat=True))

    def write(self, row: Row) -> str:
        try:
            return self._write(row)
        except (ValidationError, PermissionDenied, ObjectDoesNotExist, Conflict) as err:
            raise RowFailed(self.refusal_errors(row, err)) from None

    def write_rows(
        self, rows: Sequence[Row], *, result: ImportResult, report: Progress, trial: bool
    ) -> list[str]:
        """Write the rows, putting each failed row's errors on it; returns the good rows' outcomes.
        By default one by one, each in a savepoint. When `trial`, whatever is written is rolled back."""
        return write_each(rows, self, result, report, trial=trial)

    def refusal_errors(self, row: Row, err: Exception) -> list[RowError]:
        """A service's refusal of this row as errors on the right columns."""
        if isinstance(err, ValidationError):
            return self._validation_errors(row, err)
        if isinstance(err, PermissionDenied):
            return [self._error(row, "region", str(err) or _("无权操作"))]
        if isinstance(err, Conflict):
            return [self._error(row, self.key_field, err.message)]
        return [self._error(row, self.key_field, str(err))]

    def _write(self, row: Row) -> str:
        raise NotImplementedError

    def _error(self, row: Row, field: str, message: str) -> RowError:
        column = self.by_field.get(field)
        if column is None:
            return RowError(row.number, "", "", message)
        return RowError(row.number, column.header, xlsx.display(row.raw.get(field)), message)

    def _validation_errors(self, row: Row, err: ValidationError) -> list[RowError]:
        if not hasattr(err, "error_dict"):
            return [self._error(row, "", message) for message in err.messages]
        return [
            self._error(row, self.ALIASES.get(field, field), message)
            for field, messages in err.message_dict.items()
            for message in messages
        ]


def write_sheet(
    *, sheet: xlsx.Sheet, writer: RowWriter, result: ImportResult, commit: bool, report: Progress
) -> ImportResult:
    """Write the rows the sheet's checks left good: for real only when every row is good, and then
    all or nothing; otherwise as a trial, each row rolled back, to list every row's errors."""
    good = [row for row in sheet.rows if not row.errors]
    if commit and len(good) == len(sheet.rows):
        with transaction.atomic():
            outcomes = writer.write_rows(good, result=result, report=report, trial=False)
            if any(row.errors for row in good):
                transaction.set_rollback(True)  # all or nothing
                outcomes = []
    else:
        outcomes = writer.write_rows(good, result=result, report=report, trial=True)
    for outcome in outcomes:
        setattr(result, outcome, getattr(result, outcome) + 1)
    result.errors = sheet.all_errors()
    if result.errors and commit:
        result.created = result.updated = result.unchanged = 0
    return result


def write_each(
    rows: Sequence[Row],
    writer: RowWriter,
    result: ImportResult,
    report: Progress,
    *,
    trial: bool,
    before: int = 0,
) -> list[str]:
    """Write rows one by one through writer.write, each in a savepoint; `before` rows were reported earlier."""
    outcomes = []
    for done, row in enumerate(rows, start=before + 1):
        try:
            with transaction.atomic():  # a savepoint: a failed row leaves no trace
                outcomes.append(writer.write(row))
                if trial:
                    transaction.set_rollback(True)
        except RowFailed as failed:
            row.errors.extend(failed.errors)
        report(done, result.total)
    return outcomes
