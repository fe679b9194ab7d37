from django.contrib import admin
from django.utils.translation import gettext, gettext_lazy as _

from echofu.admin_helpers import VersionedRowAdmin, human_size, media_link, readable_json
from echofu.messages import localized
from training.models import TalkingHeadModel


@admin.register(TalkingHeadModel)
class TalkingHeadModelAdmin(VersionedRowAdmin):
    rests_on = "source_video"
    list_display = ("__str__", "person", "version", "owner", "model_size", "file_count", "psnr", "ssim", "lmd", "lip_r", "sharpness", "shimmer",
                    "beats_loop", "audio_delay", "present", "created_at")
    list_filter = ("model_type", "source", "created_at")
    search_fields = ("name", "person", "owner__username")  # each account numbers its own persons
    # What it was trained from and by: a source video changed or cleared here moved the model's consent to
    # another statement or to none (it then outlived its video's deletion and revocation).
    readonly_fields = ("source_video", "source", "job", "verdict", readable_json("metrics", _("metrics")), readable_json("warnings", _("warnings")),
                       readable_json("params", _("params")), "directory_link", "created_at")
    exclude = ("metrics", "warnings", "params", "size")  # shown readable above and as model_size

    def get_readonly_fields(self, request, obj=None):
        # The type and name are the model's folder: renamed here, the row would lose it.
        return super().get_readonly_fields(request, obj) + (("model_type", "name", "model_size", "file_count") if obj else ())

    def has_add_permission(self, request):
        return False  # models come from training, or from folders `scan_media` registers

    @admin.display(description=_("size"), ordering="size")
    def model_size(self, obj):
        return human_size(obj.size)

    @staticmethod
    def _versus_loop(obj, key: str, template: str) -> str:
        """The model's figure next to the plain loop of training frames, e.g. '0.81 (loop 0.72)'."""
        value, loop = obj.metrics.get(key), obj.metrics.get(f"loop_{key}")
        if value is None:
            return "-"
        return template.format(value) if loop is None else gettext("{value} (loop {loop})").format(value=template.format(value), loop=template.format(loop))

    @admin.display(description=_("mouth PSNR"))
    def psnr(self, obj):
        return self._versus_loop(obj, "mouth_psnr", "{:.1f} dB")

    @admin.display(description=_("mouth SSIM"))
    def ssim(self, obj):
        return self._versus_loop(obj, "mouth_ssim", "{:.3f}")

    @admin.display(description=_("LMD"))
    def lmd(self, obj):
        return self._versus_loop(obj, "lmd", "{:.1f}")

    @admin.display(description=_("lip-opening r"))
    def lip_r(self, obj):
        return self._versus_loop(obj, "lip_opening_r", "{:.2f}")

    @admin.display(description=_("mouth detail"))
    def sharpness(self, obj):
        return self._versus_loop(obj, "mouth_sharpness", "{:.2f}")

    @admin.display(description=_("mouth shimmer"))
    def shimmer(self, obj):
        return self._versus_loop(obj, "mouth_shimmer", "{:.2f}")

    @admin.display(boolean=True, description=_("beats loop"))
    def beats_loop(self, obj):
        return obj.metrics.get("beats_loop")

    @admin.display(description=_("audio delay"))
    def audio_delay(self, obj):
        frames = obj.metrics.get("audio_delay_frames")
        if frames is None:
            return "-"
        if not obj.metrics.get("audio_delay_found", True):
            return gettext("not found (nothing corrected)")
        basis = obj.metrics.get("audio_delay_basis")
        shift = gettext("{frames} frames").format(frames=f"{frames:+d}")
        return gettext("{shift} (by {basis})").format(shift=shift, basis=gettext(basis)) if basis else shift

    @admin.display(description=_("lip sync verdict"))
    def verdict(self, obj):
        return localized(obj.metrics.get("verdict", "-"))

    @admin.display(boolean=True, description=_("on disk"))
    def present(self, obj):
        return obj.exists()

    @admin.display(description=_("directory"))
    def directory_link(self, obj):
        return media_link(f"{obj.relative_dir}/", obj.public_dir)
