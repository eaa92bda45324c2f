"""/api/v1/ routes. Image names are raw (slashes, host:port), so tag routes match first."""

from __future__ import annotations

from django.urls import path

from api import (
    account_views,
    audit_views,
    joining_views,
    people_views,
    team_views,
    views,
)
from api.access import urls as access_urls
from api.bin import urls as bin_urls
from api.builds import urls as builds_urls
from api.images import urls as images_urls
from api.policies import urls as policies_urls
from api.registry_protocol import urls as registry_protocol_urls

urlpatterns = [
    path("auth/", views.auth, name="auth"),
    path("session/", account_views.session, name="session"),
    path("account/", account_views.account, name="account"),
    path("account/password/", account_views.account_password, name="account-password"),
    path("user/", people_views.user_list, name="user-list"),
    path("user/<str:username>/", people_views.user_detail, name="user-detail"),
    path(
        "user/<str:username>/reset-link/",
        people_views.user_reset_link,
        name="user-reset-link",
    ),
    path("password-reset/", people_views.password_reset, name="password-reset"),
    path(
        "password-reset/request/",
        people_views.password_reset_request,
        name="password-reset-request",
    ),
    path("invitation/", joining_views.invitation_list, name="invitation-list"),
    path(
        "invitation/<int:invitation_id>/",
        joining_views.invitation_detail,
        name="invitation-detail",
    ),
    path(
        "invitation/<int:invitation_id>/resend/",
        joining_views.invitation_resend,
        name="invitation-resend",
    ),
    path("team-invitation/<str:token>/", team_views.invitation_link, name="team-invitation-link"),
    path("invite/<str:token>/", joining_views.invite, name="invite"),
    path("account/invitation/", team_views.my_invitation_list, name="my-invitation-list"),
    path(
        "account/invitation/<int:invitation_id>/",
        team_views.my_invitation_detail,
        name="my-invitation-detail",
    ),
    path("audit/", audit_views.audit_list, name="audit-list"),
    path("team/", team_views.team_list, name="team-list"),
    path("team/<str:team>/", team_views.team_detail, name="team-detail"),
    path("team/<str:team>/member/", team_views.member_list, name="member-list"),
    path(
        "team/<str:team>/member/<str:username>/",
        team_views.member_detail,
        name="member-detail",
    ),
    path(
        "team/<str:team>/invitation/",
        team_views.team_invitation_list,
        name="team-invitation-list",
    ),
    path(
        "team/<str:team>/invitation/<int:invitation_id>/",
        team_views.team_invitation_detail,
        name="team-invitation-detail",
    ),
    path("team/<str:team>/token/", team_views.team_token_list, name="team-token-list"),
    path(
        "team/<str:team>/token/<int:token_id>/",
        team_views.team_token_detail,
        name="team-token-detail",
    ),
    path("signup/", joining_views.signup, name="signup"),
    path("apikey/", account_views.apikey_list, name="apikey-list"),
    path("apikey/<int:key_id>/", account_views.apikey_detail, name="apikey-detail"),
    *registry_protocol_urls.urlpatterns,
    # Image names are raw, so of two routes that match a path the first wins: a tag's build
    # and a tag before an image's extensions (`image/a/tag/access/` is tag `access` of `a`),
    # and every `image/<name>/<suffix>/` before the bare image name, which matches any.
    *builds_urls.urlpatterns,
    *images_urls.urlpatterns,
    *policies_urls.urlpatterns,
    *bin_urls.urlpatterns,
    *access_urls.urlpatterns,
    *images_urls.image_urlpatterns,
]
