"""Writes to accounts (三员分立). The system administrator creates accounts, edits who they are,
resets passwords and deactivates them; the security administrator grants roles and their scope.
Each write is one transaction, checked through restrict(), and leaves one change record that
never holds a password hash."""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from guatu.accounts import security
from guatu.accounts.models import Role, SecurityPolicy, User
from guatu.core import changelog
from guatu.core.changelog import record_change, snapshot
from guatu.core.exceptions import Conflict
from guatu.core.permissions import can, restrict
from guatu.org.models import Region, Unit

IDENTITY_FIELDS = ("username", "last_name", "first_name", "email", "phone")
STALE_MESSAGE = _("该账号已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试")
PASSWORD_MARK = _("（已重置）")

# What scope each role needs: a county works in its division, a department or enterprise in its
# unit. Unit kinds a role may be scoped to; roles not named here need no scope and keep none.
ROLE_SCOPE: dict[str, dict[str, Any]] = {
    Role.COUNTY: {"region": True},
    Role.DEPARTMENT: {"unit": (Unit.Kind.DEPARTMENT, Unit.Kind.ZONE, Unit.Kind.COUNTY)},
    Role.ENTERPRISE: {"unit": (Unit.Kind.ENTERPRISE,)},
    Role.STEWARD: {"region_optional": True},
    Role.CITY_ADMIN: {"region_optional": True},
    Role.LEADER: {"region_optional": True},
}


def user_snapshot(user: User) -> dict[str, Any]:
    """The account as the change log keeps it: no password hashes, no last-login time or session."""
    data = snapshot(user)
    for name in ("password", "previous_passwords", "last_login", "last_session_key", "password_changed_at"):
        data.pop(name, None)
    return data


def _locked(actor, user_id: int, action: str) -> User:
    qs = User.objects.all() if actor is None else restrict(User.objects, actor, action)
    try:
        return qs.select_for_update().get(pk=user_id)
    except User.DoesNotExist:
        raise User.DoesNotExist(_("账号不存在或无权操作")) from None


def _check_version(user: User, version: int | None) -> None:
    if version is not None and user.version != version:
        raise Conflict(STALE_MESSAGE % {"current": user.version, "yours": version})


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as err:
        raise ValidationError({"password": err.messages}) from None


@transaction.atomic
def user_create(*, actor, data: Mapping[str, Any]) -> User:
    if actor is not None and not can(actor, "add", User):
        raise PermissionDenied(_("无权新建账号"))
    user = User(role=Role.NONE)
    for name in IDENTITY_FIELDS:
        if name in data:
            setattr(user, name, data[name])
    _check_password(data.get("password") or "", user)
    user.set_password(data["password"])
    # A password an administrator chose is known to two people: its owner replaces it at first login.
    user.must_change_password = actor is not None
    user.full_clean()
    user.save()
    after = user_snapshot(user) | {"password": PASSWORD_MARK}
    record_change(actor=actor, obj=user, action="create", after=after)
    return user


@transaction.atomic
def user_update(*, actor, user_id: int, version: int, data: Mapping[str, Any]) -> User:
    """Who the account is (name, e-mail, phone) and whether it may log in; never its role."""
    user = _locked(actor, user_id, "change")
    _check_version(user, version)
    before = user_snapshot(user)
    for name in (*IDENTITY_FIELDS, "is_active"):
        if name in data:
            setattr(user, name, data[name])
    if actor is not None and user.pk == actor.pk and not user.is_active:
        raise ValidationError({"is_active": _("不能停用自己的账号")})
    if before == user_snapshot(user):
        return user
    user.version += 1
    user.full_clean()
    user.save()
    record_change(actor=actor, obj=user, action="update", before=before, after=user_snapshot(user))
    return user


def _write_password(
    *, actor, user: User, password: str, must_change: bool, request=None, detail: str = ""
) -> User:
    """Set a checked password, in the change log as a mark (never the hash) and in the login log."""
    _check_password(password, user)
    before = user_snapshot(user)
    user.set_password(password)
    user.must_change_password = must_change
    user.version += 1
    user.save()
    after = user_snapshot(user) | {"password": PASSWORD_MARK}
    record_change(actor=actor, obj=user, action="update", before=before | {"password": ""}, after=after)
    changelog.record_login(
        event="password_changed", username=user.get_username(), user=user, request=request, detail=detail
    )
    return user


@transaction.atomic
def user_set_password(*, actor, user_id: int, password: str) -> User:
    """An administrator's reset: the owner must change it again at the next login."""
    user = _locked(actor, user_id, "change")
    return _write_password(
        actor=actor, user=user, password=password, must_change=True, detail=_("管理员重置")
    )


@transaction.atomic
def password_change(*, actor: User, old_password: str, new_password: str, request=None) -> User:
    """The account's owner changes its own password (also when it has expired or was reset)."""
    user = User.objects.select_for_update().get(pk=actor.pk)
    if not user.check_password(old_password):
        raise ValidationError({"old_password": _("原密码不正确")})
    return _write_password(actor=actor, user=user, password=new_password, must_change=False, request=request)


def role_errors(role: str, region: Region | None, unit: Unit | None) -> dict[str, list[str]]:
    scope = ROLE_SCOPE.get(role, {})
    label = Role(role).label
    errors: dict[str, list[str]] = {}
    if scope.get("region") and (region is None or region.parent_id is None):
        errors["region"] = [_("“%(role)s”角色须选择一个县(市)区") % {"role": label}]
    if "unit" in scope:
        kinds = scope["unit"]
        if unit is None:
            errors["unit"] = [_("“%(role)s”角色须选择所属单位") % {"role": label}]
        elif unit.kind not in kinds:
            allowed = "、".join(str(Unit.Kind(k).label) for k in kinds)
            errors["unit"] = [
                _("“%(unit)s”是%(kind)s，“%(role)s”角色只能属于：%(allowed)s")
                % {"unit": unit, "kind": unit.get_kind_display(), "role": label, "allowed": allowed}
            ]
    return errors


@transaction.atomic
def user_grant_role(
    *, actor, user_id: int, version: int, role: str, region: Region | None = None, unit: Unit | None = None
) -> User:
    """Grant a role with its scope. One role per account, so no account can hold two of the
    three administrator roles; the security administrator cannot change its own."""
    if actor is not None and actor.pk == user_id:
        raise PermissionDenied(_("不能修改自己的角色"))
    user = _locked(actor, user_id, "grant")
    _check_version(user, version)
    if role not in Role.values:
        raise ValidationError({"role": _("未知角色：%(role)s") % {"role": role}})
    errors = role_errors(role, region, unit)
    if errors:
        raise ValidationError(errors)
    scope = ROLE_SCOPE.get(role, {})
    before = user_snapshot(user)
    user.role = role
    user.unit = unit if "unit" in scope else None
    if user.unit is not None:
        user.region = user.unit.region  # a department's or enterprise's account works where its unit is
    else:
        user.region = region if {"region", "region_optional"} & scope.keys() else None
    if before == user_snapshot(user):
        return user
    user.version += 1
    user.save()
    record_change(actor=actor, obj=user, action="update", before=before, after=user_snapshot(user))
    return user


POLICY_FIELDS = ("idle_minutes", "password_max_age_days", "lockout_failures", "lockout_minutes")


@transaction.atomic
def security_policy_update(*, actor, version: int, data: Mapping[str, Any]) -> SecurityPolicy:
    """The security administrator's settings (三员分立: no other account may change them)."""
    if actor is not None and not can(actor, "change", SecurityPolicy):
        raise PermissionDenied(_("只有安全管理员可以修改安全策略"))
    current = SecurityPolicy.objects.select_for_update().order_by("pk").first()
    if current is None:
        current = SecurityPolicy.objects.create()
        current = SecurityPolicy.objects.select_for_update().get(pk=current.pk)
    if current.version != version:
        raise Conflict(
            _("安全策略已被他人修改（当前版本 %(current)s，您编辑的是版本 %(yours)s），请刷新后重试")
            % {"current": current.version, "yours": version}
        )
    before = snapshot(current)
    for name in POLICY_FIELDS:
        if name in data:
            setattr(current, name, data[name])
    current.full_clean()
    if snapshot(current) == before:
        return current
    current.version += 1
    current.save()
    record_change(actor=actor, obj=current, action="update", before=before)
    transaction.on_commit(security.forget_policy)
    return current


def _device_record(device) -> dict[str, Any]:
    # Never the device's secret key: whoever reads the log could otherwise produce its codes.
    return {"user": device.user_id, "name": device.name, "confirmed": device.confirmed}


def second_factor_device(*, user: User):
    """The account's TOTP device being set up (made once, unconfirmed, until a code confirms it)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=_("手机动态口令"), confirmed=False)


@transaction.atomic
def second_factor_confirm(*, actor: User, token: str):
    """Confirm the account's new device with a code it shows; returns the device, or None."""
    device = TOTPDevice.objects.select_for_update().filter(user=actor, confirmed=False).first()
    if device is None or not device.verify_token(token):
        return None
    device.confirmed = True
    device.save()
    TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()  # one device per account
    record_change(actor=actor, obj=device, action="create", after=_device_record(device))
    return device


@transaction.atomic
def second_factor_reset(*, actor, user_id: int) -> int:
    """The system administrator removes a lost device; the owner sets up a new one at next login."""
    user = _locked(actor, user_id, "change")
    devices = list(TOTPDevice.objects.filter(user=user))
    for device in devices:
        record_change(actor=actor, obj=device, action="delete", before=_device_record(device))
        device.delete()
    return len(devices)
