"""A team made, joined by link and run by its Owner, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from records.models import Image
from tests.browser.pages import (
    H,
    assert_accessible,
    fits,
    header,
    new_page,
    scroll_down,
    shoot,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.registry
@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_a_team_is_made_joined_by_link_and_run_by_its_owner(
    browser,
    api_server,
    make_account,
    git_server,
    our_registry,
    our_registry_row,
    request,
    settings,
    width,
):
    # The join link starts with the admin's public address: here, the test's server.
    settings.ADMIN_PUBLIC_URL = api_server.url
    suffix = "" if width > 640 else "-phone"
    viewport = {"width": width, "height": 900}
    team, app = f"web{width}", "site"
    owner, writer, reader = (make_account(f"{n}{width}") for n in ("olga", "wes", "rita"))
    git_server.push_app("acme", app)

    # The owner makes the team and invites a Writer by link and a Reader by username.
    olga = new_page(browser, api_server, viewport=viewport)
    sign_in(olga, owner)
    header(olga, "Teams").click()
    olga.get_by_label("Team name").fill(team)
    olga.get_by_label("What the team is for (optional)").fill("The website and its services")
    olga.get_by_role("button", name="Make the team").click()
    expect(olga.get_by_text(f"Team {team} is made and you are its Owner.")).to_be_visible()
    olga.get_by_label("Their username (leave empty for a link)").fill(reader.username)
    olga.get_by_role("radio", name=re.compile(r"^\s*Reader:")).check()
    olga.get_by_role("button", name="Invite").click()
    expect(olga.get_by_text(f"{reader.username} is invited as Reader")).to_be_visible()
    olga.get_by_role("radio", name=re.compile(r"^\s*Writer:")).check()
    olga.get_by_role("button", name="Invite").click()
    expect(olga.get_by_role("heading", name=f"A link to join {team} as Writer")).to_be_visible()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"team-link{suffix}")
    link = olga.get_by_role("button", name="Copy the invitation link").get_attribute("data-copy")

    # The Writer, in another browser, accepts the link and registers an image in the team.
    wes = new_page(browser, api_server, viewport=viewport)
    sign_in(wes, writer)
    wes.goto(link)
    expect(wes.get_by_role("heading", name=f"Join team {team}?")).to_be_visible()
    fits(wes, width)
    assert_accessible(wes)
    shoot(wes, f"team-join{suffix}")
    wes.get_by_role("button", name=f"Join {team}").click()
    expect(wes.get_by_text(f"You joined team {team} as Writer.")).to_be_visible()
    wes.goto("/images/new/")
    name = f"{H}/{team}/{app}"
    wes.get_by_label("Name", exact=True).fill(name)
    wes.get_by_label("Repository owner").fill("acme")
    wes.get_by_label("Repository name").fill(app)
    wes.get_by_role("button", name="+ Add a build setting").click()
    wes.get_by_label("Row 1 Tag").fill("latest")
    wes.get_by_label("Row 1 Branch").fill("main")
    wes.get_by_role("button", name="Register image").click()
    expect(wes.get_by_role("heading", name=name)).to_be_visible()
    expect(wes.get_by_role("link", name="Edit")).to_be_visible()
    # An Owner's to do (exact: "Recently deleted" is a link of everyone's).
    expect(wes.get_by_role("link", name="Delete", exact=True)).to_have_count(0)
    if width > 640:
        # One real build (the phone run checks the same pages without building again).
        request.getfixturevalue("build_worker")
        wes.goto(f"/images/{name}/-/tags/latest/")
        wes.get_by_role("button", name="Build latest").click()
        expect(wes.locator("#state-latest")).to_contain_text("Success", timeout=120_000)
    wes.context.close()

    # The Reader accepts from their Teams page and sees no buttons they cannot use.
    rita = new_page(browser, api_server, viewport=viewport)
    sign_in(rita, reader)
    header(rita, "Teams").click()
    rita.get_by_role("button", name=f"Join {team}").click()
    expect(rita.get_by_text(f"You joined team {team}.")).to_be_visible()
    rita.goto(f"/images/{name}/-/")
    expect(rita.get_by_role("heading", name=name)).to_be_visible()
    for button in ("Edit", "Delete"):
        expect(rita.get_by_role("link", name=button, exact=True)).to_have_count(0)
    expect(rita.get_by_role("button", name=re.compile("^Build"))).to_have_count(0)
    refused = rita.request.post(f"/teams/{team}/invite/", data={"role": "Owner"})
    assert refused.status in (400, 403)  # no CSRF token, and no right to
    rita.context.close()

    # The owner demotes the Writer (after reading what they lose) and removes the Reader.
    olga.goto(f"/teams/{team}/")
    olga.get_by_label(f"Role of {writer.username}").select_option("Reader")
    olga.get_by_role("button", name=f"Change the role of {writer.username}").click()
    expect(olga.get_by_role("heading", name=f"Make {writer.username} a Reader?")).to_be_visible()
    expect(olga.get_by_text("add, edit and build the team's images")).to_be_visible()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"team-demote{suffix}")
    olga.get_by_role("button", name=f"Make {writer.username} a Reader").click()
    expect(
        olga.get_by_text(f"{writer.username} is now only a Reader in team {team}.")
    ).to_be_visible()
    olga.get_by_role("link", name=f"Remove {reader.username}").click()
    olga.get_by_role("button", name=f"Remove {reader.username}").click()
    expect(olga.get_by_text(f"{reader.username} is no longer in team {team}.")).to_be_visible()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"team{suffix}")
    # A token for a deploy server, shown once.
    olga.get_by_text("Make a token").click()
    olga.get_by_label("Token name").fill("deploy")
    olga.get_by_role("checkbox", name=name).check()
    olga.get_by_role("button", name="Make the token").click()
    expect(olga.get_by_role("heading", name=f"Token {team}+deploy is made")).to_be_visible()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"team-token{suffix}")

    # Who reaches the image, and why; and the team's activity says all of it.
    olga.goto(f"/images/{name}/-/")
    scroll_down(olga)
    access = olga.get_by_role("region", name="Who can reach it")
    expect(access).to_contain_text(f"Reader, member of team {team}")
    expect(access).to_contain_text("Team access token: pull, scoped to this image")
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"image-access{suffix}")
    olga.goto(f"/activity/?team={team}")
    events = olga.get_by_role("region", name="Events")
    for what in ("Made the team", "Joined the team", "Registered an image", "Changed a role"):
        expect(events).to_contain_text(what)
    expect(events).to_contain_text("Removed a member")
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"activity{suffix}")
    header(olga, "Teams").click()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"teams{suffix}")
    olga.context.close()
    assert Image.objects.get(name=name).team.name == team
