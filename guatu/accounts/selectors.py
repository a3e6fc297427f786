"""Reads of accounts, always through restrict()."""

from collections.abc import Mapping

from django.db.models import QuerySet

from guatu.accounts.filters import UserFilterSet
from guatu.accounts.models import User
from guatu.core.permissions import restrict


def user_queryset(*, user, action: str = "view") -> QuerySet[User]:
    return restrict(User.objects, user, action).select_related("region", "unit")


def user_filterset(*, user, params: Mapping[str, str]) -> UserFilterSet:
    return UserFilterSet(params, queryset=user_queryset(user=user))


def user_get(*, user, pk: int, action: str = "view") -> User:
    return user_queryset(user=user, action=action).get(pk=pk)


def user_may(*, user, target: User, action: str) -> bool:
    return restrict(User.objects.filter(pk=target.pk), user, action).exists()
