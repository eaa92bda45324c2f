"""Your account's routes: Tutum's /auth/, sign-ins, your account and password, API keys."""

from __future__ import annotations

from django.urls import path

from api.accounts import views

urlpatterns = [
    path("auth/", views.auth, name="auth"),
    path("session/", views.session, name="session"),
    path("account/", views.account, name="account"),
    path("account/password/", views.account_password, name="account-password"),
    path("account/two-factor/", views.two_factor_view, name="two-factor"),
    path("account/two-factor/confirm/", views.two_factor_confirm, name="two-factor-confirm"),
    path(
        "account/two-factor/recovery-codes/",
        views.two_factor_recovery_codes,
        name="two-factor-recovery-codes",
    ),
    path("apikey/", views.apikey_list, name="apikey-list"),
    path("apikey/<int:key_id>/", views.apikey_detail, name="apikey-detail"),
]
