"""Deleting tags and images in the web admin, and bringing them back from Recently deleted,
against the live API and our real registry."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from records.models import BinEntry, Tag

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def pushed(push_image, buildah, alice, api_server):
    """alice/app with tags one, two and three, each with a layer of its own."""
    tags = {}
    for tag in ("one", "two", "three"):
        ref = buildah.make_image(f"localhost/admin-bin-{tag}:1", files={f"/{tag}": os.urandom(9)})
        tags[tag] = push_image(alice, "app", tag=tag, ref=ref)
    return tags


def test_tags_are_chosen_confirmed_by_name_then_deleted_and_listed_as_recently_deleted(
    signed_in, pushed
):
    name = pushed["one"].name

    page = text(signed_in.get(f"/images/{name}/-/"))
    assert 'aria-label="Choose one"' in page and "Delete chosen tags" in page

    confirm = text(signed_in.get(f"/images/{name}/-/delete-tags/?tag=one&tag=two"))
    assert "Delete these 2 tags?" in confirm
    assert f"{name}:one" in confirm and f"{name}:two" in confirm and "14 days" in confirm
    assert Tag.objects.filter(image__name=name).count() == 3  # asking deletes nothing

    response = signed_in.post(f"/images/{name}/-/delete-tags/", {"tag": ["one", "two"]})

    assert response.status_code == 302
    after = text(signed_in.get(response["Location"]))
    assert "Deleted one, two. You can restore them from Recently deleted for 14 days." in after
    assert set(Tag.objects.filter(image__name=name).values_list("name", flat=True)) == {"three"}
    bin_page = text(signed_in.get(f"/images/{name}/-/deleted/"))
    assert "<strong>one</strong>" in bin_page and "<strong>two</strong>" in bin_page
    assert "by alice" in bin_page


def test_nothing_ticked_deletes_nothing_and_says_so(signed_in, pushed):
    name = pushed["one"].name

    response = signed_in.get(f"/images/{name}/-/delete-tags/", follow=True)

    assert "Tick the tags to delete first; nothing was deleted." in text(response)
    assert Tag.objects.filter(image__name=name).count() == 3


def test_a_restored_tag_is_back_on_its_page_with_the_same_digest(signed_in, pushed):
    name = pushed["two"].name
    signed_in.post(f"/images/{name}/-/delete-tags/", {"tag": ["two"]})
    entry = BinEntry.objects.get()

    response = signed_in.post(f"/deleted/{entry.pk}/restore/", {"from": "image"})

    assert response.status_code == 302
    assert response["Location"] == f"/images/{name}/-/tags/two/"
    page = text(signed_in.get(response["Location"]))
    assert "is back, with the same digest" in page
    assert Tag.objects.get(image__name=name, name="two").digest == pushed["two"].digest
    assert pushed["two"].digest in page


def test_a_deleted_image_waits_in_recently_deleted_and_comes_back_with_its_tags(signed_in, pushed):
    name = pushed["one"].name
    confirm = text(signed_in.get(f"/images/{name}/-/delete/"))
    assert "Recently deleted" in confirm and "14 days" in confirm

    signed_in.post(f"/images/{name}/-/delete/", {"confirm": name})

    listing = text(signed_in.get("/deleted/?namespace=alice"))
    assert f"<strong>{name}</strong>" in listing and "3 tags: one, three, two" in listing
    entry = BinEntry.objects.get(kind="image")
    response = signed_in.post(f"/deleted/{entry.pk}/restore/")
    assert response["Location"] == f"/images/{name}/-/"
    assert "is back, with 3 tags" in text(signed_in.get(response["Location"]))


def test_delete_for_good_asks_first_then_empties_the_entry(signed_in, pushed):
    name = pushed["three"].name
    signed_in.post(f"/images/{name}/-/delete-tags/", {"tag": ["three"]})
    entry = BinEntry.objects.get()

    ask = text(signed_in.get(f"/deleted/{entry.pk}/delete/"))
    assert f"Delete {name}:three for good?" in ask and "cannot be undone" in ask
    assert BinEntry.objects.exists()

    signed_in.post(f"/deleted/{entry.pk}/delete/")

    assert not BinEntry.objects.exists()


def test_someone_else_cannot_see_or_restore_alices_deleted_tags(pushed, bob, api_server):
    name = pushed["one"].name
    alice_browser = Client()
    alice_browser.post("/login/", {"username": "alice", "password": "alice-Secret-Passw0rd"})
    alice_browser.post(f"/images/{name}/-/delete-tags/", {"tag": ["one"]})
    entry = BinEntry.objects.get()
    browser = Client()
    browser.post("/login/", {"username": bob.username, "password": bob.password})

    assert browser.post(f"/deleted/{entry.pk}/restore/").status_code == 404
    assert browser.get(f"/deleted/{entry.pk}/delete/").status_code == 404
    assert "Nothing was deleted" in text(browser.get("/deleted/"))
    assert BinEntry.objects.filter(pk=entry.pk).exists()


def test_an_untagged_version_a_policy_removed_is_listed_in_words(signed_in, make_image, alice):
    image = make_image(alice, "web")
    digest = "sha256:ab12" + "0" * 60
    BinEntry.objects.create(
        kind=BinEntry.Kind.UNTAGGED,
        image=image,
        image_name=image.name,
        namespace="alice",
        owner=alice.user,
        digest=digest,
        size=2_000_000,
        pushed_at=timezone.now() - timedelta(days=3),
        deleted_by="cleanup policy",
        reason=f"cleanup policy of {image.name}",
        snapshot={"last_tag": "latest"},
    )
    entry = BinEntry.objects.get()

    everything = text(signed_in.get("/deleted/"))
    of_image = text(signed_in.get(f"/images/{image.name}/-/deleted/"))
    confirm = text(signed_in.get(f"/deleted/{entry.pk}/delete/"))

    assert f"An untagged version of <strong>{image.name}</strong>" in everything
    assert "<code>sha256:ab1200000000…</code>, pushed 3 days ago, once latest" in everything
    assert f'aria-label="Restore {image.name}@sha256:ab1200000000…"' in everything
    assert "An untagged version of this image" in of_image
    assert f"Delete {image.name}@sha256:ab1200000000… for good?" in confirm
    assert "only its digest pulls it" in confirm
