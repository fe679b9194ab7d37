from django.contrib import admin

from chat.models import Conversation, Turn


class TurnInline(admin.TabularInline):
    model = Turn
    extra = 0
    fields = ("transcript", "reply_text", "reply_video", "llm", "created_at")
    readonly_fields = fields


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "owner", "created_at")
    search_fields = ("title", "turns__transcript", "turns__reply_text")
    inlines = [TurnInline]
