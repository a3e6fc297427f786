import uuid

from guatu.core import changelog


class RequestIdMiddleware:
    """Gives every request an id, stamped on each change record it causes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id
        token = changelog.current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            changelog.current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response
