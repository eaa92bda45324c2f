"""Teams' routes: teams, members, team invitations (yours, and links), team access tokens."""

from __future__ import annotations

from django.urls import path

from api.teams import views

urlpatterns = [
    path("team-invitation/<str:token>/", views.invitation_link, name="team-invitation-link"),
    path("account/invitation/", views.my_invitation_list, name="my-invitation-list"),
    path(
        "account/invitation/<int:invitation_id>/",
        views.my_invitation_detail,
        name="my-invitation-detail",
    ),
    path("team/", views.team_list, name="team-list"),
    path("team/<str:team>/", views.team_detail, name="team-detail"),
    path("team/<str:team>/member/", views.member_list, name="member-list"),
    path("team/<str:team>/member/<str:username>/", views.member_detail, name="member-detail"),
    path(
        "team/<str:team>/invitation/",
        views.team_invitation_list,
        name="team-invitation-list",
    ),
    path(
        "team/<str:team>/invitation/<int:invitation_id>/",
        views.team_invitation_detail,
        name="team-invitation-detail",
    ),
    path("team/<str:team>/token/", views.team_token_list, name="team-token-list"),
    path(
        "team/<str:team>/token/<int:token_id>/",
        views.team_token_detail,
        name="team-token-detail",
    ),
]
