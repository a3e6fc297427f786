from rest_framework.permissions import BasePermission


class RestrictedPermission(BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)


def exception_handler(exc, context):
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(exc, context)
