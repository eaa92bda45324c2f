"""UI URLs: `/-/` separates an image name from the page, since `-` is never a name part."""

from __future__ import annotations

from django.urls import path, re_path

from images.views import (
    accounts,
    audit,
    bin,
    builds,
    collections,
    images,
    people,
    policies,
    start,
    teams,
    two_factor,
    webhooks,
)

app_name = "images"
NAME = r"(?P<name>(?:(?!/-/)[^?#])+?)"

urlpatterns = [
    path("", images.image_list, name="list"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("login/code/", two_factor.login_code, name="login-code"),
    path("getting-started/", start.getting_started, name="start"),
    path("getting-started/pushed/", start.first_push, name="first-push"),
    path("getting-started/key/", start.start_key, name="start-key"),
    path("people/", people.people, name="people"),
    path("people/invite/", people.invite, name="invite"),
    path(
        "people/invitations/<int:invitation_id>/resend/",
        people.invitation_resend,
        name="invitation-resend",
    ),
    path(
        "people/invitations/<int:invitation_id>/cancel/",
        people.invitation_cancel,
        name="invitation-cancel",
    ),
    path("invite/<str:token>/", people.accept_invitation, name="accept-invitation"),
    path("signup/", people.signup, name="signup"),
    path("forgot-password/", people.forgot_password, name="forgot-password"),
    path(
        "people/<str:username>/deactivate/",
        people.person_deactivate,
        name="person-deactivate",
    ),
    path(
        "people/<str:username>/reset-link/",
        people.person_reset_link,
        name="person-reset-link",
    ),
    path("reset/<str:uid>/<str:token>/", people.reset, name="reset"),
    path(
        "people/<str:username>/<slug:change>/",
        people.person_change,
        name="person-change",
    ),
    path("storage/", collections.storage, name="storage"),
    path("storage/tidy/", collections.storage_tidy, name="storage-tidy"),
    path("teams/", teams.teams, name="teams"),
    # `-` is never a team name, so these cannot collide with a team's pages.
    path("teams/-/join/<str:token>/", teams.team_join, name="team-join"),
    path(
        "teams/-/invitations/<int:invitation_id>/",
        teams.invitation_answer,
        name="team-invitation-answer",
    ),
    path("teams/<str:team>/", teams.team_detail, name="team"),
    path("teams/<str:team>/invite/", teams.team_invite, name="team-invite"),
    path(
        "teams/<str:team>/invitations/<int:invitation_id>/cancel/",
        teams.team_invitation_cancel,
        name="team-invitation-cancel",
    ),
    path("teams/<str:team>/settings/", teams.team_settings, name="team-settings"),
    path("teams/<str:team>/delete/", teams.team_delete, name="team-delete"),
    path("teams/<str:team>/tokens/", teams.token_new, name="team-token-new"),
    path(
        "teams/<str:team>/tokens/<int:token_id>/revoke/",
        teams.token_revoke,
        name="team-token-revoke",
    ),
    path("activity/", audit.activity, name="activity"),
    path("deleted/", bin.recently_deleted, name="recently-deleted"),
    path("cleanup/<str:namespace>/", policies.namespace_policy, name="namespace-policy"),
    # `-` is never a namespace: a webhook's own pages sit under webhooks/-/.
    path("webhooks/-/<uuid:uuid>/", webhooks.webhook_detail, name="webhook"),
    path("webhooks/-/<uuid:uuid>/edit/", webhooks.webhook_edit, name="webhook-edit"),
    path("webhooks/-/<uuid:uuid>/secret/", webhooks.webhook_secret, name="webhook-secret"),
    path("webhooks/-/<uuid:uuid>/remove/", webhooks.webhook_remove, name="webhook-remove"),
    path("webhooks/-/<uuid:uuid>/test/", webhooks.webhook_test, name="webhook-test"),
    path("webhooks/-/<uuid:uuid>/resume/", webhooks.webhook_resume, name="webhook-resume"),
    path(
        "webhooks/-/<uuid:uuid>/deliveries/<int:delivery_id>/send-again/",
        webhooks.delivery_send_again,
        name="webhook-send-again",
    ),
    path("webhooks/<str:namespace>/", webhooks.namespace_webhooks, name="namespace-webhooks"),
    path(
        "webhooks/<str:namespace>/new/",
        webhooks.namespace_webhook_new,
        name="namespace-webhook-new",
    ),
    path("deleted/<int:entry_id>/restore/", bin.restore, name="restore"),
    path("deleted/<int:entry_id>/delete/", bin.purge, name="purge"),
    path(
        "teams/<str:team>/members/<str:username>/role/",
        teams.member_role,
        name="team-member-role",
    ),
    path(
        "teams/<str:team>/members/<str:username>/remove/",
        teams.member_remove,
        name="team-member-remove",
    ),
    path("account/", accounts.account, name="account"),
    path("account/password/", accounts.password_change, name="password"),
    path("account/two-factor/", two_factor.two_factor_begin, name="two-factor"),
    path("account/two-factor/confirm/", two_factor.two_factor_confirm, name="two-factor-confirm"),
    path("account/two-factor/codes/", two_factor.two_factor_codes, name="two-factor-codes"),
    path("account/two-factor/off/", two_factor.two_factor_off, name="two-factor-off"),
    path("account/profile/", accounts.profile_save, name="profile"),
    path("account/github/", accounts.github_save, name="github"),
    path("account/notifications/", accounts.notifications_save, name="notifications"),
    path("account/keys/", accounts.key_new, name="key-new"),
    path("account/keys/<int:key_id>/revoke/", accounts.key_revoke, name="key-revoke"),
    path("images/new/", images.image_new, name="new"),
    re_path(rf"^images/{NAME}/-/$", images.image_detail, name="detail"),
    re_path(rf"^images/{NAME}/-/edit/$", images.image_edit, name="edit"),
    re_path(rf"^images/{NAME}/-/delete/$", images.image_delete, name="delete"),
    re_path(rf"^images/{NAME}/-/delete-tags/$", bin.tags_delete, name="tags-delete"),
    re_path(rf"^images/{NAME}/-/deleted/$", bin.image_bin, name="image-bin"),
    re_path(rf"^images/{NAME}/-/cleanup/$", policies.image_policy, name="image-policy"),
    re_path(rf"^images/{NAME}/-/webhooks/$", webhooks.image_webhooks, name="image-webhooks"),
    re_path(
        rf"^images/{NAME}/-/webhooks/new/$", webhooks.image_webhook_new, name="image-webhook-new"
    ),
    re_path(rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/$", images.tag_detail, name="tag"),
    re_path(rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/build/$", builds.tag_build, name="build"),
    re_path(rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/state/$", builds.tag_state, name="state"),
    re_path(
        rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/builds/$", builds.build_history, name="history"
    ),
    re_path(
        rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/builds/(?P<uuid>[0-9a-f-]{{36}})/cancel/$",
        builds.build_cancel,
        name="cancel",
    ),
    re_path(
        rf"^images/{NAME}/-/tags/(?P<tag>[^/]+)/builds/(?P<uuid>[0-9a-f-]{{36}})/log/$",
        builds.build_log,
        name="log",
    ),
    # Last: a name as people type or paste it, without /-/ (see images.find_by_name).
    re_path(r"^images/(?P<typed>[^?#]+?)/?$", images.find_by_name, name="find"),
]
