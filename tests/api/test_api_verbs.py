"""Each URL's verbs are separate views joined by api.core.dispatch: a method the URL does not
take is a 405 that names the ones it does, after authentication, as DRF answers one view."""

from __future__ import annotations

import pytest

from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db


def test_a_verb_the_url_does_not_take_is_a_405_naming_the_ones_it_does(api):
    response = api.put("/api/v1/apikey/", "{}", content_type="application/json")

    assert response.status_code == 405
    assert response.json() == {"error": 'Method "PUT" not allowed.'}
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST", "OPTIONS"}


def test_a_verb_the_url_does_not_take_still_asks_who_you_are_first():
    response = ApiClient().put("/api/v1/apikey/", "{}", content_type="application/json")

    assert response.status_code == 401


def test_each_verb_of_a_url_runs_its_own_view(api):
    made = api.post("/api/v1/apikey/", {"label": "ci"}).json()

    renamed = api.patch(made["resource_uri"], {"label": "deploys"})
    revoked = api.delete(made["resource_uri"])
    gone = api.get(made["resource_uri"])

    assert renamed.json()["label"] == "deploys"
    assert revoked.status_code == 204
    assert gone.status_code == 404
