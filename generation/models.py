from django.db import models
from django.utils.translation import gettext_lazy as _

from assets.models import MediaFile


class GeneratedVideo(MediaFile):
    """A rendered talking-head video (always marked as AI-generated)."""

    model = models.ForeignKey("training.TalkingHeadModel", verbose_name=_("model"),
                              null=True, blank=True, on_delete=models.SET_NULL, related_name="videos")
    model_type = models.CharField(verbose_name=_("model type"), max_length=16, blank=True, default="")
    audio_path = models.CharField(verbose_name=_("audio path"), max_length=500, blank=True, default="",
                                  help_text=_("media-relative driving audio"))
    text = models.TextField(verbose_name=_("text"), blank=True, default="", help_text=_("text spoken, when rendered from text"))
    speaker_id = models.CharField(verbose_name=_("speaker ID"), max_length=64, blank=True, default="")
    width = models.IntegerField(verbose_name=_("width"), default=0)
    height = models.IntegerField(verbose_name=_("height"), default=0)
    frames = models.IntegerField(verbose_name=_("frames"), default=0)
    timings = models.JSONField(verbose_name=_("timings"), default=dict, blank=True, help_text=_("seconds per stage"))
    ai_generated = models.BooleanField(verbose_name=_("AI generated"), default=True)
    job = models.ForeignKey("monitoring.Job", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(MediaFile.Meta):
        verbose_name = _("generated video")
        verbose_name_plural = _("generated videos")
