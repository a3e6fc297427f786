from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

# The session remembers at login whether this account must pass a second factor and whether its
# password must be changed, so that pages need no query to know it.
SECOND_FACTOR_KEY = "guatu_second_factor"
PASSWORD_KEY = "guatu_password_expired"
# What an account may still open before its second factor or its new password.
OPEN_PATHS = ("/static/", "/logout/", "/login/", "/i18n/", "/accounts/me/")


class SecurityPolicyMiddleware:
    """Holds a signed-in account at the second factor, then at a forced password change, before it
    reaches any page or the API (by session; API tokens are only issued past both)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not request.path.startswith(OPEN_PATHS):
            if request.session.get(SECOND_FACTOR_KEY) and not user.is_verified():
                return self._hold(request, "accounts:second_factor", _("请先完成两步验证（动态口令）"))
            if request.session.get(PASSWORD_KEY):
                return self._hold(
                    request, "accounts:password_change", _("密码已过期或须由本人修改，请先修改密码")
                )
        return self.get_response(request)

    @staticmethod
    def _hold(request, url_name: str, message: str):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=403)
        return redirect(url_name)
