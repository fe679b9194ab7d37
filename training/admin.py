from django.contrib import admin

from echofu.admin_helpers import human_size, media_link
from training.models import TalkingHeadModel


@admin.register(TalkingHeadModel)
class TalkingHeadModelAdmin(admin.ModelAdmin):
    list_display = ("__str__", "person", "version", "model_size", "file_count", "psnr", "ssim", "sync", "present", "created_at")
    list_filter = ("model_type", "source", "created_at")
    search_fields = ("name", "person")
    readonly_fields = ("metrics", "warnings", "params", "directory_link", "created_at")

    @admin.display(description="size", ordering="size")
    def model_size(self, obj):
        return human_size(obj.size)

    @admin.display(description="mouth PSNR")
    def psnr(self, obj):
        value = obj.metrics.get("mouth_psnr")
        return "-" if value is None else f"{value:.1f} dB"

    @admin.display(description="mouth SSIM")
    def ssim(self, obj):
        value = obj.metrics.get("mouth_ssim")
        return "-" if value is None else f"{value:.3f}"

    @admin.display(description="sync (corr / offset)")
    def sync(self, obj):
        corr, offset = obj.metrics.get("sync_correlation"), obj.metrics.get("sync_offset_frames")
        return "-" if corr is None else f"{corr:.2f} / {offset:+d} fr"

    @admin.display(boolean=True, description="on disk")
    def present(self, obj):
        return obj.exists()

    @admin.display(description="directory")
    def directory_link(self, obj):
        return media_link(f"{obj.relative_dir}/", obj.public_dir)
