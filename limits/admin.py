from django.contrib import admin

from echofu.admin_helpers import WrittenByTheStudioAdmin
from limits.models import Hit


@admin.register(Hit)
class HitAdmin(WrittenByTheStudioAdmin):
    list_display = ("user", "scope", "at")
    list_filter = ("scope", "at")
    search_fields = ("user__username",)
    readonly_fields = ("user", "scope", "at")
