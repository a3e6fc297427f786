"""What every app's API shares: the permission class, restricted querysets and relations, and the
mapping of domain exceptions to HTTP answers."""

from collections.abc import Mapping

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.settings import api_settings

from guatu.core.exceptions import Conflict
from guatu.core.permissions import can, restrict

METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}
VIEWSET_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "metadata": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


def restricted_action(request, view) -> str | None:
    """The restrict() action a request performs; None when the view has no handler for it (→ 405)."""
    if hasattr(view, "action_map"):  # a viewset
        action = getattr(view, "action", None)
        if action is None:
            return None
        extra = getattr(view, "restrict_actions", {})
        return extra.get(action) or VIEWSET_ACTIONS.get(action) or METHOD_ACTIONS.get(request.method)
    return METHOD_ACTIONS.get(request.method)


def _view_model(view) -> type[Model] | None:
    queryset = getattr(view, "queryset", None)
    return queryset.model if queryset is not None else None


class RestrictedPermission(BasePermission):
    """The user is signed in and its role may do the action on some rows of the view's model.

    Which rows is the queryset's business (restrict()), so a role without the action at all gets
    403 and an object outside the user's scope gets 404.
    """

    message = gettext_lazy("您的角色无权进行此操作")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        model = _view_model(view)
        if model is None:
            return True  # views without a model (the API root) only need a signed-in user
        action = restricted_action(request, view)
        if action is None:
            return True  # let the view answer 405
        return can(user, action, model)


class RestrictedViewSetMixin:
    """Rows come from restrict() with the action the request performs (view, change, delete …).

    `restrict_actions` maps extra viewset actions (say "stage") to a restrict() action.
    """

    restrict_actions: dict[str, str] = {}

    @property
    def restrict_action(self) -> str:
        return restricted_action(self.request, self) or "view"

    def get_queryset(self):
        return restrict(super().get_queryset(), self.request.user, self.restrict_action)

    def dispatch(self, request, *args, **kwargs):
        # A write and the answer that reads the row back share one transaction: the answer is
        # the state this write left, while its locks keep the next writer waiting, never a later
        # writer's (which a read after the commit could show).
        if request.method in SAFE_METHODS:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)


def _request_user(field):
    request = field.context.get("request")
    return getattr(request, "user", None)


class RestrictedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A relation by id whose choices are the rows the user may view."""

    def get_queryset(self):
        return restrict(super().get_queryset(), _request_user(self), "view")


class RestrictedSlugRelatedField(serializers.SlugRelatedField):
    """A relation by a readable key (say a region's GB/T 2260 code) limited to rows the user may view."""

    def get_queryset(self):
        return restrict(super().get_queryset(), _request_user(self), "view")


class BriefRelatedSerializer(serializers.Serializer):
    """A foreign key read as {"id", "name"} and written as {"id": n} (or just n)."""

    id = serializers.IntegerField()
    name = serializers.CharField(read_only=True)

    model: type[Model]

    def to_internal_value(self, data):
        pk = data.get("id") if isinstance(data, Mapping) else data
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            raise exceptions.ValidationError(_("请提供整数编号 id")) from None
        try:
            return restrict(self.model.objects, _request_user(self), "view").get(pk=pk)
        except self.model.DoesNotExist:
            raise exceptions.ValidationError(
                _("编号为 %(pk)s 的%(model)s不存在") % {"pk": pk, "model": self.model._meta.verbose_name}
            ) from None


class ConflictError(exceptions.APIException):
    status_code = 409
    default_detail = gettext_lazy("数据已被他人修改，请刷新后重试")
    default_code = "conflict"


def _validation_detail(exc: DjangoValidationError) -> dict:
    detail = serializers.as_serializer_error(exc)
    if "__all__" in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop("__all__")
    return detail


def _message(exc: Exception) -> str | None:
    message = str(exc.args[0]) if exc.args else ""
    # The ORM's own "X matching query does not exist." is English and says nothing a user needs.
    if not message or message.endswith("matching query does not exist."):
        return None
    return message


def exception_handler(exc, context):
    """Domain exceptions from services → HTTP: ValidationError 400 (field messages), PermissionDenied
    403, DoesNotExist 404, Conflict 409 {"detail": message}; the rest as DRF does it."""
    if isinstance(exc, Conflict):
        exc = ConflictError(exc.message)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(_message(exc))
    elif isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound(_message(exc))
    # Imported here: DRF imports this module (the permission class) while rest_framework.views loads.
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(exc, context)
