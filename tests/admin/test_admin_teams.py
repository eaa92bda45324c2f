"""Teams in the web admin (over the live API): make one, invite by username and by link, change
roles with a confirmation that says what is lost; buttons follow the role and direct posts a
role may not make are refused by the API."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.test import Client

from records.models import BuildSetting, BuildSource, Image, Membership, Role

pytestmark = pytest.mark.django_db(transaction=True)
H = settings.REGISTRY_HOST
NO_SETTINGS = {"autotests": "OFF", "settings-TOTAL_FORMS": "0", "settings-INITIAL_FORMS": "0"}
JOIN_LINK = re.compile(r'data-copy="(http[^"]+/teams/-/join/[^"]+/)"')


def text(response) -> str:
    return html.unescape(response.content.decode())


def browser_for(account) -> Client:
    client = Client()
    signed = client.post("/login/", {"username": account.username, "password": account.password})
    assert signed.status_code == 302
    return client


def csrf_checking_browser_for(account) -> Client:
    """A browser signed in as `account` whose posts are checked for the CSRF token (the test
    client skips the check otherwise); it signs in with the token the login page gave it."""
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    signed = client.post(
        "/login/",
        {
            "username": account.username,
            "password": account.password,
            "csrfmiddlewaretoken": token.group(1),
        },
    )
    assert signed.status_code == 302
    return client


@pytest.fixture
def bob_browser(api_server, bob) -> Client:
    return browser_for(bob)


def test_making_a_team_lands_on_its_page_with_you_as_owner(signed_in):
    made = signed_in.post("/teams/", {"name": "web", "description": "The website"})
    page = signed_in.get("/teams/web/")

    assert made.status_code == 302 and made["Location"] == "/teams/web/"
    assert "Team web" in text(page)
    assert "You are an <strong>Owner</strong> here." in text(page)
    assert "Invite someone" in text(page)
    assert "Teams" in text(signed_in.get("/teams/"))


def test_a_taken_or_malformed_team_name_is_a_form_error(signed_in, bob):
    taken = signed_in.post("/teams/", {"name": "bob"})
    upper = signed_in.post("/teams/", {"name": "Web"})

    assert taken.status_code == 400
    assert "Someone here has this name as their username." in text(taken)
    assert "Use lowercase letters: web" in text(upper)


def test_an_invitation_by_username_is_accepted_from_the_teams_page(
    signed_in, bob_browser, make_team
):
    make_team("web", alice="Owner")

    invited = signed_in.post("/teams/web/invite/", {"username": "bob", "role": "Writer"})
    offered = bob_browser.get("/teams/")
    invitation_id = re.search(r"/teams/-/invitations/(\d+)/", text(offered)).group(1)
    joined = bob_browser.post(
        f"/teams/-/invitations/{invitation_id}/", {"answer": "accept", "team": "web"}
    )

    assert invited.status_code == 302
    assert "bob is invited as Writer" in text(signed_in.get("/teams/web/"))
    assert "<strong>web</strong> invites you as <strong>Writer</strong>" in text(offered)
    assert joined["Location"] == "/teams/web/"
    assert Membership.objects.get(user__username="bob").role == Role.WRITER


def test_a_link_invitation_is_shown_once_and_joins_whoever_opens_it(
    signed_in, bob_browser, make_team
):
    make_team("web", alice="Owner")

    made = signed_in.post("/teams/web/invite/", {"username": "", "role": "Reader"})
    link = JOIN_LINK.search(text(made)).group(1)
    path = "/" + link.split("/", 3)[3]
    shown = bob_browser.get(path)
    joined = bob_browser.post(path, {"answer": "accept"})
    again = bob_browser.get(path)

    assert made["Cache-Control"] == "no-store"
    assert link.startswith(settings.ADMIN_PUBLIC_URL + "/teams/-/join/")
    assert "Join team web?" in text(shown)
    assert "Readers see and pull the team's private images." in text(shown)
    assert joined["Location"] == "/teams/web/"
    assert again.status_code == 410
    assert "doesn't work" in text(again)


def test_a_demotion_asks_first_and_says_what_the_person_loses(signed_in, bob, make_team):
    make_team("web", alice="Owner", bob="Owner")

    asked = signed_in.post("/teams/web/members/bob/role/", {"role": "Reader"})
    unchanged = Membership.objects.get(user__username="bob").role
    done = signed_in.post("/teams/web/members/bob/role/", {"role": "Reader", "confirmed": "1"})

    page = text(asked)
    assert "Make bob a Reader?" in page
    assert "add, edit and build the team's images" in page
    assert "change members, invitations, access tokens and the team's settings" in page
    assert "see and pull the team's private images" not in page  # a Reader keeps that
    assert unchanged == Role.OWNER
    assert done["Location"] == "/teams/web/"
    assert Membership.objects.get(user__username="bob").role == Role.READER


def test_the_last_owner_is_told_why_they_cannot_step_down(signed_in, make_team):
    make_team("web", alice="Owner")

    signed_in.post("/teams/web/members/alice/role/", {"role": "Writer", "confirmed": "1"})
    page = text(signed_in.get("/teams/web/"))

    assert "alice is the last Owner of team web: make someone else an Owner first." in page
    assert Membership.objects.get(user__username="alice").role == Role.OWNER


def test_removing_someone_asks_first_then_takes_their_access_away(
    signed_in, bob_browser, make_team, make_image
):
    team = make_team("web", alice="Owner", bob="Writer")
    image = make_image(team, "site")
    assert bob_browser.get(f"/images/{image.name}/-/").status_code == 200

    asked = signed_in.get("/teams/web/members/bob/remove/")
    removed = signed_in.post("/teams/web/members/bob/remove/")

    assert "Remove bob from web?" in text(asked)
    assert "push to them and delete tags" in text(asked)
    assert removed["Location"] == "/teams/web/"
    assert bob_browser.get(f"/images/{image.name}/-/").status_code == 404


def test_a_reader_sees_no_edit_build_or_delete_and_direct_posts_are_refused(
    api_server, make_account, make_team, make_image
):
    carol = make_account("carol")
    team = make_team("web", carol="Reader")
    image = make_image(team, "site")
    source = BuildSource.objects.create(image=image, owner="web", repository="site")
    BuildSetting.objects.create(build_source=source, tag="latest", branch="main")
    reader = browser_for(carol)

    detail = text(reader.get(f"/images/{image.name}/-/"))
    tag = text(reader.get(f"/images/{image.name}/-/tags/latest/"))
    edit = reader.post(f"/images/{image.name}/-/edit/", {"description": "mine", **NO_SETTINGS})
    build = reader.post(f"/images/{image.name}/-/tags/latest/build/")
    delete = reader.post(f"/images/{image.name}/-/delete/", {"confirm": image.name})
    invite = reader.post("/teams/web/invite/", {"username": "", "role": "Owner"})

    assert "/-/edit/" not in detail and "/-/delete/" not in detail
    assert "Build now" not in detail and "Build now" not in tag
    assert "Invite someone" not in text(reader.get("/teams/web/"))
    for refused in (edit, build, delete, invite):
        assert refused.status_code in (302, 400, 403), refused.status_code
    assert Image.objects.get(pk=image.pk).description == ""
    assert not image.tags.get().builds.exists()
    assert Membership.objects.filter(team=team).count() == 1
    assert "You are a Reader in team web" in text(edit)


def test_registering_offers_the_namespaces_the_person_may_write_to(
    signed_in, make_team, our_registry_row
):
    make_team("web", alice="Writer")
    make_team("docs", alice="Reader")

    form = text(signed_in.get("/images/new/"))
    made = signed_in.post("/images/new/", {"name": f"{H}/web/site", **NO_SETTINGS})

    assert f'<option value="{H}/alice/">' in form and f'<option value="{H}/web/">' in form
    assert f"{H}/docs/" not in form
    assert made.status_code == 302, text(made)[:2000]
    assert Image.objects.get(name=f"{H}/web/site").team.name == "web"


def test_an_owner_makes_a_token_sees_its_secret_once_and_revokes_it(
    signed_in, make_team, make_image
):
    team = make_team("web", alice="Owner")
    site = make_image(team, "site")

    made = signed_in.post(
        "/teams/web/tokens/",
        {"name": "deploy", "access": "pull", "days": "30", "images": [site.name]},
    )
    page = text(signed_in.get("/teams/web/"))
    token_id = re.search(r"/teams/web/tokens/(\d+)/revoke/", page).group(1)
    asked = signed_in.get(f"/teams/web/tokens/{token_id}/revoke/")
    revoked = signed_in.post(f"/teams/web/tokens/{token_id}/revoke/")

    body = text(made)
    assert made["Cache-Control"] == "no-store"
    assert "Token web+deploy is made" in body
    secret = re.search(r'data-copy="([^"]+)" aria-label="Copy the token\'s secret"', body)
    assert secret and len(secret.group(1)) >= 40
    assert f"buildah login --tls-verify=false -u 'web+deploy' -p '{secret.group(1)}'" in body
    assert secret.group(1) not in page  # shown once
    assert "web+deploy" in page and site.name in page
    assert "Revoke web+deploy?" in text(asked)
    assert revoked["Location"] == "/teams/web/"
    after = text(signed_in.get("/teams/web/"))
    assert "Token web+deploy is revoked: everything using it is refused now." in after
    assert "<strong>web+deploy</strong>" not in after


def test_a_bad_token_form_keeps_the_page_and_says_why(signed_in, make_team):
    make_team("web", alice="Owner")

    refused = signed_in.post(
        "/teams/web/tokens/", {"name": "CI Deploy", "access": "pull", "days": "30"}
    )

    assert refused.status_code == 400
    assert (
        "Use lowercase letters, digits, &#x27;-&#x27; and &#x27;_&#x27; only."
        in refused.content.decode()
    )


def test_the_activity_page_shows_who_did_what_in_the_team(signed_in, bob_browser, make_team):
    make_team("web", alice="Owner", bob="Writer")
    signed_in.post("/teams/web/members/bob/role/", {"role": "Reader", "confirmed": "1"})
    signed_in.post("/teams/web/settings/", {"description": "The website"})

    team_page = text(signed_in.get("/teams/web/"))
    everything = text(signed_in.get("/activity/?team=web"))
    mine = text(bob_browser.get("/activity/"))

    assert 'Changed a role <strong class="target">bob</strong>' in team_page
    assert "(Writer → Reader)" in team_page
    assert "Edited the team" in everything and "127.0.0.1" in everything
    assert "Changed a role <strong" not in mine  # bob reads only what he did himself
    assert "Signed in" in mine  # his own sign-in through the admin


def test_members_see_who_reaches_an_image_and_the_account_page_what_they_reach(
    signed_in, bob_browser, make_team, make_image
):
    team = make_team("web", alice="Owner", bob="Reader")
    site = make_image(team, "site")

    page = text(bob_browser.get(f"/images/{site.name}/-/"))
    detail = text(bob_browser.get(f"/images/{site.name}/-/?section=access"))
    everything = text(bob_browser.get(f"/images/{site.name}/-/?everything=1"))
    account = text(signed_in.get("/account/"))

    # Below the tags: loaded when scrolled to, or with the rest without JavaScript.
    assert "Who can reach it" not in page and "?section=access" in page
    assert "?everything=1#access" in page
    assert "Who can reach it" in detail and "Who can reach it" in everything
    assert "Owner, member of team web" in detail and "Reader, member of team web" in detail
    assert "What you can reach" in account and "Owner in team web" in account


ADMIN_ACTIONS = ("edit", "build", "delete", "invite", "token")
ADMIN_CAN = {
    "Reader": set(),
    "Writer": {"edit", "build"},
    "Owner": set(ADMIN_ACTIONS),
    None: set(),
}


def _admin_attempt(browser: Client, image: Image, action: str) -> bool:
    """Post what the admin's own forms would, whether or not the page shows them; True if
    the change happened."""
    from records.models import TeamInvitation, TeamToken

    if action == "edit":
        browser.post(f"/images/{image.name}/-/edit/", {"description": "changed", **NO_SETTINGS})
        return Image.objects.get(pk=image.pk).description == "changed"
    if action == "build":
        browser.post(f"/images/{image.name}/-/tags/latest/build/")
        return image.tags.get(name="latest").builds.exists()
    if action == "delete":
        browser.post(f"/images/{image.name}/-/delete/", {"confirm": image.name})
        return not Image.objects.filter(pk=image.pk).exists()
    if action == "invite":
        browser.post("/teams/web/invite/", {"username": "", "role": "Owner"})
        return TeamInvitation.objects.exists()
    browser.post("/teams/web/tokens/", {"name": "sneaky", "access": "push", "days": "30"})
    return TeamToken.objects.exists()


@pytest.mark.parametrize("action", ADMIN_ACTIONS)
@pytest.mark.parametrize("role", ["Reader", "Writer", "Owner", None], ids=str)
def test_permission_matrix_through_the_admins_direct_posts(
    api_server, make_account, make_team, make_image, role, action
):
    person = make_account("pat")
    team = make_team("web", **({"pat": role} if role else {}))
    image = make_image(team, "site")
    image.tags.update(digest="")  # nothing on a registry to delete: the records are the test
    source = BuildSource.objects.create(image=image, owner="web", repository="site")
    BuildSetting.objects.create(build_source=source, tag="latest", branch="main")

    happened = _admin_attempt(browser_for(person), image, action)

    assert happened == (action in ADMIN_CAN[role]), (role, action)
