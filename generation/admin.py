from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from echofu.admin_helpers import MediaFileAdmin
from generation.models import GeneratedVideo


@admin.register(GeneratedVideo)
class GeneratedVideoAdmin(MediaFileAdmin):
    player_kind = "video"
    list_display = MediaFileAdmin.list_display + ("model", "resolution", "frames", "render_seconds")
    list_filter = ("model_type", "created_at")
    search_fields = MediaFileAdmin.search_fields + ("text", "audio_path", "model__name")
    readonly_fields = MediaFileAdmin.readonly_fields + ("ai_generated", "model", "model_type", "width", "height", "frames", "timings",
                                                        "audio_path", "speaker_id", "text", "job")

    @admin.display(description=_("resolution"))
    def resolution(self, obj):
        return f"{obj.width}x{obj.height}"

    @admin.display(description=_("render s"))
    def render_seconds(self, obj):
        total = obj.timings.get("total")
        return "-" if total is None else f"{total:.1f}"
