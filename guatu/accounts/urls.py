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
    path(
        "<int:pk>/second-factor/reset/",
        views.SecondFactorResetView.as_view(),
        name="user_second_factor_reset",
    ),
    path("security/", views.SecurityPolicyView.as_view(), name="security_policy"),
    # The account's own pages, open before the second factor and a forced password change.
    path("me/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("me/second-factor/", views.SecondFactorView.as_view(), name="second_factor"),
]
