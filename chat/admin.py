from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from chat.models import Conversation, KnowledgeEntry, Persona, Turn
from echofu.admin_helpers import WrittenByTheStudioAdmin, translated_error


class TurnInline(admin.TabularInline):
    model = Turn
    extra = 0
    fields = ("status", "transcript", "reply_text", "provider", "reply_video", "error_stage", translated_error, "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("__str__", "owner", "created_at")
    search_fields = ("title", "turns__transcript", "turns__reply_text", "owner__username")
    inlines = [TurnInline]


@admin.register(Turn)
class TurnAdmin(WrittenByTheStudioAdmin):
    list_display = ("pk", "conversation", "owner", "status", "provider", "short_transcript", "error_stage", "created_at")
    list_filter = ("status", "provider", "error_stage", "language")
    search_fields = ("transcript", "reply_text", "input_text", "error", "conversation__owner__username")
    # The error in the curator's language, from the template the row keeps (error_message).
    fields = readonly_fields = [translated_error if field.name == "error" else field.name
                                for field in Turn._meta.fields if field.name != "error_message"]
    list_select_related = ("conversation__owner",)

    @admin.display(description=_("owner"), ordering="conversation__owner")
    def owner(self, turn: Turn):
        return turn.conversation.owner

    @admin.display(description=_("transcript"))
    def short_transcript(self, turn: Turn) -> str:
        return turn.transcript[:60]


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(admin.ModelAdmin):
    list_display = ("question", "answer", "language", "enabled", "updated_at")
    list_filter = ("language", "enabled")
    list_editable = ("enabled",)
    search_fields = ("question", "answer")


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "updated_at")
    list_filter = ("active",)
