from django.db import models

from assets.models import MediaFile


class GeneratedVideo(MediaFile):
    """A rendered talking-head video (always marked as AI-generated)."""

    model = models.ForeignKey("training.TalkingHeadModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="videos")
    model_type = models.CharField(max_length=16, blank=True, default="")
    audio_path = models.CharField(max_length=500, blank=True, default="", help_text="media-relative driving audio")
    text = models.TextField(blank=True, default="", help_text="text spoken, when rendered from text")
    speaker_id = models.CharField(max_length=64, blank=True, default="")
    width = models.IntegerField(default=0)
    height = models.IntegerField(default=0)
    frames = models.IntegerField(default=0)
    timings = models.JSONField(default=dict, blank=True, help_text="seconds per stage")
    ai_generated = models.BooleanField(default=True)
    job = models.ForeignKey("monitoring.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(MediaFile.Meta):
        verbose_name = "generated video"
