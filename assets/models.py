import os

from django.conf import settings
from django.db import models
from django.utils import timezone

from echofu import paths
from echofu.ownership import owner_field
from echofu.messages import localized_all, restored


class MediaFile(models.Model):
    """A file under MEDIA_ROOT that the catalog knows; the row is the source of truth."""

    file_lookups = ("file",)  # the row owns its file: deleting the row removes it (echofu.stored_files)

    file = models.FileField(max_length=500, help_text="path relative to the media root")
    original_name = models.CharField(max_length=255, blank=True, default="")
    size = models.BigIntegerField(default=0, help_text="bytes")
    duration = models.FloatField(null=True, blank=True, help_text="seconds")
    owner = owner_field()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.original_name or self.filename

    @property
    def filename(self) -> str:
        return os.path.basename(self.file.name)

    @property
    def relative_path(self) -> str:
        return paths.public_path(self.file.name)

    @property
    def file_type(self) -> str:
        return os.path.splitext(self.file.name)[1].lstrip(".").upper()

    def exists(self) -> bool:
        return bool(self.file.name) and paths.absolute(self.file.name).is_file()

    def owned_files(self) -> list[str]:
        return [self.file.name]


class ConsentedMediaFile(MediaFile):
    """A face or voice upload: the uploader's consent statement is stored with it, and staff can revoke it."""

    class ConsentMethod(models.TextChoices):
        FORM = "form", "stated with the upload"
        SETTING = "setting", "single-user setting"
        ADMIN = "admin", "recorded by staff"

    # The person a video's models are of, the speaker a recording's voice is cloned as, unless the
    # request names one: unique among the owner's rows (echofu.versioning.create_with_own_name).
    name = models.CharField(max_length=128, blank=True, default="",
                            help_text="the name its owner knows it by; blank on rows from before, which go by their file's name")
    consent_name = models.CharField(max_length=200, blank=True, default="", help_text="the person shown or heard")
    consent_wording = models.TextField(blank=True, default="", help_text="the statement agreed to")
    consent_method = models.CharField(max_length=16, choices=ConsentMethod.choices, blank=True, default="")
    consent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    consent_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="disables every model, profile and render made from it")
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_reason = models.TextField(blank=True, default="")
    revoked_reason_message = models.JSONField(null=True, blank=True,
                                              help_text="the reason as its template and values, shown translated (echofu.messages)")

    class Meta(MediaFile.Meta):
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], condition=models.Q(owner__isnull=False) & ~models.Q(name=""),
                                    name="unique_%(class)s_name_per_owner"),
        ]

    @property
    def display_name(self) -> str:
        return self.name or os.path.splitext(self.filename)[0]

    @property
    def kept_revoked_reason(self) -> dict | str:
        """The reason as echofu.messages reads it: its template and values when it has them, else its text."""
        return self.revoked_reason_message or self.revoked_reason

    @property
    def has_consent(self) -> bool:
        return bool(self.consent_at and self.consent_wording)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def usable(self) -> bool:
        return self.has_consent and not self.revoked


class ReferenceAudio(ConsentedMediaFile):
    """A voice recording uploaded (or dropped into voices/ref_voices) to clone a voice from."""

    class Source(models.TextChoices):
        UPLOAD = "upload"
        SCAN = "scan", "found by scan_media"

    codec = models.CharField(max_length=32, blank=True, default="")
    sample_rate = models.IntegerField(default=0)
    channels = models.IntegerField(default=0)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.UPLOAD)

    class Meta(ConsentedMediaFile.Meta):
        verbose_name = "reference audio"


class TrainingVideo(ConsentedMediaFile):
    """A video of one person speaking, the input of talking-head training."""

    class ProbeStatus(models.TextChoices):
        PENDING = "pending"
        OK = "ok", "checked"
        FAILED = "failed"

    source = models.CharField(max_length=16, choices=ReferenceAudio.Source.choices, default=ReferenceAudio.Source.UPLOAD)
    width = models.IntegerField(default=0)
    height = models.IntegerField(default=0)
    fps = models.FloatField(default=0)
    has_audio = models.BooleanField(default=False)
    probe_status = models.CharField(max_length=16, choices=ProbeStatus.choices, default=ProbeStatus.PENDING)
    probe = models.JSONField(default=dict, blank=True, help_text="face statistics and quality findings")
    probe_error = models.TextField(blank=True, default="")
    probe_job = models.ForeignKey("monitoring.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(ConsentedMediaFile.Meta):
        verbose_name = "training video"

    @property
    def one_face_share(self) -> float | None:
        return self.probe.get("one_face_share")

    @property
    def quality_errors(self) -> list[str]:
        return localized_all(self.probe.get("errors", []))

    @property
    def quality_warnings(self) -> list[str]:
        return localized_all(self.probe.get("warnings", []))

    def errors_for(self, model_type: str) -> list[str]:
        """Why `model_type` refuses this video, per its own input check in the probe ([] when none)."""
        verdict = self.probe.get("checks", {}).get(model_type)
        return [restored(error) for error in verdict["errors"]] if verdict else []

    def localized_probe(self) -> dict:
        """The probe with its findings in the active language."""
        def translated(verdict: dict) -> dict:
            return {**verdict, "errors": localized_all(verdict.get("errors", [])), "warnings": localized_all(verdict.get("warnings", []))}

        probe = translated(self.probe) if self.probe else {}
        if "checks" in probe:
            probe["checks"] = {model_type: translated(verdict) for model_type, verdict in probe["checks"].items()}
        return probe


class SpeakerProfile(models.Model):
    """A cloned voice: d-vector, pitch statistics and the cleaned reference clip."""

    speaker_id = models.CharField(max_length=64, db_index=True)
    version = models.PositiveIntegerField(default=1)
    # A voice made from a recording goes with it. Null for profiles made from other audio before
    # a consented reference was required (chat took any catalogued audio); those stay usable.
    reference = models.ForeignKey(ReferenceAudio, null=True, blank=True, on_delete=models.CASCADE, related_name="speakers")
    reference_path = models.CharField(max_length=500, help_text="media-relative path of the source recording")
    clean_clip = models.FileField(max_length=500, blank=True)
    features = models.JSONField(default=dict, blank=True, help_text="embedding, F0 statistics, envelope")
    f0_mean = models.FloatField(null=True, blank=True, help_text="Hz")
    f0_low = models.FloatField(null=True, blank=True, help_text="Hz, 5th percentile")
    f0_high = models.FloatField(null=True, blank=True, help_text="Hz, 95th percentile")
    duration = models.FloatField(null=True, blank=True, help_text="seconds of cleaned speech")
    owner = owner_field()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    file_lookups = ("clean_clip", "features__conversion__file")  # owned: removed with the row (echofu.stored_files)

    class Meta:
        ordering = ["-created_at"]
        # Each account numbers its own voices; the rows nobody owns (operator commands) are
        # numbered among themselves, which the first constraint cannot hold: NULLs are all distinct.
        constraints = [
            models.UniqueConstraint(fields=["owner", "speaker_id", "version"], name="unique_speaker_version_per_owner"),
            models.UniqueConstraint(fields=["speaker_id", "version"], condition=models.Q(owner__isnull=True),
                                    name="unique_ownerless_speaker_version"),
        ]

    def __str__(self) -> str:
        return f"{self.speaker_id} v{self.version}"

    def owned_files(self) -> list[str]:
        """The cleaned clip and the default engine's fitted conversion next to it."""
        return [self.clean_clip.name, (self.features.get("conversion") or {}).get("file", "")]


class GeneratedAudio(MediaFile):
    """Speech synthesised in a cloned voice."""

    speaker = models.ForeignKey(SpeakerProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="generated")
    text = models.TextField(blank=True, default="")
    engine = models.CharField(max_length=32, blank=True, default="")
    pitch = models.FloatField(default=0, help_text="semitones")
    room_tone = models.BooleanField(default=False, help_text="spoken with the reference recording's background under it")
    job = models.ForeignKey("monitoring.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(MediaFile.Meta):
        verbose_name = "generated audio"
