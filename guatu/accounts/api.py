"""API sign-in: user name and password (and, where required, a TOTP code) for a token, sent afterwards
as `Authorization: Token …`."""

from django.utils.translation import gettext as _
from django_otp import match_token
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from guatu.accounts import security
from guatu.core import changelog


class TokenRequestSerializer(AuthTokenSerializer):
    otp = serializers.RegexField(
        r"^\d{6}$", required=False, label=_("动态口令"),
        help_text=_("项目办和三员账号在启用两步验证时必填：验证器上的 6 位数字"),
    )  # fmt: skip


class TokenObtainView(ObtainAuthToken):
    """用户名和密码换取 API 令牌；须两步验证的账号另需动态口令；连续失败 5 次锁定账号 30 分钟。"""

    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            # django-axes refuses a locked account like a wrong password; tell the caller which it was.
            if getattr(request, "axes_locked_out", False):
                return Response({"detail": security.lockout_message()}, status=429)
            raise serializers.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        if security.second_factor_required(user):
            token = serializer.validated_data.get("otp")
            if not token or match_token(user, token) is None:
                changelog.record_login(
                    event="otp_failed", username=user.get_username(), user=user, request=request
                )
                raise serializers.ValidationError(
                    {
                        "otp": [
                            _(
                                "该账号须两步验证：请提供验证器上当前的 6 位动态口令（未设置的请先在网页登录设置）"
                            )
                        ]
                    }
                )
        if security.password_expired(user):
            return Response({"detail": _("密码已过期或须由本人修改，请先在网页登录修改密码")}, status=403)
        key, _created = Token.objects.get_or_create(user=user)
        changelog.record_login(
            event="login", username=user.get_username(), user=user, request=request, detail="API"
        )
        return Response({"token": key.key})
