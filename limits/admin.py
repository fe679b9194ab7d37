from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from echofu.admin_helpers import WrittenByTheStudioAdmin
from echofu.messages import localized
from limits.checks import SCOPES
from limits.models import Hit


class ScopeFilter(admin.SimpleListFilter):
    """The endpoints' groups by the names their refusals give them, in the admin's language."""
    title = _("scope")
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [(scope, localized(name)) for scope, name in SCOPES.items()]

    def queryset(self, request, queryset):
        return queryset.filter(scope=self.value()) if self.value() else queryset


@admin.register(Hit)
class HitAdmin(WrittenByTheStudioAdmin):
    list_display = ("user", "scope_column", "at")
    list_filter = (ScopeFilter, "at")
    search_fields = ("user__username",)
    fields = readonly_fields = ("user", "scope_column", "at")

    @admin.display(description=_("scope"), ordering="scope")
    def scope_column(self, obj):
        return obj.scope_shown
