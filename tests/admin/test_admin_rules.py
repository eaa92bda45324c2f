"""Labels and rules the web admin shows come from one home: read from the API (the audit
actions), or a copy pinned here to its source in the domain, so that neither drifts alone."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts import usernames
from audit import trail
from images.forms.images import BuildSettingForm, ImageForm
from images.forms.people import JoinForm
from images.forms.start import FirstImageForm
from images.forms.teams import ROLE_RANK, ROLE_SENTENCES, TOKEN_DAYS, TeamForm, TeamTokenForm
from images.services.teams import Team
from records.models import Role
from records.models import Team as TeamRow
from registry import names
from teams import access, tokens

COMPONENTS = [
    "app", "my-app", "my--app", "my_app", "my__app", "my___app", "my.app", "my..app",
    "my._app", "-app", "app-", "_app", ".app", "App", "a", "0", "a1.b2-c3__d4", "app!", "ap p",
]  # fmt: skip
TAGS = ["latest", "v1.0", "1.0-rc_1", "_x", ".x", "-x", "a" * 128, "a" * 129, "UP", "a b", "a:b"]
TOKEN_NAMES = ["ci", "ci-deploy", "ci_deploy", "CI", "ci deploy", "ci.deploy", "a" * 50, "a" * 51]
TEAM_NAMES = ["ab", "a", "web", "web-site", "web--site", "web_", "Web", "a" * 30, "a" * 31]


def accepts(check, value) -> bool:
    """Whether a domain rule takes `value` (whatever it raises when it does not)."""
    try:
        check(value)
    except Exception:
        return False
    return True


def text(response) -> str:
    return html.unescape(response.content.decode())


# -- read from the API ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_activity_filter_offers_and_labels_every_action_the_trail_records(staff_browser):
    root = get_user_model().objects.get(username="root")
    for action in trail.ACTIONS:
        trail.record(action, f"target-{action}", actor=root)

    page = text(staff_browser.get("/activity/?actor=root"))

    select = re.search(r'<select name="action"[^>]*>(.*?)</select>', page, re.S).group(1)
    offered = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))
    shown = {
        target: label.strip()
        for label, target in re.findall(
            r'<td data-label="What">([^<]*)<strong class="target">target-([^<]+)</strong>', page
        )
    }
    for action in trail.ACTIONS:
        assert offered.get(action) not in (None, "", action), action
        assert shown.get(action) == offered[action], action


# -- copies pinned to their source ---------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "alice/", f"{settings.REGISTRY_HOST}/alice/"])
def test_the_image_form_names_images_as_the_registry_rule_does(prefix):
    for component in COMPONENTS:
        name = prefix + component
        form = ImageForm({"name": name, "autotests": "OFF"})
        form.is_valid()

        assert ("name" not in form.errors) == accepts(names.validate_image_name, name), name


def test_the_first_image_name_follows_the_registry_rule():
    for component in COMPONENTS:
        form = FirstImageForm({"app": component})

        assert form.is_valid() == accepts(names.validate_image_name, component), component


def test_the_build_setting_form_takes_the_tags_the_registry_rule_does():
    for tag in TAGS:
        form = BuildSettingForm({"tag": tag, "branch": "main", "dockerfile": "/"})
        form.is_valid()

        assert ("tag" not in form.errors) == accepts(names.validate_tag, tag), tag


@pytest.mark.django_db
def test_the_team_token_form_takes_the_names_a_token_may_have(alice):
    team = TeamRow.objects.create(name="web")
    expires = timezone.now() + timedelta(days=30)

    def make(name):
        tokens.make_token(alice.user, team, name, access="pull", expires=expires)

    for name in TOKEN_NAMES:
        form = TeamTokenForm({"name": name, "access": "pull", "days": "30"})
        form.is_valid()

        assert ("name" not in form.errors) == accepts(make, name), name


def test_a_team_token_lasts_no_longer_than_the_domain_allows():
    assert max(days for days, _ in TOKEN_DAYS) <= tokens.MAX_DAYS


@pytest.mark.django_db
def test_team_and_user_names_are_never_refused_by_the_admin_when_the_domain_takes_them():
    for name in TEAM_NAMES:
        team_form, join_form = TeamForm({"name": name}), JoinForm({"username": name})
        team_form.is_valid(), join_form.is_valid()

        if accepts(usernames.validate_new_team_name, name):
            assert "name" not in team_form.errors, name
        if accepts(usernames.validate_new_username, name):
            assert "username" not in join_form.errors, name
    longest = max(len(n) for n in TEAM_NAMES if accepts(usernames.validate_new_team_name, n))
    assert TeamForm.base_fields["name"].max_length == longest
    assert JoinForm.base_fields["username"].max_length == longest


def test_the_admins_roles_are_the_teams_roles_in_their_order():
    assert list(ROLE_RANK) == list(Role.values) == list(ROLE_SENTENCES)
    for role in Role.values:
        for wanted in Role.values:
            assert (ROLE_RANK[role] >= ROLE_RANK[wanted]) == access.at_least(role, wanted)


def test_what_a_team_page_offers_follows_what_each_role_may_do():
    for role in Role.values:
        team = Team(
            name="web", description="", role=role, member_count=1, image_count=0, created=None
        )
        abilities = access.ROLE_ABILITIES[role]

        assert team.can_write == (access.Ability.WRITE in abilities), role
        assert team.is_owner == (access.Ability.MANAGE in abilities), role


@pytest.mark.django_db(transaction=True)
def test_a_change_of_visibility_reads_as_the_api_records_it(signed_in, alice, api, make_image):
    image = make_image(alice, "web", private=True)

    made_public = api.patch(f"/api/v1/image/{image.name}/", {"is_private_image": False})
    made_private = api.patch(f"/api/v1/image/{image.name}/", {"is_private_image": True})
    page = text(signed_in.get("/activity/?action=image.visibility"))

    assert made_public.status_code == made_private.status_code == 200
    assert "(now public)" in page and "(now private)" in page
