"""The security policy at work: lockout, idle sessions, password age and the second factor.

The policy row is read through the cache (a minute at most behind an edit in another process) so
that no page pays a query for it."""

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.accounts.models import SECOND_FACTOR_ROLES, SecurityPolicy

_CACHE_KEY = "guatu:security-policy"


def policy() -> SecurityPolicy:
    current = cache.get(_CACHE_KEY)
    if current is None:
        current = SecurityPolicy.objects.order_by("pk").first() or SecurityPolicy()
        cache.set(_CACHE_KEY, current, 60)
    return current


def forget_policy() -> None:
    cache.delete(_CACHE_KEY)


# --- lockout (django-axes reads these through AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME, AXES_LOCKOUT_CALLABLE)


def failure_limit(request, credentials) -> int:
    return policy().lockout_failures


def cool_off(request=None) -> dt.timedelta:
    return dt.timedelta(minutes=policy().lockout_minutes)


def lockout_message() -> str:
    # The same words whether or not the account exists: axes counts failures per user name as typed.
    return _("登录失败次数过多，该账号已被锁定 %(minutes)d 分钟，请稍后再试或联系系统管理员。") % {
        "minutes": policy().lockout_minutes
    }


def lockout_response(request, original_response=None, credentials=None):
    status = 429
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message()}, status=status)
    from django.contrib.auth.forms import AuthenticationForm

    form = AuthenticationForm(request, data=request.POST or None)
    context = {"form": form, "lockout": lockout_message(), "next": request.POST.get("next", "")}
    return render(request, "accounts/login.html", context, status=status)


# --- password age and the second factor


def password_expired(user, now: dt.datetime | None = None) -> bool:
    if user.must_change_password:
        return True
    age = (now or timezone.now()) - user.password_changed_at
    return age > dt.timedelta(days=policy().password_max_age_days)


def second_factor_required(user) -> bool:
    """Must this account pass a second factor? Always once it has set one up; for the project office
    and the three administrators, also before it has, when GUATU_REQUIRE_2FA is on."""
    from django_otp import user_has_device

    if settings.REQUIRE_2FA and user.role in SECOND_FACTOR_ROLES:
        return True
    return user_has_device(user, confirmed=True)
