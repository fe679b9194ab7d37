from django.contrib import admin
from django.utils.translation import gettext, gettext_lazy as _

from assets import consent
from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
from echofu.admin_helpers import MediaFileAdmin, VersionedRowAdmin, media_link, media_player, readable_json
from echofu.messages import localized
from engines.messages import gettext_noop

CONSENT_FIELDS = ("consent_name", "consent_wording", "consent_method", "consent_by", "consent_at",
                  "revoked_at", "revoked_by", "revoked_reason_shown")


class ConsentedMediaAdmin(MediaFileAdmin):
    """Who stated consent for a face or voice, and the staff action that revokes it."""

    list_display = MediaFileAdmin.list_display + ("consent_name", "consent_state")
    list_filter = ("created_at", "consent_method", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = MediaFileAdmin.search_fields + ("consent_name",)
    # Whether it was uploaded or found by scan_media is history, as the consent statement is.
    readonly_fields = MediaFileAdmin.readonly_fields + ("source",) + CONSENT_FIELDS
    # Shown translated (revoked_reason_shown); a reason edited here would part from its template.
    exclude = MediaFileAdmin.exclude + ("revoked_reason", "revoked_reason_message")
    actions = ["revoke_consent"]

    @admin.display(description=_("consent"))
    def consent_state(self, obj):
        if obj.revoked:
            return gettext("revoked {date}").format(date=f"{obj.revoked_at:%Y-%m-%d}")
        return gettext("stated") if obj.has_consent else gettext("missing")

    @admin.display(description=_("revoked reason"))
    def revoked_reason_shown(self, obj):
        return localized(obj.kept_revoked_reason)

    @admin.action(description=_("Revoke consent (disables its models, voices and future renders)"))
    def revoke_consent(self, request, queryset):
        reason = gettext_noop("revoked in the admin by {curator}", curator=request.user.get_username())
        count = consent.revoke(queryset, by=request.user, reason=reason)
        self.message_user(request, gettext("consent revoked for {count} file(s)").format(count=count))


@admin.register(ReferenceAudio)
class ReferenceAudioAdmin(ConsentedMediaAdmin):
    list_display = ConsentedMediaAdmin.list_display + ("codec", "sample_rate", "source")
    list_filter = ConsentedMediaAdmin.list_filter + ("source", "codec")
    readonly_fields = ConsentedMediaAdmin.readonly_fields + ("codec", "sample_rate", "channels")


@admin.register(TrainingVideo)
class TrainingVideoAdmin(ConsentedMediaAdmin):
    player_kind = "video"
    list_display = ConsentedMediaAdmin.list_display + ("resolution", "fps", "has_audio", "probe_status", "face_share", "quality")
    list_filter = ConsentedMediaAdmin.list_filter + ("probe_status", "has_audio", "source")
    # Measured by the upload's check: a check state set here to ok would send a video it refused to training.
    readonly_fields = ConsentedMediaAdmin.readonly_fields + ("width", "height", "fps", "has_audio", "probe_status",
                                                             readable_json("probe", _("video check")), "probe_error_shown", "probe_job")
    exclude = ConsentedMediaAdmin.exclude + ("probe", "probe_error", "probe_error_message")

    @admin.display(description=_("check error"))
    def probe_error_shown(self, obj):
        return localized(obj.kept_probe_error)

    @admin.display(description=_("resolution"))
    def resolution(self, obj):
        return f"{obj.width}x{obj.height}" if obj.width else "-"

    @admin.display(description=_("one face"))
    def face_share(self, obj):
        share = obj.one_face_share
        return "-" if share is None else f"{share:.0%}"

    @admin.display(description=_("quality"))
    def quality(self, obj):
        if obj.quality_errors:
            return gettext("refused: {reasons}").format(reasons="; ".join(obj.quality_errors))
        if obj.quality_warnings:
            return gettext("warnings: {reasons}").format(reasons="; ".join(obj.quality_warnings))
        return gettext("ok") if obj.probe_status == obj.ProbeStatus.OK else obj.get_probe_status_display()


@admin.register(SpeakerProfile)
class SpeakerProfileAdmin(VersionedRowAdmin):
    rests_on = "reference"
    list_display = ("speaker_id", "version", "owner", "f0_mean", "f0_low", "f0_high", "duration", "likeness", "clip_link", "created_at")
    list_filter = ("created_at",)
    search_fields = ("speaker_id", "reference_path", "owner__username")  # each account numbers its own ids
    readonly_fields = ("clip_player", "clean_clip", "features", readable_json("self_evaluation", _("self-evaluation")), "reference",
                       "reference_path", "duration", "created_at")
    exclude = ("self_evaluation",)  # what the clone measured: shown readable above

    def has_add_permission(self, request):
        return False  # voices are cloned from a consented recording (/audio_clone), not typed in

    @admin.display(description=_("clean clip"))
    def clip_link(self, obj):
        return media_link(obj.clean_clip.name, gettext("play"))

    @admin.display(description=_("player"))
    def clip_player(self, obj):
        return media_player(obj.clean_clip.name, "audio")

    @admin.display(description=_("likeness to the recording"))
    def likeness(self, obj):
        """The self-evaluation's similarity of the clone (and of its base voices as they are) to the recording."""
        similarity = (obj.self_evaluation or {}).get("similarity")
        if not similarity:
            return "-"
        return "; ".join(gettext("{encoder} {clone:.2f} (base voice {base:.2f})").format(encoder=encoder, **figures)
                         for encoder, figures in similarity.items())


@admin.register(GeneratedAudio)
class GeneratedAudioAdmin(MediaFileAdmin):
    list_display = MediaFileAdmin.list_display + ("speaker", "engine", "pitch", "room_tone")
    list_filter = ("engine", "created_at")
    search_fields = MediaFileAdmin.search_fields + ("text", "speaker__speaker_id")
    # What it was made from and with is its provenance (its file's record says the same).
    readonly_fields = MediaFileAdmin.readonly_fields + ("speaker", "engine", "pitch", "room_tone", "text", "job")
