"""Excel imports as jobs: upload → dry run (every bad row listed) → all-or-nothing commit.

An app registers an Importer for a kind ("projects"); the job runs in django-tasks (a database
queue run by `guatu db_worker`, inline in tests) and reports progress on the ImportJob row, which
the job page polls with htmx.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from typing import IO, Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.db.models import Model
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View
from django_tasks import task

from guatu.core import changelog
from guatu.core.models import ImportJob
from guatu.core.permissions import can, restrict
from guatu.core.xlsx import XLSX_CONTENT_TYPE, RowError, count_rows

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Importer:
    kind: str
    label: str  # what is imported, e.g. 项目
    model: type[Model]  # access: can(user, "import", model)
    run: Callable[..., ImportResult]  # (*, actor, path, commit, progress) -> ImportResult
    template: Callable[[IO[bytes]], Any]  # writes the blank template
    template_filename: str
    list_url: str = ""  # URL name of the list the imported rows land in


_IMPORTERS: dict[str, Importer] = {}
_discovered = False


def register(importer: Importer) -> Importer:
    _IMPORTERS[importer.kind] = importer
    return importer


def get_importer(kind: str) -> Importer | None:
    global _discovered
    if not _discovered:
        # Each app declares its importers in its io module (guatu/projects/io.py …).
        autodiscover_modules("io")
        _discovered = True
    return _IMPORTERS.get(kind)


# --- the job ----------------------------------------------------------------------------------


def import_job_create(*, actor, kind: str, upload) -> ImportJob:
    job = ImportJob(kind=kind, filename=upload.name[:255], created_by=actor, updated_by=actor)
    job.file.save(upload.name, upload, save=False)
    job.total = count_rows(job.file.path, max_bytes=settings.IMPORT_MAX_BYTES)
    job.save()
    _start(job)
    return job


def _start(job: ImportJob) -> None:
    # A small file is checked while the user waits; a large one goes to the worker and the page
    # shows its progress.
    if job.total <= settings.IMPORT_BACKGROUND_ROWS:
        run_import_job.call(job_id=job.pk)
    else:
        run_import_job.enqueue(job_id=job.pk)


def import_job_commit(*, actor, job_id: int) -> bool:
    """Queue the real import of a validated job; False when it is not (or no longer) committable."""
    # One conditional update, so a double click cannot queue two commits.
    queued = (
        restrict(ImportJob.objects, actor, "change")
        .filter(pk=job_id, status=ImportJob.Status.VALIDATED, commit=False)
        .update(commit=True, status=ImportJob.Status.QUEUED, done=0, updated_by=actor)
    )
    if queued:
        _start(ImportJob.objects.get(pk=job_id))
    return bool(queued)


@task()
def run_import_job(job_id: int) -> str:
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, done=0
    )
    if not claimed:
        return "skipped"  # already run, or taken by another worker
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    importer = get_importer(job.kind)
    actor = job.created_by
    if importer is None or actor is None:
        return _finish(job, ImportJob.Status.FAILED, _("无法处理：未知的导入类型，或上传人已不存在"))
    token = changelog.current_request_id.set(f"import-{job.pk}")
    try:
        result = importer.run(actor=actor, path=job.file.path, commit=job.commit, progress=_Progress(job.pk))
    except Exception:
        logger.exception("import job %s failed", job.pk)
        return _finish(
            job,
            ImportJob.Status.FAILED,
            _("处理中出错，未写入任何数据。请联系管理员（任务 %(id)s）") % {"id": job.pk},
        )
    finally:
        changelog.current_request_id.reset(token)
    job.total = job.done = result.total
    job.errors = [e.as_dict() for e in result.errors]
    job.created_count, job.updated_count = result.created, result.updated
    counts = {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    if result.errors:
        status = ImportJob.Status.INVALID
        message = _("发现 %(n)s 处错误，未写入任何数据。请修改后重新上传。") % {"n": len(result.errors)}
    elif job.commit:
        status = ImportJob.Status.COMMITTED
        message = _("导入完成：新增 %(created)s 个，更新 %(updated)s 个，未变化 %(unchanged)s 个。") % counts
    else:
        status = ImportJob.Status.VALIDATED
        message = (
            _("校验通过：将新增 %(created)s 个，更新 %(updated)s 个，未变化 %(unchanged)s 个。") % counts
        )
    return _finish(job, status, message)


def _finish(job: ImportJob, status: str, message: str) -> str:
    job.status, job.message = status, message
    job.save(
        update_fields=[
            "status",
            "message",
            "total",
            "done",
            "errors",
            "created_count",
            "updated_count",
            "updated_at",
        ]
    )
    return status


class _Progress:
    """Writes done/total on the job at most twice a second, where other connections can see it."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        if not connection.in_atomic_block:
            self._write(done, total)
        elif connection.vendor == "postgresql":
            # Inside the all-or-nothing commit our own writes stay invisible until the end; each
            # thread gets its own connection, so a short thread makes the progress visible now.
            thread = threading.Thread(target=self._write_own_connection, args=(done, total))
            thread.start()
            thread.join(timeout=5)
        # SQLite has one writer at a time and the import holds it: the bar moves at the end.

    def _write(self, done: int, total: int) -> None:
        # done__lte: a late progress write never moves the bar backwards.
        ImportJob.objects.filter(pk=self.job_id, done__lte=done).update(done=done, total=total)

    def _write_own_connection(self, done: int, total: int) -> None:
        try:
            self._write(done, total)
        except Exception:  # progress is a courtesy; the import must not fail over it
            logger.warning("progress update of import job %s failed", self.job_id, exc_info=True)
        finally:
            connections.close_all()


# --- pages ------------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Excel 文件（.xlsx）"),
        widget=forms.FileInput(attrs={"accept": ".xlsx", "class": "form-control"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Checked here too so that an oversized file is never stored.
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("文件大小 %(size)s MB 超过上限 %(limit)s MB，请拆分后分批导入")
                % {
                    "size": f"{upload.size / 1024 / 1024:.1f}",
                    "limit": f"{settings.IMPORT_MAX_BYTES / 1024 / 1024:.0f}",
                }
            )
        return upload


class _ImporterMixin(LoginRequiredMixin):
    def importer_for(self, request, kind: str) -> Importer:
        importer = get_importer(kind)
        if importer is None:
            raise Http404
        if not can(request.user, "import", importer.model):
            raise PermissionDenied
        return importer

    def job_for(self, request, pk: int, action: str = "view") -> tuple[ImportJob, Importer]:
        job = get_object_or_404(restrict(ImportJob.objects, request.user, action), pk=pk)
        return job, self.importer_for(request, job.kind)


class ImportView(_ImporterMixin, View):
    template_name = "core/import.html"

    def get(self, request, kind: str):
        return self.render(request, self.importer_for(request, kind), ImportForm())

    def post(self, request, kind: str):
        importer = self.importer_for(request, kind)
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, importer, form, status=400)
        job = import_job_create(actor=request.user, kind=kind, upload=form.cleaned_data["file"])
        return redirect("core:import_job", pk=job.pk)

    def render(self, request, importer: Importer, form: ImportForm, status: int = 200) -> HttpResponse:
        jobs = restrict(ImportJob.objects, request.user, "view").filter(kind=importer.kind)[:10]
        context = {
            "importer": importer,
            "form": form,
            "jobs": jobs,
            "max_mb": f"{settings.IMPORT_MAX_BYTES / 1024 / 1024:.0f}",
            "background_rows": settings.IMPORT_BACKGROUND_ROWS,
        }
        return render(request, self.template_name, context, status=status)


class TemplateDownloadView(_ImporterMixin, View):
    def get(self, request, kind: str):
        importer = self.importer_for(request, kind)
        buffer = BytesIO()
        importer.template(buffer)
        buffer.seek(0)
        return FileResponse(
            buffer, as_attachment=True, filename=importer.template_filename, content_type=XLSX_CONTENT_TYPE
        )


class ImportJobView(_ImporterMixin, View):
    template_name = "core/import_job.html"

    def get(self, request, pk: int):
        job, importer = self.job_for(request, pk)
        context = {
            "job": job,
            "importer": importer,
            "list_url": reverse(importer.list_url) if importer.list_url else "",
        }
        return render(request, self.template_name, context)


class ImportJobProgressView(_ImporterMixin, View):
    template_name = "core/import_progress.html"

    def get(self, request, pk: int):
        job, _importer = self.job_for(request, pk)
        response = render(request, self.template_name, {"job": job})
        if job.finished:
            response["HX-Refresh"] = "true"  # reload the job page to show the result
        return response


class ImportJobCommitView(_ImporterMixin, View):
    def post(self, request, pk: int):
        job, _importer = self.job_for(request, pk, "change")
        if not import_job_commit(actor=request.user, job_id=job.pk):
            messages.warning(request, _("该导入已提交或未通过校验，不能再次提交"))
        return redirect("core:import_job", pk=job.pk)
