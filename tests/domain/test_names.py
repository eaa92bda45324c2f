"""The Docker reference grammar and Tutum's date format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError

from api.core import formats
from registry import names


@pytest.mark.parametrize(
    "name",
    [
        "ubuntu",
        "library/nginx",
        "tutum/hello-world",
        "127.0.0.1:5000/team/app",
        "localhost/app",
        "registry.example.com/a/b/c",
        "my-registry.io:443/x__y/z.w",
        "a" * 255,
    ],
)
def test_it_accepts_docker_reference_names(name):
    names.validate_image_name(name)


@pytest.mark.parametrize(
    "name",
    ["Ubuntu", "team//app", "/app", "app/", "-app", "app--", "a" * 256, "host:port/app", ""],
)
def test_it_rejects_names_outside_the_grammar(name):
    with pytest.raises(ValidationError):
        names.validate_image_name(name)


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("ubuntu", (None, "ubuntu")),
        ("tutum/hello-world", (None, "tutum/hello-world")),
        ("localhost/app", ("localhost", "app")),
        ("127.0.0.1:5000/a/b", ("127.0.0.1:5000", "a/b")),
        ("registry.example.com/a", ("registry.example.com", "a")),
    ],
)
def test_the_first_component_is_a_host_only_with_a_dot_colon_or_localhost(name, split):
    assert names.split_name(name) == split


@pytest.mark.parametrize("tag", ["latest", "v1.0", "_x", "A-b_c.d", "a" * 128])
def test_it_accepts_tags(tag):
    names.validate_tag(tag)


@pytest.mark.parametrize("tag", ["", ".x", "-x", "a b", "a/b", "a" * 129, "ü"])
def test_it_rejects_bad_tags(tag):
    with pytest.raises(ValidationError, match="not a valid tag"):
        names.validate_tag(tag)


def test_dates_are_rfc2822_in_utc_with_an_unpadded_day():
    moment = datetime(2013, 11, 8, 1, 22, 26, tzinfo=timezone(timedelta(hours=1)))

    assert formats.rfc2822(moment) == "Fri, 8 Nov 2013 00:22:26 +0000"
    assert (
        formats.rfc2822(datetime(2024, 2, 29, 23, 5, 1, tzinfo=UTC))
        == "Thu, 29 Feb 2024 23:05:01 +0000"
    )
    assert formats.rfc2822(None) is None
