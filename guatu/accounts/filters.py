import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guatu.accounts.models import Role, User
from guatu.core.forms import StyledFilterMixin
from guatu.org.models import Region

# "未授权" is stored as an empty role; the filter needs a non-empty value to ask for it.
ROLE_CHOICES = [("none", Role.NONE.label), *[(r.value, r.label) for r in Role if r]]


class UserFilterSet(StyledFilterMixin, filters.FilterSet):
    q = filters.CharFilter(method="search", label=_("关键词"))
    role = filters.ChoiceFilter(
        choices=ROLE_CHOICES, method="by_role", label=_("角色"), empty_label=_("全部")
    )
    region = filters.ModelChoiceFilter(
        queryset=Region.objects.all(), label=_("所属地区"), empty_label=_("全部")
    )
    is_active = filters.ChoiceFilter(
        choices=[("1", _("启用")), ("0", _("停用"))],
        method="by_active",
        label=_("状态"),
        empty_label=_("全部"),
    )

    class Meta:
        model = User
        fields = ["q", "role", "region", "is_active"]

    def by_role(self, queryset, name, value):
        return queryset.filter(role="" if value == "none" else value)

    def by_active(self, queryset, name, value):
        return queryset.filter(is_active=value == "1")

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(username__icontains=value)
            | Q(last_name__icontains=value)
            | Q(first_name__icontains=value)
            | Q(unit__name__icontains=value)
            | Q(phone__icontains=value)
        )
