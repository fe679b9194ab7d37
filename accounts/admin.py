"""Accounts and API tokens in the admin. An account's page adds its storage and rate-limit use; tokens are
listed and revoked by a curator, never readable there.

A key is a password that needs no username: a curator who could read another account's key could
act as that account. The admin shows a prefix to tell keys apart; keys are made by
`manage.py create_api_token`, which prints the key to the operator who runs it."""
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext, gettext_lazy as _
from rest_framework.authtoken import admin as drf_token_admin  # registers DRF's admin, replaced below
from rest_framework.authtoken.models import Token, TokenProxy

from echofu.admin_helpers import human_size
from echofu.messages import localized
from limits.checks import SCOPES, has_quota, is_rate_limited, requests_in_window, storage_used

SHOWN_KEY_CHARACTERS = 6


def key_hint(key: str) -> str:
    return f"{key[:SHOWN_KEY_CHARACTERS]}…"


# The admin's delete pages (a token's, and an account's list of what goes with it) print each row
# as str(row), which for DRF's Token is the whole key.
Token.__str__ = lambda token: key_hint(token.key)

admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(drf_token_admin.TokenAdmin):
    list_display = ("key_prefix", "user", "created")
    fields = readonly_fields = ("key_prefix", "user", "created")

    @admin.display(description=_("key"))
    def key_prefix(self, token):
        return key_hint(token.key)

    def has_add_permission(self, request):
        return False  # the new key would be shown to the curator who made it

    def has_change_permission(self, request, obj=None):
        return False  # a key moved to another account would act as that account


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class StudioUserAdmin(UserAdmin):
    """An account's page also says how much of its storage quota it uses and how many of its requests the rate
    limits have counted: a curator asked why an account gets 413 or 429 had nowhere to look but the server's settings."""

    storage_and_limits = (_("Quotas and rate limits"), {"fields": ("storage", "requests")})

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is None else (*fieldsets, self.storage_and_limits)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "storage", "requests")

    @admin.display(description=_("storage used"))
    def storage(self, user):
        used = human_size(storage_used(user))
        if not has_quota(user):
            return gettext("{used} (staff have no quota)").format(used=used)
        return gettext("{used} of {quota} (ECHOFU_QUOTA_MB)").format(used=used, quota=human_size(settings.ECHOFU["QUOTA_BYTES"]))

    @admin.display(description=_("requests counted"))
    def requests(self, user):
        if not is_rate_limited(user):
            return gettext("not rate limited")
        limit = settings.ECHOFU["RATE_LIMIT_REQUESTS"]
        counted = "; ".join(gettext("{scope}: {count} of {limit}").format(scope=localized(SCOPES[scope]), count=count, limit=limit)
                            for scope, count in requests_in_window(user).items())
        return gettext("{counted} in the last {seconds} s (ECHOFU_RATE_LIMIT_REQUESTS, ECHOFU_RATE_LIMIT_SECONDS)").format(
            counted=counted, seconds=settings.ECHOFU["RATE_LIMIT_SECONDS"])
