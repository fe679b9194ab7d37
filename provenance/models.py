from django.conf import settings
from django.db import models
from django.utils import timezone


class ProvenanceRecord(models.Model):
    """What one generated file was made from: model, voice, source assets, request, owner."""

    class Kind(models.TextChoices):
        VIDEO = "video"
        AUDIO = "audio"

    request_id = models.CharField(max_length=64, db_index=True, help_text="the job (task_id) that made it")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.CharField(max_length=500, help_text="media-relative path of the output")
    sha256 = models.CharField(max_length=64, db_index=True)
    model = models.ForeignKey("training.TalkingHeadModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    speaker = models.ForeignKey("assets.SpeakerProfile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sources = models.JSONField(default=list, blank=True, help_text="source assets: type, id, path, consent name")
    record = models.JSONField(default=dict, blank=True, help_text="the record written into the file")
    label = models.BooleanField(default=False, help_text="visible 'AI generated' label drawn")
    marker = models.BooleanField(default=False, help_text="audio marker embedded")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    job = models.ForeignKey("monitoring.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "provenance record"

    def __str__(self) -> str:
        return f"{self.kind} {self.file} ({self.request_id})"
