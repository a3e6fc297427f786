import uuid

from django.conf import settings
from django.utils import translation

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


class LanguageMiddleware:
    """Chinese unless the user chose another language (the set_language cookie).

    The browser's Accept-Language is ignored on purpose: many office machines run English-locale
    browsers, and the platform's working language is Chinese.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        request.LANGUAGE_CODE = language
        # override() restores the thread's language afterwards, so nothing leaks to the next request.
        with translation.override(language):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
