"""REGISTRY_STORAGE_URL: where our registry stores images, and the config it becomes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.storage_url import StorageUrlError, parse_storage_url
from registry.config import registry_config

ROOT = Path(__file__).resolve().parents[2]


def test_it_defaults_to_the_data_directory():
    assert parse_storage_url("") is None
    assert parse_storage_url("  ") is None


def test_a_file_url_names_a_directory():
    assert parse_storage_url("file:///srv/registry") == {
        "filesystem": {"rootdirectory": "/srv/registry"}
    }


def test_an_s3_url_with_a_host_names_an_endpoint_addressed_by_path():
    block = parse_storage_url(
        "s3://AKIDEXAMPLE:wJalr%2FK7MDENG%2Bbxx@127.0.0.1:8333/registry"
        "?region=eu-west-1&secure=false&rootdirectory=/tutumweb/"
    )

    assert block == {
        "s3": {
            "accesskey": "AKIDEXAMPLE",
            "secretkey": "wJalr/K7MDENG+bxx",
            "bucket": "registry",
            "region": "eu-west-1",
            "regionendpoint": "http://127.0.0.1:8333",
            "forcepathstyle": True,
            "secure": False,
            "v4auth": True,
            "rootdirectory": "/tutumweb",
        }
    }


def test_an_s3_url_without_a_host_is_aws_itself_and_without_keys_the_machines_role():
    block = parse_storage_url("s3:///images.example.com?region=eu-central-1")

    assert block == {
        "s3": {
            "bucket": "images.example.com",
            "region": "eu-central-1",
            "secure": True,
            "v4auth": True,
        }
    }


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://example.com/registry", "must start with s3:// (S3-compatible storage)"),
        ("file://host/srv/registry", "a file:// URL names an absolute directory"),
        ("s3://key:secret@127.0.0.1:8333/", "the path must be the bucket's name"),
        ("s3://key:secret@127.0.0.1:8333/Registry", "3 to 63 lowercase letters"),
        ("s3://key:secret@127.0.0.1:8333/a/b", "the path must be the bucket's name"),
        ("s3://key:secret@127.0.0.1:port/registry", "the port after the host must be a number"),
        ("s3://key:secret@127.0.0.1:99999/registry", "the port after the host must be a number"),
        ("s3://key@127.0.0.1:8333/registry", "give both keys as ACCESS_KEY:SECRET_KEY"),
        ("s3://key:secret@/registry", "AWS S3 (no host) needs its region"),
        ("s3://key:secret@host/registry?secure=maybe", "secure must be true or false"),
        ("s3://key:secret@host/registry?region=EU%20West", "region must be a region name"),
        ("s3://key:secret@host/registry?rootdir=/x", "unknown option rootdir: the options are"),
        ("s3://key:secret@host/registry?region=a&region=b", "option region given more than once"),
        ("s3://key:secret@host/registry?rootdirectory=/a/../b", "rootdirectory must not contain"),
        ("s3://key:secret@host/registry?rootdirectory=x y", "rootdirectory must be a path"),
        ("s3://key:secret@host/registry#part", "takes no #fragment"),
    ],
)
def test_a_bad_url_is_refused_naming_the_rule_and_never_the_secret(url, rule):
    with pytest.raises(StorageUrlError) as refused:
        parse_storage_url(url)

    assert rule in str(refused.value)
    assert "secret" not in str(refused.value).replace("SECRET_KEY", "")


def test_the_server_refuses_to_start_with_a_bad_url_naming_the_variable(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "tutumweb.settings",
        "SECRET_KEY": "a-deployment-secret-key-for-this-test",
        "DATA_DIR": str(tmp_path),
        "REGISTRY_STORAGE_URL": "s3://key:hunter2@127.0.0.1:8333/Bad_Bucket",
    }

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: REGISTRY_STORAGE_URL the path must be the bucket's name" in (
        result.stderr
    )
    assert "hunter2" not in result.stderr


def test_the_registry_config_on_s3_serves_blobs_itself_and_keeps_no_blob_cache(tmp_path):
    storage = parse_storage_url("s3://key:secret@127.0.0.1:8333/registry?secure=false")

    config = registry_config(
        addr="127.0.0.1:5000",
        storage_dir=tmp_path / "unused",
        storage=storage,
        realm="http://127.0.0.1:8000/api/v1/registry-token/",
        notify_url="http://127.0.0.1:8000/api/v1/registry-events/",
        secret="s",
        cert_path=tmp_path / "token.crt",
    )

    assert config["storage"] == {
        **storage,
        "delete": {"enabled": True},
        "redirect": {"disable": True},
    }
