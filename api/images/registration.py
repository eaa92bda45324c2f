"""Registering, changing and deleting images: the rules behind POST, PATCH and DELETE."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from rest_framework import serializers

from accounts import profiles
from builds import git
from lib.errors import Conflict
from records.models import BuildSetting, BuildSource, Image, Role, State, Tag, Team
from registry import client as oci
from registry import names
from registry.hosts import host_of, registry_for_host
from teams import access
from webhooks import events as webhook_events


def _namespace_owner(name: str, user) -> Team | None:
    """On our registry the first path component names the owner, as on Docker Hub: the
    person's own namespace, or a team where they are a Writer (the team it returns)."""
    _, path = names.split_name(name)
    namespace = path.split("/")[0]
    if namespace == names.BIN_NAMESPACE:
        raise serializers.ValidationError(
            {"name": [f"{namespace} is where deleted tags wait: choose your own namespace."]}
        )
    team, role = access.namespace_role(user, namespace) if "/" in path else (None, None)
    if access.at_least(role, Role.WRITER):
        return team
    yours = " or ".join(
        f"{settings.REGISTRY_HOST}/{ns}/<name>" for ns in access.writable_namespaces(user)
    )
    if team is not None and role is not None:
        why = f"You are a {role} in team {team.name}: only its Writers and Owners add images. "
    else:
        why = ""
    message = f"Images on this registry live under a namespace you may write to. {why}Use {yours}."
    raise serializers.ValidationError({"name": [message]})


def _team_to_own(team_name: str, user) -> Team:
    """The team named in `team` for an image on another registry: one the person writes to."""
    team, role = access.namespace_role(user, team_name)
    if team is None or role is None:
        raise serializers.ValidationError({"team": [f"You are not in a team named {team_name}."]})
    if not access.at_least(role, Role.WRITER):
        raise serializers.ValidationError(
            {"team": [f"You are a {role} in team {team.name}: only its Writers add images."]}
        )
    return team


def _check_credentials(image: Image, *, will_build: bool = False) -> None:
    """Ask the image's registry whether these credentials can read the repository.

    An image that will be built here may not exist on its registry yet: the first build's
    push creates it, so only the credentials must work.
    """
    try:
        oci.client_for_image(image).check_access(image.repository)
    except oci.RegistryNotFound as error:
        if not will_build:
            raise serializers.ValidationError({"name": [str(error)]}) from error
    except oci.RegistryAuthError as error:
        raise serializers.ValidationError({"password": [str(error)]}) from error
    except oci.RegistryError as error:
        raise serializers.ValidationError({"name": [str(error)]}) from error


def check_build_source(data: dict, token: str) -> None:
    """Clone each branch (no checkout) to check it and its Dockerfile paths exist, so a typo
    is a form error now rather than a failed build later."""
    url = f"{settings.GIT_BASE_URL}/{data['owner']}/{data['repository']}.git"
    rows = data.get("build_settings") or []
    errors: list[dict] = [{} for _ in rows]
    for branch in dict.fromkeys(row["branch"] for row in rows):
        indexes = [i for i, row in enumerate(rows) if row["branch"] == branch]
        paths = [rows[i]["dockerfile"] for i in indexes]
        problems = git.check_build_setting(url, branch, paths, token=token)
        branch_problem = problems.get("")
        if branch_problem and "Branch `" not in branch_problem:
            # The repository itself is the problem (missing, private, unreachable).
            raise serializers.ValidationError({"build_source": {"repository": [branch_problem]}})
        for i in indexes:
            if branch_problem:
                errors[i]["branch"] = [branch_problem]
            elif rows[i]["dockerfile"] in problems:
                errors[i]["dockerfile"] = [problems[rows[i]["dockerfile"]]]
    if any(errors):
        raise serializers.ValidationError({"build_source": {"build_settings": errors}})


def _apply_build_source(image: Image, data: dict | None) -> None:
    """Replace the image's build source and settings; tags named by a setting exist as rows."""
    token = data.get("access_token") if data else None
    if token is None:
        token = _stored_token(image)  # not sent: keep it, as with registry passwords
    BuildSource.objects.filter(image=image).delete()
    if data is not None:
        source = BuildSource(
            image=image,
            type=data["type"],
            owner=data["owner"],
            repository=data["repository"],
            autotests=data["autotests"],
        )
        source.access_token = token or ""
        source.save()
        BuildSetting.objects.bulk_create(
            BuildSetting(build_source=source, **setting) for setting in data["build_settings"]
        )
        for setting in data["build_settings"]:
            Tag.objects.get_or_create(image=image, name=setting["tag"])
    wanted = {s["tag"] for s in data["build_settings"]} if data else set()
    # Tags that only existed because of a build setting go with it; pushed tags stay.
    image.tags.filter(layer__isnull=True, state=State.EMPTY).exclude(name__in=wanted).delete()
    image.refresh_state()


def _fill_owner(source: dict | None, name: str, user) -> None:
    """`build_source.owner` is optional (spec): it defaults to the person's linked GitHub
    account, else to the image's namespace (`127.0.0.1:5000/acme/web` → acme)."""
    if not source or source.get("owner"):
        return
    linked = profiles.github_login_of(user)
    if linked:
        source["owner"] = linked
        return
    _, path = names.split_name(name)
    if "/" not in path:
        raise serializers.ValidationError(
            {
                "build_source": {
                    "owner": [
                        f"Name the GitHub account that holds the repository: {name} has no "
                        "namespace to take it from, and you have not linked a GitHub account."
                    ]
                }
            }
        )
    source["owner"] = path.split("/")[0]


def _publish_refusal(image: Image) -> str:
    """Why a new image may not be public: registering it is writing, making it public is
    deciding who sees it (PATCH asks the same of a change of visibility)."""
    if image.team is not None:
        return (
            f"Only the Owners of team {image.team.name} can make a public image. Register it "
            "private, then ask an Owner to make it public."
        )
    return "Team access tokens register private images only."


def _stored_token(image: Image) -> str:
    source = BuildSource.objects.filter(image=image).first()
    return source.access_token if source else ""


def create_image(user, data: dict) -> Image:
    name = data["name"]
    _fill_owner(data.get("build_source"), name, user)
    host = host_of(name)
    registry = registry_for_host(host)
    image = Image(
        name=name,
        owner=user,
        registry=registry,
        description=data.get("description", ""),
        is_private_image=data.get("is_private_image", True),
    )
    if Image.objects.filter(name=name).exists():
        raise Conflict(f"An image named {name} is already registered.")
    if registry.is_tutum_registry:
        image.team = _namespace_owner(name, user)
        if data.get("team") and data["team"] != (image.team.name if image.team else ""):
            raise serializers.ValidationError(
                {"team": ["On this registry the namespace in the name says who owns the image."]}
            )
    else:
        if data.get("team"):
            image.team = _team_to_own(data["team"], user)
        image.registry_username = data.get("username", "")
        image.registry_password = data.get("password", "")
        source = data.get("build_source")
        _check_credentials(image, will_build=bool(source and source.get("build_settings")))
    if data.get("build_source") and settings.CHECK_BUILD_SETTINGS:
        token = data["build_source"].get("access_token") or profiles.github_token_of(user)
        check_build_source(data["build_source"], token)
    if image.team is not None:
        image.owner = None  # the team's, so leaving the team takes it away at once
    if not image.is_private_image and not access.may_publish(user, image):
        raise serializers.ValidationError({"is_private_image": [_publish_refusal(image)]})
    try:
        with transaction.atomic():
            image.save()
            _apply_build_source(image, data.get("build_source"))
            webhook_events.emit(
                "image.registered", image, key=str(image.pk), actor=user.get_username()
            )
    except IntegrityError as error:
        raise Conflict(f"An image named {name} is already registered.") from error
    return image


def update_image(image: Image, data: dict, user=None) -> Image:
    _fill_owner(data.get("build_source"), image.name, user)
    if "description" in data:
        image.description = data["description"]
    if "is_private_image" in data:
        image.is_private_image = data["is_private_image"]
    credentials_changed = "username" in data or "password" in data
    if credentials_changed and not image.registry.is_tutum_registry:
        image.registry_username = data.get("username", image.registry_username)
        if "password" in data:
            image.registry_password = data["password"]
        if "build_source" in data:
            will_build = bool(data["build_source"] and data["build_source"]["build_settings"])
        else:
            will_build = BuildSetting.objects.filter(build_source__image=image).exists()
        _check_credentials(image, will_build=will_build)
    source = data.get("build_source")
    if source and settings.CHECK_BUILD_SETTINGS:
        token = source.get("access_token")
        token = _stored_token(image) if token is None else token
        check_build_source(source, token or profiles.github_token_of(image.owner or user))
    with transaction.atomic():
        image.save()
        if "build_source" in data:
            _apply_build_source(image, data["build_source"])
    return image
