"""Bootstrap: grant a role from the command line (the first security administrator has nobody to
grant it one). Runs as the system and is written to the change log like any grant."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from guatu.accounts import services
from guatu.accounts.models import Role, User
from guatu.org.models import Region, Unit


class Command(BaseCommand):
    help = "为账号授予角色（用于初始化：首个安全管理员无人可为其授权）"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=[r.value for r in Role if r])
        parser.add_argument("--region", help="县(市)区代码（GB/T 2260）")
        parser.add_argument("--unit", help="单位名称")

    def handle(self, *args, username, role, region=None, unit=None, **options):
        try:
            user = User.objects.get(username=username)
            region_obj = Region.objects.get(code=region) if region else None
            unit_obj = Unit.objects.get(name=unit) if unit else None
        except (User.DoesNotExist, Region.DoesNotExist, Unit.DoesNotExist) as err:
            raise CommandError(
                f"找不到：{username if 'User' in type(err).__qualname__ else region or unit}"
            ) from None
        try:
            user = services.user_grant_role(
                actor=None, user_id=user.pk, version=user.version, role=role, region=region_obj, unit=unit_obj
            )
        except ValidationError as err:
            raise CommandError("；".join(err.messages)) from None
        self.stdout.write(f"{user.username}：{user.get_role_display()}")
