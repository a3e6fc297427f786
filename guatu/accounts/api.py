"""API sign-in: user name and password for a token, sent afterwards as `Authorization: Token …`."""

from axes.helpers import get_lockout_message
from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response


class TokenObtainView(ObtainAuthToken):
    """用户名和密码换取 API 令牌；连续失败 5 次锁定账号 30 分钟。"""

    @extend_schema(
        request=AuthTokenSerializer,
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            # django-axes refuses a locked account like a wrong password; tell the caller which it was.
            if getattr(request, "axes_locked_out", False):
                return Response({"detail": get_lockout_message()}, status=settings.AXES_HTTP_RESPONSE_CODE)
            raise serializers.ValidationError(serializer.errors)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
