"""Template context for every page: the signed-in user's unread notification count (the bell)."""

from django.utils.functional import SimpleLazyObject


def notifications(request) -> dict:
    """One COUNT query, only for a signed-in user and only when a template reads it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def count() -> int:
        from guatu.problems.models import Notification

        return Notification.objects.filter(user=user.pk, read_at__isnull=True).count()

    return {"unread_notifications": SimpleLazyObject(count)}
