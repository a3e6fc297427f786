"""Reference data over the API: regions, units, chains. Every business role reads them."""

from rest_framework import serializers, viewsets

from guatu.core.api import BriefRelatedSerializer
from guatu.org import selectors
from guatu.org.models import Chain, Region, Unit


class BriefUnitSerializer(BriefRelatedSerializer):
    model = Unit


class BriefChainSerializer(BriefRelatedSerializer):
    model = Chain


class RegionSerializer(serializers.ModelSerializer):
    # The city itself has no parent: null is a documented value.
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = Region
        fields = ["code", "name", "short_name", "pinyin", "level", "parent"]


class UnitSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Unit
        fields = ["id", "name", "kind", "region", "contact", "phone"]


class ChainSerializer(serializers.ModelSerializer):
    class Meta:
        model = Chain
        fields = ["id", "name", "sector", "order"]


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """行政区划 (GB/T 2260)：本市及所辖县(市)区，按代码查询。"""

    queryset = Region.objects.all()
    serializer_class = RegionSerializer
    lookup_field = "code"
    lookup_value_regex = r"\d{6}"
    filterset_fields = ["level"]

    def get_queryset(self):
        return selectors.region_list(user=self.request.user)


class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    """单位：县(市)区政府、开发区、市直部门、项目单位。"""

    queryset = Unit.objects.all()
    serializer_class = UnitSerializer
    lookup_value_regex = r"\d+"
    filterset_fields = ["kind"]

    def get_queryset(self):
        return selectors.unit_list(user=self.request.user)


class ChainViewSet(viewsets.ReadOnlyModelViewSet):
    """产业链。"""

    queryset = Chain.objects.all()
    serializer_class = ChainSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.chain_list(user=self.request.user)
