from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _, pgettext_lazy

from echofu.ordering import NEWEST_FIRST


class ProvenanceRecord(models.Model):
    """What one generated file was made from: model, voice, source assets, request, owner."""

    class Kind(models.TextChoices):
        VIDEO = "video", pgettext_lazy("a provenance record's kind", "video")
        AUDIO = "audio", pgettext_lazy("a provenance record's kind", "audio")  # "audio" alone is a job stage

    request_id = models.CharField(verbose_name=_("request ID"), max_length=64, db_index=True, help_text=_("the job (task_id) that made it"))
    kind = models.CharField(verbose_name=_("kind"), max_length=8, choices=Kind.choices)
    file = models.CharField(verbose_name=_("file"), max_length=500, help_text=_("media-relative path of the output"))
    sha256 = models.CharField(verbose_name=_("SHA-256"), max_length=64, db_index=True)
    model = models.ForeignKey("training.TalkingHeadModel", verbose_name=_("model"),
                              null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    speaker = models.ForeignKey("assets.SpeakerProfile", verbose_name=_("speaker"),
                                null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sources = models.JSONField(verbose_name=_("sources"), default=list, blank=True,
                               help_text=_("source assets: type, id, path, consent name"))
    record = models.JSONField(verbose_name=_("record"), default=dict, blank=True, help_text=_("the record written into the file"))
    label = models.BooleanField(verbose_name=_("label"), default=False, help_text=_("visible 'AI generated' label drawn"))
    marker = models.BooleanField(verbose_name=_("marker"), default=False, help_text=_("audio marker embedded"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"),
                              null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    job = models.ForeignKey("monitoring.Job", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("provenance record")
        verbose_name_plural = _("provenance records")
        ordering = NEWEST_FIRST

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file} ({self.request_id})"
