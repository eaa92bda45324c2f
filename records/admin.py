"""Django admin for staff: users' API keys, invitations, categories, images (jumpstart,
categories); teams, their tokens and the audit trail to look at."""

from __future__ import annotations

from django.contrib import admin, messages

from records.models import (
    ApiKey,
    AuditEvent,
    BuildSetting,
    BuildSource,
    Category,
    Image,
    Invitation,
    Layer,
    Membership,
    Registry,
    Tag,
    Team,
    TeamToken,
)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["user", "prefix", "label", "created", "last_used", "expires"]
    list_filter = ["user"]
    search_fields = ["user__username", "label", "prefix"]
    fields = ["user", "label", "prefix", "created", "last_used", "expires"]
    readonly_fields = ["prefix", "created", "last_used"]

    def has_change_permission(self, request, obj=None) -> bool:
        # A key's user cannot move; revoke it and issue another instead.
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return
        api_key, key = ApiKey.issue(obj.user, label=obj.label)
        obj.pk = api_key.pk
        messages.warning(
            request,
            f"The new API key for {obj.user} is {key} . Copy it now: it will not be shown again.",
        )


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """To look at and cancel (delete) invitations; making them is People's, in the web admin,
    which shows the link once and emails it."""

    list_display = ["email", "invited_by", "created", "expires", "sent", "accepted", "accepted_by"]
    search_fields = ["email"]
    readonly_fields = list_display

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnly(admin.ModelAdmin):
    """To look at (and delete, as staff may): changes go through the API, which checks the
    rules (the last Owner, names shared with usernames) and writes the audit trail."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "joined"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(ReadOnly):
    list_display = ["name", "description", "created", "created_by"]
    search_fields = ["name", "description"]
    readonly_fields = list_display
    inlines = [MembershipInline]


@admin.register(TeamToken)
class TeamTokenAdmin(ReadOnly):
    """Deleting a token here revokes it, as in the web admin; its secret is never kept."""

    list_display = ["__str__", "prefix", "access", "all_images", "expires", "last_used"]
    list_filter = ["access", "team"]
    search_fields = ["name", "team__name", "prefix"]
    fields = [
        "team",
        "name",
        "prefix",
        "access",
        "all_images",
        "images",
        "created",
        "created_by",
        "expires",
        "last_used",
    ]
    readonly_fields = fields


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly):
    list_display = ["time", "actor_name", "actor_kind", "action", "target", "team_name", "address"]
    list_filter = ["action", "actor_kind"]
    search_fields = ["actor_name", "target", "team_name", "address"]
    readonly_fields = [*list_display, "details"]
    date_hierarchy = "time"


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Registry)
class RegistryAdmin(admin.ModelAdmin):
    list_display = ["host", "name", "is_tutum_registry", "is_ssl"]


class BuildSettingInline(admin.TabularInline):
    model = BuildSetting
    extra = 0


@admin.register(BuildSource)
class BuildSourceAdmin(admin.ModelAdmin):
    list_display = ["image", "owner", "repository", "autotests"]
    inlines = [BuildSettingInline]


class TagInline(admin.TabularInline):
    model = Tag
    extra = 0
    fields = ["name", "state", "digest", "pushed_at"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "state", "is_private_image", "jumpstart", "last_build_date"]
    list_filter = ["jumpstart", "is_private_image", "state", "registry", "categories"]
    list_editable = ["jumpstart"]
    search_fields = ["name", "description"]
    filter_horizontal = ["categories"]
    fields = [
        "name",
        "owner",
        "registry",
        "description",
        "is_private_image",
        "jumpstart",
        "star_count",
        "categories",
        "registry_username",
        "state",
        "last_build_date",
    ]
    readonly_fields = ["name", "registry", "state", "last_build_date"]
    raw_id_fields = ["owner"]
    inlines = [TagInline]

    def has_add_permission(self, request) -> bool:
        # Registering checks the registry's credentials: that is the API's job (POST /image/).
        return False


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    list_display = ["docker_id", "author", "creation"]
    search_fields = ["docker_id"]
