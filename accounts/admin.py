"""API tokens in the admin: listed and revoked by a curator, never readable there.

A key is a password that needs no username: a curator who could read another account's key could
act as that account. The admin shows a prefix to tell keys apart; keys are made by
`manage.py create_api_token`, which prints the key to the operator who runs it."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken import admin as drf_token_admin  # registers DRF's admin, replaced below
from rest_framework.authtoken.models import Token, TokenProxy

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
