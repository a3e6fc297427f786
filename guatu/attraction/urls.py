from django.urls import path

from guatu.attraction import views

app_name = "attraction"

urlpatterns = [
    # --- leads
    path("leads/", views.LeadListView.as_view(), name="lead_list"),
    path("leads/add/", views.LeadEditView.as_view(), name="lead_add"),
    path("leads/export/", views.LeadExportView.as_view(), name="lead_export"),
    path("leads/<int:pk>/", views.LeadDetailView.as_view(), name="lead_detail"),
    path("leads/<int:pk>/edit/", views.LeadEditView.as_view(), name="lead_edit"),
    path("leads/<int:pk>/advance/", views.LeadAdvanceView.as_view(), name="lead_advance"),
    path("leads/<int:pk>/drop/", views.LeadDropView.as_view(), name="lead_drop"),
    path("leads/<int:pk>/screen/", views.LeadScreenView.as_view(), name="lead_screen"),
    path("leads/<int:pk>/funds/", views.FundsAddView.as_view(), name="lead_funds_add"),
    path("leads/<int:pk>/convert/", views.LeadConvertView.as_view(), name="lead_convert"),
    # --- funnel and chain map
    path("funnel/", views.FunnelView.as_view(), name="funnel"),
    path("chains/", views.ChainMapView.as_view(), name="chain_map"),
    path("chains/<int:pk>/", views.ChainDetailView.as_view(), name="chain_detail"),
]
