from django.urls import include, path
from rest_framework.routers import DefaultRouter

from guatu.accounts.api import TokenObtainView
from guatu.org.api import ChainViewSet, RegionViewSet, UnitViewSet
from guatu.progress.api import MonthlyReportViewSet, WarningViewSet
from guatu.projects.api import ApprovalViewSet, ProjectViewSet
from guatu.targets.api import RankingView, TargetViewSet

app_name = "api"

router = DefaultRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register("regions", RegionViewSet, basename="region")
router.register("units", UnitViewSet, basename="unit")
router.register("chains", ChainViewSet, basename="chain")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("warnings", WarningViewSet, basename="warning")
router.register("reports", MonthlyReportViewSet, basename="report")
router.register("targets", TargetViewSet, basename="target")

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token"),
    path("rankings/", RankingView.as_view(), name="rankings"),
    path("", include(router.urls)),
]
