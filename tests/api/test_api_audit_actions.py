"""The audit trail's actions, published with the words people read them in
(`GET /api/v1/audit/action/`), so the admin's Activity filter and rows keep no copy; the audit
list's `action` filter takes exactly these."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db

ACTIONS = "/api/v1/audit/action/"


def listed(client: ApiClient) -> list[dict]:
    response = client.get(ACTIONS)
    assert response.status_code == 200, response.content
    return response.json()["objects"]


def test_it_lists_each_action_with_its_label_and_description(api):
    actions = listed(api)

    assert actions[0] == {
        "action": "sign_in",
        "label": "Signed in",
        "description": "a person signing in to the web admin",
    }
    assert {
        "action": "tag.push",
        "label": "Pushed",
        "description": "a tag pushed to our registry",
    } in actions
    assert all(set(a) == {"action", "label", "description"} for a in actions)
    assert len({a["action"] for a in actions}) == len(actions)


@pytest.mark.parametrize(
    ("action", "label"),
    [
        ("tag.delete", "Deleted a tag"),
        ("tag.restore", "Restored a tag"),
        ("image.restore", "Restored an image"),
        ("bin.purge", "Deleted for good"),
        ("policy.save", "Set a cleanup policy"),
        ("policy.delete", "Removed a cleanup policy"),
        ("policy.run", "Cleanup moved tags to the bin"),
    ],
)
def test_it_labels_the_actions_the_admin_used_to_show_as_raw_codes(api, action, label):
    labels = {a["action"]: a["label"] for a in listed(api)}

    assert labels[action] == label


def test_it_lists_the_actions_in_the_trails_order_not_alphabetically(api):
    codes = [a["action"] for a in listed(api)]

    assert codes.index("sign_in") < codes.index("apikey.create") < codes.index("token.revoke")
    assert codes != sorted(codes)


def test_the_audit_filter_takes_every_listed_action_and_nothing_else(api):
    for action in listed(api):
        response = api.get("/api/v1/audit/", {"action": action["action"]})
        assert response.status_code == 200, (action, response.content)

    refused = api.get("/api/v1/audit/", {"action": "tag.rename"})
    assert refused.status_code == 400
    assert "'tag.rename' is not one of: " in refused.json()["fields"]["action"][0]


def test_it_asks_who_you_are():
    response = ApiClient().get(ACTIONS)

    assert response.status_code == 401


def test_it_refuses_team_access_tokens(api, alice, make_team):
    make_team("web", alice="Owner")
    expires = (timezone.now() + timedelta(days=3)).isoformat()
    made = api.post("/api/v1/team/web/token/", {"name": "ci", "expires": expires}).json()
    secret = base64.b64encode(f"{made['username']}:{made['secret']}".encode()).decode()

    response = ApiClient(f"Basic {secret}").get(ACTIONS)

    assert response.status_code == 403
    assert response.json() == {
        "error": "Team access tokens can only pull, push and build images in their scope."
    }
