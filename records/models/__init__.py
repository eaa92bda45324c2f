"""The system of record: users' API keys, registries, images, tags, layers, build sources.

One module per concept; every model is importable from here (`from records.models import
Image`), as the rest of the project and the migrations expect.
"""

from __future__ import annotations

from records.models.accounts import ApiKey, ApiKeyQuerySet, Invitation, Profile, TwoFactor
from records.models.audit import AuditEvent
from records.models.builds import Build, BuildSetting, BuildSource, Worker
from records.models.images import (
    Category,
    Image,
    ImageCount,
    Layer,
    ListWalk,
    Registry,
    State,
    Tag,
    TagCount,
)
from records.models.lifecycle import (
    BinEntry,
    CleanupPolicy,
    Collection,
    Maintenance,
    PolicyRun,
    WriteToken,
)
from records.models.tallies import Tally
from records.models.teams import Membership, Role, Team, TeamInvitation, TeamToken
from records.models.untagged import UntaggedManifest
from records.models.webhooks import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "ApiKey",
    "ApiKeyQuerySet",
    "AuditEvent",
    "BinEntry",
    "Build",
    "BuildSetting",
    "BuildSource",
    "Category",
    "CleanupPolicy",
    "Collection",
    "Image",
    "ImageCount",
    "ListWalk",
    "Invitation",
    "Layer",
    "Maintenance",
    "WriteToken",
    "Membership",
    "PolicyRun",
    "Profile",
    "Registry",
    "Role",
    "State",
    "Tag",
    "Tally",
    "TagCount",
    "Team",
    "TeamInvitation",
    "TeamToken",
    "TwoFactor",
    "UntaggedManifest",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "Worker",
]
