from django.contrib import admin

from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
from echofu.admin_helpers import MediaFileAdmin, media_link, media_player


@admin.register(ReferenceAudio)
class ReferenceAudioAdmin(MediaFileAdmin):
    list_display = MediaFileAdmin.list_display + ("codec", "sample_rate", "source")
    list_filter = ("source", "codec", "created_at")


@admin.register(TrainingVideo)
class TrainingVideoAdmin(MediaFileAdmin):
    player_kind = "video"
    list_display = MediaFileAdmin.list_display + ("resolution", "fps", "has_audio", "probe_status", "face_share", "quality")
    list_filter = ("probe_status", "has_audio", "source", "created_at")
    readonly_fields = MediaFileAdmin.readonly_fields + ("probe", "probe_error", "probe_job")

    @admin.display(description="resolution")
    def resolution(self, obj):
        return f"{obj.width}x{obj.height}" if obj.width else "-"

    @admin.display(description="one face")
    def face_share(self, obj):
        share = obj.one_face_share
        return "-" if share is None else f"{share:.0%}"

    @admin.display(description="quality")
    def quality(self, obj):
        if obj.quality_errors:
            return "refused: " + "; ".join(obj.quality_errors)
        if obj.quality_warnings:
            return "warnings: " + "; ".join(obj.quality_warnings)
        return "ok" if obj.probe_status == obj.ProbeStatus.OK else obj.probe_status


@admin.register(SpeakerProfile)
class SpeakerProfileAdmin(admin.ModelAdmin):
    list_display = ("speaker_id", "version", "f0_mean", "f0_low", "f0_high", "duration", "clip_link", "created_at")
    list_filter = ("created_at",)
    search_fields = ("speaker_id", "reference_path")
    readonly_fields = ("clip_player", "created_at")

    @admin.display(description="clean clip")
    def clip_link(self, obj):
        return media_link(obj.clean_clip.name, "play")

    @admin.display(description="player")
    def clip_player(self, obj):
        return media_player(obj.clean_clip.name, "audio")


@admin.register(GeneratedAudio)
class GeneratedAudioAdmin(MediaFileAdmin):
    list_display = MediaFileAdmin.list_display + ("speaker", "engine", "pitch")
    list_filter = ("engine", "created_at")
    search_fields = MediaFileAdmin.search_fields + ("text", "speaker__speaker_id")
