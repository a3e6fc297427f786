import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from guatu.core.forms import StyledFilterMixin
from guatu.core.models import ChangeRecord, LoginRecord


class ChangeRecordFilterSet(StyledFilterMixin, filters.FilterSet):
    q = filters.CharFilter(method="search", label=_("关键词"))
    action = filters.ChoiceFilter(choices=ChangeRecord.Action.choices, label=_("操作"))
    actor = filters.CharFilter(field_name="actor_name", lookup_expr="icontains", label=_("操作人"))
    request_id = filters.CharFilter(label=_("请求编号"))
    since = filters.DateFilter(field_name="time", lookup_expr="date__gte", label=_("起始日期"))
    until = filters.DateFilter(field_name="time", lookup_expr="date__lte", label=_("截止日期"))

    class Meta:
        model = ChangeRecord
        fields = ["q", "action", "actor", "request_id", "since", "until"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(object_repr__icontains=value) | Q(object_id=value))


class LoginRecordFilterSet(StyledFilterMixin, filters.FilterSet):
    event = filters.ChoiceFilter(choices=LoginRecord.Event.choices, label=_("事件"))
    username = filters.CharFilter(lookup_expr="icontains", label=_("用户名"))
    ip = filters.CharFilter(label=_("IP 地址"))
    since = filters.DateFilter(field_name="time", lookup_expr="date__gte", label=_("起始日期"))
    until = filters.DateFilter(field_name="time", lookup_expr="date__lte", label=_("截止日期"))

    class Meta:
        model = LoginRecord
        fields = ["event", "username", "ip", "since", "until"]
