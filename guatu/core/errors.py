"""The pages shown when a request fails: 500, or 503 while the database cannot be reached.

They render without the database, the session or the user (any of which may be what failed), and
never show a traceback. API requests get the same message as JSON."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader

UNAVAILABLE = "数据库暂时无法连接，系统正在恢复，请稍后刷新重试。"
FAILED = "服务器内部错误，本次操作未完成。请稍后重试；如仍出错，请把请求编号告诉管理员。"
RETRY_AFTER_SECONDS = 10


def server_error(request, template_name: str = "500.html") -> HttpResponse:
    # Django calls the handler inside its `except`: the exception that got here is still at hand.
    error = sys.exc_info()[1]
    unavailable = isinstance(error, OperationalError | InterfaceError)
    status = 503 if unavailable else 500
    request_id = getattr(request, "request_id", "")
    message = UNAVAILABLE if unavailable else FAILED
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"detail": message, "request_id": request_id},
            status=status,
            json_dumps_params={"ensure_ascii": False},
        )
    else:
        template = loader.get_template("503.html" if unavailable else template_name)
        context = {"message": message, "request_id": request_id, "status": status}
        response = HttpResponse(template.render(context), status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
