from django.urls import path

from guatu.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.WarMapView.as_view(), name="war_map"),
    path("screen/", views.ScreenView.as_view(), name="screen"),
    path("print/", views.PrintView.as_view(), name="print"),
    path("map.geojson", views.MapView.as_view(), name="map_geojson"),
]
