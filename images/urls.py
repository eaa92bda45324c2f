"""UI URLs: `/-/` separates an image name from the page, since `-` is never a name part."""

from __future__ import annotations

from django.urls import path, re_path

from images import (
    account_views,
    bin_views,
    joining_views,
    people_views,
    policy_views,
    start_views,
    team_views,
    views,
)

app_name = "images"
NAME = r"(?P<name>(?:(?!/-/)[^?#])+?)"

urlpatterns = [
    path("", views.image_list, name="list"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("getting-started/", start_views.getting_started, name="start"),
    path("getting-started/pushed/", start_views.first_push, name="first-push"),
    path("getting-started/key/", start_views.start_key, name="start-key"),
    path("people/", people_views.people, name="people"),
    path("people/invite/", people_views.invite, name="invite"),
    path(
        "people/invitations/<int:invitation_id>/resend/",
        people_views.invitation_resend,
        name="invitation-resend",
    ),
    path(
        "people/invitations/<int:invitation_id>/cancel/",
        people_views.invitation_cancel,
        name="invitation-cancel",
    ),
    path("invite/<str:token>/", joining_views.accept_invitation, name="accept-invitation"),
    path("signup/", joining_views.signup, name="signup"),
    path("forgot-password/", joining_views.forgot_password, name="forgot-password"),
    path(
        "people/<str:username>/deactivate/",
        people_views.person_deactivate,
        name="person-deactivate",
    ),
    path(
        "people/<str:username>/reset-link/",
        people_views.person_reset_link,
        name="person-reset-link",
    ),
    path("reset/<str:uid>/<str:token>/", people_views.reset, name="reset"),
    path(
        "people/<str:username>/<slug:change>/",
        people_views.person_change,
        name="person-change",
    ),
    path("teams/", team_views.teams, name="teams"),
    # `-` is never a team name, so these cannot collide with a team's pages.
    path("teams/-/join/<str:token>/", team_views.team_join, name="team-join"),
    path(
        "teams/-/invitations/<int:invitation_id>/",
        team_views.invitation_answer,
        name="team-invitation-answer",
    ),
    path("teams/<str:team>/", team_views.team_detail, name="team"),
    path("teams/<str:team>/invite/", team_views.team_invite, name="team-invite"),
    path(
        "teams/<str:team>/invitations/<int:invitation_id>/cancel/",
        team_views.team_invitation_cancel,
        name="team-invitation-cancel",
    ),
    path("teams/<str:team>/settings/", team_views.team_settings, name="team-settings"),
    path("teams/<str:team>/delete/", team_views.team_delete, name="team-delete"),
    path("teams/<str:team>/tokens/", team_views.token_new, name="team-token-new"),
    path(
        "teams/<str:team>/tokens/<int:token_id>/revoke/",
        team_views.token_revoke,
        name="team-token-revoke",
    ),
    path("activity/", team_views.activity, name="activity"),
    path("deleted/", bin_views.recently_deleted, name="recently-deleted"),
    path("cleanup/<str:namespace>/", policy_views.namespace_policy, name="namespace-policy"),
    path("deleted/<int:entry_id>/restore/", bin_views.restore, name="restore"),
    path("deleted/<int:entry_id>/delete/", bin_views.purge, name="purge"),
    path(
        "teams/<str:team>/members/<str:username>/role/",
        team_views.member_role,
        name="team-member-role",
    ),
    path(
        "teams/<str:team>/members/<str:username>/remove/",
        team_views.member_remove,
        name="team-member-remove",
    ),
    path("account/", account_views.account, name="account"),
    path("account/password/", account_views.password_change, name="password"),
    path("account/profile/", account_views.profile_save, name="profile"),
    path("account/github/", account_views.github_save, name="github"),
    path("account/keys/", account_views.key_new, name="key-new"),
    path("account/keys/<int:key_id>/revoke/", account_views.key_revoke, name="key-revoke"),
    path("images/new/", views.image_new, name="new"),
    re_path(rf"^images/{NAME}/-/$", views.image_detail, name="detail"),
    re_path(rf"^images/{NAME}/-/edit/$", views.image_edit, name="edit"),
    re_path(rf"^images/{NAME}/-/delete/$", views.image_delete, name="delete"),
    re_path(rf"^images/{NAME}/-/delete-tags/$", bin_views.tags_delete, name="tags-delete"),
    re_path(rf"^images/{NAME}/-/deleted/$", bin_views.image_bin, name="image-bin"),
    re_path(rf"^images/{NAME}/-/cleanup/$", policy_views.image_policy, name="image-policy"),
    re_path(rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/$", views.tag_detail, name="tag"),
    re_path(rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/build/$", views.tag_build, name="build"),
    re_path(rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/state/$", views.tag_state, name="state"),
    re_path(rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/builds/$", views.build_history, name="history"),
    re_path(
        rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/builds/(?P<uuid>[0-9a-f-]{{36}})/cancel/$",
        views.build_cancel,
        name="cancel",
    ),
    re_path(
        rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/builds/(?P<uuid>[0-9a-f-]{{36}})/log/$",
        views.build_log,
        name="log",
    ),
    # Last: a name as people type or paste it, without /-/ (see views.find_by_name).
    re_path(r"^images/(?P<typed>[^?#]+?)/?$", views.find_by_name, name="find"),
]
