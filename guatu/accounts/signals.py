"""Every login, failure, lockout and logout goes to the login log, whoever the account is."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.sessions.models import Session
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from guatu.accounts.middleware import PASSWORD_KEY, SECOND_FACTOR_KEY
from guatu.accounts.models import User
from guatu.accounts.security import password_expired, policy, second_factor_required
from guatu.core import changelog


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None) or ""
    changelog.record_login(event="login", username=user.get_username(), user=user, request=request)
    previous = user.last_session_key
    if previous and previous != key:
        live = Session.objects.filter(session_key=previous, expire_date__gt=timezone.now()).exists()
        if live:
            changelog.record_login(
                event="other_browser", username=user.get_username(), user=user, request=request,
                detail=_("该账号在另一浏览器的会话仍未结束"),
            )  # fmt: skip
    if key and key != previous:
        User.objects.filter(pk=user.pk).update(last_session_key=key)
        user.last_session_key = key
    if session is not None:
        session.set_expiry(policy().idle_minutes * 60)
        session[SECOND_FACTOR_KEY] = second_factor_required(user)
        session[PASSWORD_KEY] = password_expired(user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username") or "")[:150]
    user = User.objects.filter(username=username).first() if username else None
    changelog.record_login(event="failed", username=username, user=user, request=request)


@receiver(user_locked_out)
def _locked_out(sender, request, username, ip_address, **kwargs):
    username = str(username or "")[:150]
    user = User.objects.filter(username=username).first() if username else None
    changelog.record_login(event="locked", username=username, user=user, request=request)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        changelog.record_login(event="logout", username=user.get_username(), user=user, request=request)
