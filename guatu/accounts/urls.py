from django.urls import path

from guatu.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.UserListView.as_view(), name="user_list"),
    path("add/", views.UserEditView.as_view(), name="user_add"),
    path("<int:pk>/", views.UserDetailView.as_view(), name="user_detail"),
    path("<int:pk>/edit/", views.UserEditView.as_view(), name="user_edit"),
    path("<int:pk>/role/", views.UserRoleView.as_view(), name="user_role"),
    path("<int:pk>/password/", views.UserPasswordView.as_view(), name="user_password"),
]
