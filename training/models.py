from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from echofu import paths
from echofu.ordering import NEWEST_FIRST
from echofu.ownership import owner_field


class TalkingHeadModel(models.Model):
    """A trained talking-head model: one version of one person's model of one type."""

    class ModelType(models.TextChoices):
        ECHOLITE = "EchoLite", "EchoLite"  # without a label Django shows the member's name, "Echolite"
        ERNERF = "ER-NeRF", "ER-NeRF"
        SYNCTALK = "SyncTalk", "SyncTalk"

    class Source(models.TextChoices):
        TRAINED = "trained", _("trained")
        SCAN = "scan", _("found by scan_media")

    model_type = models.CharField(verbose_name=_("model type"), max_length=16, choices=ModelType.choices, db_index=True)
    name = models.CharField(verbose_name=_("name"), max_length=128,
                            help_text=_("directory name under media/models/MODEL_TYPE/ (e.g. media/models/EchoLite/)"))
    person = models.CharField(verbose_name=_("person"), max_length=128, blank=True, default="",
                              help_text=_("whose face: the source video's name"))
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    # A model trained from a video goes with it; models found on disk by a scan have none.
    source_video = models.ForeignKey("assets.TrainingVideo", verbose_name=_("source video"),
                                     null=True, blank=True, on_delete=models.CASCADE, related_name="models")
    source = models.CharField(verbose_name=_("source"), max_length=16, choices=Source.choices, default=Source.TRAINED)
    params = models.JSONField(verbose_name=_("params"), default=dict, blank=True)
    metrics = models.JSONField(verbose_name=_("metrics"), default=dict, blank=True, help_text=_("self-evaluation figures"))
    warnings = models.JSONField(verbose_name=_("warnings"), default=list, blank=True, help_text=_("input quality warnings"))
    size = models.BigIntegerField(verbose_name=_("size"), default=0, help_text=_("bytes on disk"))
    file_count = models.IntegerField(verbose_name=_("file count"), default=0)
    job = models.ForeignKey("monitoring.Job", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = owner_field()
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now, db_index=True)

    file_lookups = ()  # its folder is its own: (model_type, name) is unique

    class Meta:
        verbose_name = _("talking-head model")
        verbose_name_plural = _("talking-head models")
        ordering = NEWEST_FIRST
        constraints = [
            models.UniqueConstraint(fields=["model_type", "name"], name="unique_model_dir"),
            # Each account numbers its own models of a person; ownerless rows (scan_media, operator
            # commands) among themselves, which the first cannot hold: NULLs are all distinct.
            models.UniqueConstraint(fields=["owner", "model_type", "person", "version"], name="unique_model_version_per_owner"),
            models.UniqueConstraint(fields=["model_type", "person", "version"], condition=models.Q(owner__isnull=True),
                                    name="unique_ownerless_model_version"),
        ]

    def __str__(self) -> str:
        return f"{self.model_type}/{self.name}"

    @property
    def display_label(self) -> str:
        """How its owner knows it: whose face, which version, which type."""
        return f"{self.person or self.name} v{self.version} ({self.model_type})"

    @property
    def relative_dir(self) -> str:
        return f"{paths.MODELS}/{self.model_type}/{self.name}"

    @property
    def public_dir(self) -> str:
        return paths.public_path(self.relative_dir)

    def directory(self):
        return paths.absolute(self.relative_dir)

    def exists(self) -> bool:
        return self.directory().is_dir()

    def owned_files(self) -> list[str]:
        """The model's folder, removed with the row: left on disk, the registry would register it again."""
        return [self.relative_dir]
