"""Speeches: views. Sections: the library (import, search, pages) and the breakdown (review of
extracted items, targets and supervised tasks, exports)."""

import io as _bytes_io

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import View
from django_tables2 import RequestConfig

from guatu.core.permissions import can
from guatu.core.views import PER_PAGE, ObjectEditView, ObjectListView, submit
from guatu.core.xlsx import XLSX_CONTENT_TYPE
from guatu.speeches import selectors, services
from guatu.speeches import text as speech_text
from guatu.speeches.forms import (
    DocumentImportForm,
    ItemAcceptForm,
    ItemEditForm,
    ItemRejectForm,
    SpeechForm,
    TaskActionForm,
    TaskForm,
    TaskNoteForm,
    accept_choices,
)
from guatu.speeches.models import ExtractedItem, ReviewStatus, Speech, SpeechDocument, SupervisedTask
from guatu.speeches.tables import SpeechTable, TaskTable

# --- library


class SpeechListView(LoginRequiredMixin, View):
    """讲话库: search (best hits first, each with the text around its first hit), filters, table."""

    template_name = "speeches/speech_list.html"

    def get(self, request):
        user = request.user
        if not can(user, "view", Speech):
            raise PermissionDenied
        filterset = selectors.speech_filterset(user=user, params=request.GET)
        queryset = filterset.qs if filterset.is_valid() else Speech.objects.none()
        q = (request.GET.get("q") or "").strip()
        terms = selectors.query_terms(q) if q else []
        if not terms:
            queryset = queryset.defer("text")  # the text is read only for search snippets
        table = SpeechTable(queryset, terms=terms)
        RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
        context = {
            "table": table,
            "filterset": filterset,
            "total": table.paginator.count,
            "q": q,
            "can_import": can(user, "import", SpeechDocument),
        }
        template = "core/_table.html" if request.htmx and not request.htmx.boosted else self.template_name
        return render(request, template, context)


class DocumentImportView(LoginRequiredMixin, View):
    """Upload a file or paste text; a refusal comes back beside what was pasted."""

    template_name = "speeches/document_import.html"

    def check(self, request):
        if not can(request.user, "import", SpeechDocument):
            raise PermissionDenied

    def get(self, request):
        self.check(request)
        return render(request, self.template_name, {"form": DocumentImportForm()})

    def post(self, request):
        self.check(request)
        form = DocumentImportForm(request.POST, request.FILES)
        document, status = submit(
            form, lambda: services.document_import(actor=request.user, **form.import_args())
        )
        if status != 200:
            return render(request, self.template_name, {"form": form}, status=status)
        count = document.speeches.count()
        messages.success(
            request,
            _("已导入“%(name)s”：%(count)s 篇讲话") % {"name": document.name, "count": count},
        )
        return redirect("speeches:document_detail", pk=document.pk)


class DocumentDetailView(LoginRequiredMixin, View):
    """One imported document: its speeches, and the page's own claim beside what guatu counted."""

    def get(self, request, pk: int):
        user = request.user
        if not can(user, "view", SpeechDocument):
            raise PermissionDenied
        try:
            document = selectors.document_get(user=user, pk=pk)
        except SpeechDocument.DoesNotExist:
            raise Http404 from None
        speeches = list(selectors.document_speeches(user=user, document=document).defer("text"))
        counted = sum(s.chars for s in speeches)
        stated_rule = (
            speech_text.reading_minutes(document.stated_chars) if document.stated_chars is not None else None
        )
        context = {
            "object": document,
            "speeches": speeches,
            "counted_chars": counted,
            "counted_minutes": speech_text.reading_minutes(counted),
            "stated_rule_minutes": stated_rule,
            "stated_consistent": stated_rule is not None and stated_rule == document.stated_minutes,
            "chars_per_minute": speech_text.CHARS_PER_MINUTE,
        }
        return render(request, "speeches/document_detail.html", context)


class SpeechDetailView(LoginRequiredMixin, View):
    """One speech: what is known of it, its text page by page with paragraphs kept, and the items
    read out of it highlighted where they stand. `form` carries an edit that came back refused."""

    template_name = "speeches/speech_detail.html"

    def get(self, request, pk: int, form: SpeechForm | None = None, status: int = 200):
        user = request.user
        if not can(user, "view", Speech):
            raise PermissionDenied
        try:
            speech = selectors.speech_get(user=user, pk=pk)
        except Speech.DoesNotExist:
            raise Http404 from None
        pages = selectors.speech_pages(speech)
        try:
            number = int(request.GET.get("page") or 1)
        except ValueError:
            raise Http404(_("页码“%(page)s”无效") % {"page": request.GET.get("page")}) from None
        if not 1 <= number <= len(pages):
            raise Http404(
                _("第 %(page)s 页不存在（共 %(pages)s 页）") % {"page": number, "pages": len(pages)}
            )
        page = pages[number - 1]
        items = selectors.page_items(user=user, speech=speech, page=page)
        can_change = can(user, "change", Speech)
        context = {
            "object": speech,
            "document": speech.document,
            "pages": pages,
            "page": page,
            "paragraphs": selectors.page_paragraphs(speech, page, items),
            "page_items": items,
            "can_change": can_change,
            "form": form or (SpeechForm(instance=speech) if can_change else None),
        }
        return render(request, self.template_name, context, status=status)


class SpeechEditView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        if not can(request.user, "change", Speech):
            raise PermissionDenied
        try:
            speech = selectors.speech_get(user=request.user, pk=pk, action="change")
        except Speech.DoesNotExist:
            raise Http404 from None
        form = SpeechForm(request.POST, instance=speech)
        saved, status = submit(
            form,
            lambda: services.speech_update(
                actor=request.user,
                speech_id=pk,
                version=form.cleaned_data["version"],
                data=form.data_for_service(),
            ),
        )
        if status != 200:
            return SpeechDetailView().get(request, pk, form=form, status=status)
        messages.success(request, _("已保存：%(speech)s") % {"speech": services.speech_label(saved)})
        return redirect("speeches:speech_detail", pk=pk)


# --- breakdown


DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _attachment(data: bytes, content_type: str, filename: str) -> HttpResponse:
    from urllib.parse import quote

    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _export(rows, fmt: str, *, title: str, source: str, stem: str) -> HttpResponse:
    from guatu.speeches.io import export_breakdown_docx, export_breakdown_xlsx

    buffer = _bytes_io.BytesIO()
    if fmt == "docx":
        export_breakdown_docx(rows, buffer, title=title, source=source)
        return _attachment(buffer.getvalue(), DOCX_CONTENT_TYPE, f"{stem}.docx")
    if fmt == "xlsx":
        export_breakdown_xlsx(rows, buffer)
        return _attachment(buffer.getvalue(), XLSX_CONTENT_TYPE, f"{stem}.xlsx")
    raise Http404(_("未知的导出格式：%(fmt)s") % {"fmt": fmt})


# --- the review table of a speech


def _speech_or_404(request, pk: int) -> Speech:
    if not can(request.user, "view", Speech):
        raise PermissionDenied
    try:
        return selectors.speech_for_review(user=request.user, pk=pk)
    except Speech.DoesNotExist:
        raise Http404 from None


def _back(request, speech_pk: int) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("speeches:speech_breakdown", args=[speech_pk])


def breakdown_page(request, speech: Speech, *, bound: dict | None = None, status: int = 200) -> HttpResponse:
    """The review table: every item with its kind, sentence, value and status; the proposed ones
    with accept (as a target or a task) and reject forms for a reviewer. Rendered whole, or as the
    fragment the speech page loads (htmx)."""
    bound = bound or {}
    user = request.user
    reviewer = selectors.may_review(user=user)
    rows = []
    choices = accept_choices(user) if reviewer else None
    for item in selectors.speech_items(user=user, speech=speech):
        forms = {}
        if reviewer and item.status == ReviewStatus.PROPOSED:
            initial = {"version": item.version}
            forms = {
                "accept": bound.get(("accept", item.pk))
                or ItemAcceptForm(
                    initial=initial, user=user, item=item, choices=choices, prefix=f"a{item.pk}"
                ),
                "reject": bound.get(("reject", item.pk))
                or ItemRejectForm(initial=initial, prefix=f"r{item.pk}"),
            }
        rows.append((item, forms, selectors.item_value_text(item)))
    context = {
        "speech": speech,
        "rows": rows,
        "reviewer": reviewer,
        "counts": {s: sum(1 for row in rows if row[0].status == s) for s in ReviewStatus.values},
        "next": request.get_full_path() if not request.htmx else request.headers.get("HX-Current-URL", ""),
    }
    partial = bool(request.htmx) and not request.htmx.boosted
    template = "speeches/breakdown_review.html" if partial else "speeches/breakdown_page.html"
    return render(request, template, context, status=status)


class SpeechBreakdownView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        return breakdown_page(request, _speech_or_404(request, pk))


class SpeechExtractView(LoginRequiredMixin, View):
    """提取: read the speech's quantities and tasks afresh (proposed items are replaced)."""

    def post(self, request, pk: int):
        speech = _speech_or_404(request, pk)
        try:
            items = services.speech_extract(actor=request.user, speech_id=speech.pk)
        except Speech.DoesNotExist:
            raise PermissionDenied from None
        messages.success(request, _("已提取 %(n)s 条待审核条目") % {"n": len(items)})
        return redirect(_back(request, speech.pk))


def _item_or_404(request, pk: int) -> ExtractedItem:
    item = ExtractedItem.objects.filter(pk=pk).select_related("speech").first()
    if item is None:
        raise Http404
    _speech_or_404(request, item.speech_id)
    return item


def _item_write(write):
    def run():
        try:
            return write()
        except ExtractedItem.DoesNotExist:
            raise PermissionDenied from None

    return run


class ItemAcceptView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        item = _item_or_404(request, pk)
        form = ItemAcceptForm(request.POST, user=request.user, item=item, prefix=f"a{pk}")
        done, status = submit(
            form,
            _item_write(
                lambda: services.item_accept(
                    actor=request.user,
                    item_id=pk,
                    version=form.cleaned_data["version"],
                    data=form.service_data(),
                )
            ),
        )
        if status == 200:
            made = done.target or done.task
            messages.success(request, _("已采纳：%(made)s") % {"made": made})
            return redirect(_back(request, item.speech_id))
        return breakdown_page(request, item.speech, bound={("accept", pk): form}, status=status)


class ItemRejectView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        item = _item_or_404(request, pk)
        form = ItemRejectForm(request.POST, prefix=f"r{pk}")
        done, status = submit(
            form,
            _item_write(
                lambda: services.item_reject(
                    actor=request.user, item_id=pk, version=form.cleaned_data["version"],
                    reason=form.cleaned_data["reason"],
                )
            ),
        )  # fmt: skip
        if status == 200:
            messages.success(request, _("已驳回：%(item)s") % {"item": done})
            return redirect(_back(request, item.speech_id))
        return breakdown_page(request, item.speech, bound={("reject", pk): form}, status=status)


class ItemEditView(LoginRequiredMixin, View):
    """Correct what extraction proposed before accepting it."""

    def _check(self, request, pk: int) -> ExtractedItem:
        item = _item_or_404(request, pk)
        if not selectors.may_review(user=request.user):
            raise PermissionDenied
        return item

    def get(self, request, pk: int):
        item = self._check(request, pk)
        form = ItemEditForm(instance=item, initial={"version": item.version})
        return self._render(request, form, item)

    @staticmethod
    def _render(request, form, item, status: int = 200):
        back = request.POST.get("next") or request.GET.get("next") or ""
        context = {"form": form, "item": item, "next": back}
        return render(request, "speeches/breakdown_item_edit.html", context, status=status)

    def post(self, request, pk: int):
        item = self._check(request, pk)
        form = ItemEditForm(request.POST, instance=ExtractedItem.objects.get(pk=pk))
        done, status = submit(
            form,
            _item_write(
                lambda: services.item_edit(
                    actor=request.user,
                    item_id=pk,
                    version=form.cleaned_data["version"],
                    data=form.service_data(),
                )
            ),
        )
        if status == 200:
            messages.success(request, _("已修改：%(item)s") % {"item": done})
            return redirect(_back(request, item.speech_id))
        return self._render(request, form, item, status=status)


class SpeechBreakdownExportView(LoginRequiredMixin, View):
    """A speech's 任务分解表: its accepted targets and its tasks, as .xlsx or .docx."""

    def get(self, request, pk: int, fmt: str):
        speech = _speech_or_404(request, pk)
        rows = selectors.breakdown_rows(user=request.user, speech=speech)
        title = str(speech)
        source = "，".join(
            part for part in (title, speech.speaker, speech.date.isoformat() if speech.date else "") if part
        )
        return _export(rows, fmt, title=_("任务分解表"), source=source, stem=_("任务分解表"))


# --- supervised tasks


class TaskListView(ObjectListView):
    """督办任务: the tasks of the user's scope, with filters, overdue in red, status badges."""

    model = SupervisedTask
    table_class = TaskTable
    template_name = "speeches/task_list.html"

    @staticmethod
    def filterset(*, user, params):
        return selectors.task_filterset(user=user, params=params)

    def extra_context(self, request):
        return {"counts": selectors.task_counts(user=request.user)}


def _task_or_404(request, pk: int) -> SupervisedTask:
    if not can(request.user, "view", SupervisedTask):
        raise PermissionDenied
    try:
        return selectors.task_get(user=request.user, pk=pk)
    except SupervisedTask.DoesNotExist:
        raise Http404 from None


def task_page(request, task: SupervisedTask, *, bound: dict | None = None, status: int = 200) -> HttpResponse:
    user, bound = request.user, bound or {}
    today = timezone.localdate()
    initial = {"version": task.version}
    names = selectors.transition_names()
    actions = [
        (row, bound.get(f"act:{row.action}") or TaskActionForm(initial=initial, prefix=row.action))
        for row in selectors.task_actions(user=user, task=task)
    ]
    context = {
        "object": task,
        "today": today,
        "overdue_days": selectors.overdue_days(task, today),
        "timeline": [
            (note, selectors.note_label(note, names)) for note in selectors.task_notes(user=user, task=task)
        ],
        "actions": actions,
        "note_form": (bound.get("note") or TaskNoteForm(initial={**initial, "progress": task.progress}))
        if selectors.can_note(user=user, task=task)
        else None,
        "can_edit": selectors.can_edit_task(user=user, task=task),
    }
    return render(request, "speeches/task_detail.html", context, status=status)


class TaskDetailView(LoginRequiredMixin, View):
    def get(self, request, pk: int):
        return task_page(request, _task_or_404(request, pk))


def _task_write(write):
    def run():
        try:
            return write()
        except SupervisedTask.DoesNotExist:
            raise Http404 from None

    return run


class TaskActView(LoginRequiredMixin, View):
    def get(self, request, pk: int, action: str):
        return redirect("speeches:task_detail", pk=pk)

    def post(self, request, pk: int, action: str):
        task = _task_or_404(request, pk)
        form = TaskActionForm(request.POST, prefix=action)
        done, status = submit(
            form,
            _task_write(
                lambda: services.task_act(
                    actor=request.user, task_id=task.pk, action=action, version=form.cleaned_data["version"],
                    comment=form.cleaned_data["comment"],
                )
            ),
        )  # fmt: skip
        if status == 200:
            name = selectors.transition_names().get(action, action)
            messages.success(request, _("“%(task)s”：已%(action)s") % {"task": done, "action": name})
            return redirect("speeches:task_detail", pk=done.pk)
        task = _task_or_404(request, pk)
        if not any(row.action == action for row in selectors.task_actions(user=request.user, task=task)):
            for error in form.non_field_errors():
                messages.error(request, error)
        return task_page(request, task, bound={f"act:{action}": form}, status=status)


class TaskNoteView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        task = _task_or_404(request, pk)
        form = TaskNoteForm(request.POST)
        _note, status = submit(
            form,
            _task_write(
                lambda: services.task_note(
                    actor=request.user, task_id=task.pk, version=form.cleaned_data["version"],
                    text=form.cleaned_data["text"], progress=form.cleaned_data["progress"],
                )
            ),
        )  # fmt: skip
        if status == 200:
            messages.success(request, _("已记录进展"))
            return redirect(f"{reverse('speeches:task_detail', args=[pk])}#timeline")
        return task_page(request, _task_or_404(request, pk), bound={"note": form}, status=status)


class TaskEditView(ObjectEditView):
    model = SupervisedTask
    form_class = TaskForm
    template_name = "speeches/task_edit.html"

    def get_object(self, request, pk: int):
        try:
            return selectors.task_get(user=request.user, pk=pk, action="change")
        except SupervisedTask.DoesNotExist:
            raise Http404 from None

    def save(self, request, form, obj):
        data = form.service_data()
        if obj is None:
            return services.task_create(actor=request.user, data=data)
        version = form.cleaned_data.get("version")
        return _task_write(
            lambda: services.task_update(actor=request.user, task_id=obj.pk, version=version, data=data)
        )()

    def post(self, request, pk: int | None = None):
        self.check(request, pk)
        obj = self.get_object(request, pk) if pk else None
        form = self.get_form(request, obj, request.POST)
        saved, status = submit(form, lambda: self.save(request, form, obj))
        if status == 200:
            messages.success(request, _("已保存：%(obj)s") % {"obj": saved})
            return redirect("speeches:task_detail", pk=saved.pk)
        return self.render(request, form, obj, status=status)


class TaskImportView(LoginRequiredMixin, View):
    """The task list import runs on the shared import pages (upload, dry run, commit)."""

    def get(self, request):
        if not can(request.user, "import", SupervisedTask):
            raise PermissionDenied
        return redirect("core:import", kind="tasks")


class TaskExportView(LoginRequiredMixin, View):
    """The tasks the list's filters select, as a 任务分解表 (.xlsx or .docx)."""

    def get(self, request, fmt: str):
        if not can(request.user, "export", SupervisedTask):
            raise PermissionDenied
        filterset = selectors.task_filterset(user=request.user, params=request.GET)
        if not filterset.is_valid():
            messages.error(request, "；".join(str(e) for errors in filterset.errors.values() for e in errors))
            return redirect("speeches:task_list")
        rows = selectors.breakdown_rows(user=request.user, params=request.GET)
        category = request.GET.get("category", "").strip()
        return _export(
            rows,
            fmt,
            title=_("督办任务分解表"),
            source=category or _("全部督办任务"),
            stem=_("督办任务分解表"),
        )
