from django.urls import include, path
from rest_framework.routers import DefaultRouter

from guatu.accounts.api import TokenObtainView
from guatu.attraction.api import FunnelView as AttractionFunnelView
from guatu.attraction.api import LeadViewSet
from guatu.dashboard.api import SummaryView as DashboardSummaryView
from guatu.org.api import ChainViewSet, RegionViewSet, UnitViewSet
from guatu.problems.api import ProblemViewSet
from guatu.progress.api import MonthlyReportViewSet, WarningViewSet
from guatu.projects.api import ApprovalViewSet, ProjectViewSet
from guatu.speeches.api import register_routes as register_speech_routes
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
router.register("problems", ProblemViewSet, basename="problem")
router.register("attraction/leads", LeadViewSet, basename="attraction-lead")
register_speech_routes(router)

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token"),
    path("rankings/", RankingView.as_view(), name="rankings"),
    path("attraction/funnel/", AttractionFunnelView.as_view(), name="attraction-funnel"),
    path("dashboard/summary/", DashboardSummaryView.as_view(), name="dashboard-summary"),
    path("", include(router.urls)),
]
