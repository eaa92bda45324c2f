"""The people's routes: people (staff), reset links and password resets, invitations,
accepting one, and signing up."""

from __future__ import annotations

from django.urls import path

from api.people import views

urlpatterns = [
    path("user/", views.user_list, name="user-list"),
    path("user/<str:username>/", views.user_detail, name="user-detail"),
    path("user/<str:username>/reset-link/", views.user_reset_link, name="user-reset-link"),
    path("user/<str:username>/two-factor/", views.user_two_factor, name="user-two-factor"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path(
        "password-reset/request/",
        views.password_reset_request,
        name="password-reset-request",
    ),
    path("invitation/", views.invitation_list, name="invitation-list"),
    path("invitation/<int:invitation_id>/", views.invitation_detail, name="invitation-detail"),
    path(
        "invitation/<int:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation-resend",
    ),
    path("invite/<str:token>/", views.invite, name="invite"),
    path("signup/", views.signup, name="signup"),
]
