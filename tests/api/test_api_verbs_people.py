"""A URL whose verbs are separate views (api.core.dispatch) answers as the one view it was:
an open endpoint needs no credentials for its 405 or OPTIONS, OPTIONS names the URL's view,
and every answer's `Allow` names all the URL's verbs."""

from __future__ import annotations

import pytest

from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db


def allowed(response) -> set[str]:
    return set(response["Allow"].replace(" ", "").split(","))


def test_an_open_endpoint_answers_a_verb_it_does_not_take_without_asking_who_you_are():
    response = ApiClient().put("/api/v1/signup/", "{}", content_type="application/json")

    assert response.status_code == 405
    assert allowed(response) == {"GET", "POST", "OPTIONS"}


def test_options_names_the_urls_view_not_one_of_its_verbs():
    response = ApiClient().options("/api/v1/password-reset/request/")

    assert response.status_code == 200
    assert response.json()["name"] == "Password Reset Request"


def test_each_answer_names_every_verb_of_its_url(api):
    read = api.get("/api/v1/account/")
    changed = api.patch("/api/v1/account/", {"display_name": "Alice"})

    assert allowed(read) == allowed(changed) == {"GET", "PATCH", "OPTIONS"}


def test_a_signed_in_endpoint_still_asks_who_you_are_before_a_405():
    response = ApiClient().put("/api/v1/team/", "{}", content_type="application/json")

    assert response.status_code == 401
