import json
import os

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from echofu import paths
from echofu.ordering import NEWEST_FIRST
from echofu.ownership import owner_field
from echofu.messages import localized_all, restored


class MediaFile(models.Model):
    """A file under MEDIA_ROOT that the catalog knows; the row is the source of truth."""

    file_lookups = ("file",)  # the row owns its file: deleting the row removes it (echofu.stored_files)

    file = models.FileField(verbose_name=_("file"), max_length=500, help_text=_("path relative to the media root"))
    original_name = models.CharField(verbose_name=_("original name"), max_length=255, blank=True, default="")
    size = models.BigIntegerField(verbose_name=_("size"), default=0, help_text=_("bytes"))
    duration = models.FloatField(verbose_name=_("duration"), null=True, blank=True, help_text=_("seconds"))
    owner = owner_field()
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now, db_index=True)

    class Meta:
        abstract = True
        ordering = NEWEST_FIRST

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
        FORM = "form", _("stated with the upload")
        SETTING = "setting", _("single-user setting")
        ADMIN = "admin", _("recorded by staff")

    # The person a video's models are of, the speaker a recording's voice is cloned as, unless the
    # request names one: unique among the owner's rows (echofu.versioning.create_with_own_name).
    name = models.CharField(verbose_name=_("name"), max_length=128, blank=True, default="",
                            help_text=_("the name its owner knows it by; blank on rows from before, which go by their file's name"))
    consent_name = models.CharField(verbose_name=_("consent name"), max_length=200, blank=True, default="",
                                    help_text=_("the person shown or heard"))
    consent_wording = models.TextField(verbose_name=_("consent wording"), blank=True, default="", help_text=_("the statement agreed to"))
    consent_method = models.CharField(verbose_name=_("consent method"),
                                      max_length=16, choices=ConsentMethod.choices, blank=True, default="")
    consent_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("consent stated by"),
                                   null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    consent_at = models.DateTimeField(verbose_name=_("consent stated at"), null=True, blank=True)
    revoked_at = models.DateTimeField(verbose_name=_("revoked at"), null=True, blank=True,
                                      help_text=_("disables every model, profile and render made from it"))
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("revoked by"),
                                   null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_reason = models.TextField(verbose_name=_("revoked reason"), blank=True, default="")
    revoked_reason_message = models.JSONField(verbose_name=_("revoked reason (template)"), null=True, blank=True,
                                              help_text=_("the reason as its template and values, shown translated (echofu.messages)"))

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
        UPLOAD = "upload", _("upload")
        SCAN = "scan", _("found by scan_media")

    codec = models.CharField(verbose_name=_("codec"), max_length=32, blank=True, default="")
    sample_rate = models.IntegerField(verbose_name=_("sample rate"), default=0)
    channels = models.IntegerField(verbose_name=_("channels"), default=0)
    source = models.CharField(verbose_name=_("source"), max_length=16, choices=Source.choices, default=Source.UPLOAD)

    class Meta(ConsentedMediaFile.Meta):
        verbose_name = _("reference audio")
        verbose_name_plural = _("reference audios")


class TrainingVideo(ConsentedMediaFile):
    """A video of one person speaking, the input of talking-head training."""

    class ProbeStatus(models.TextChoices):
        PENDING = "pending", _("pending")
        OK = "ok", _("checked")
        FAILED = "failed", _("failed")

    source = models.CharField(verbose_name=_("source"),
                              max_length=16, choices=ReferenceAudio.Source.choices, default=ReferenceAudio.Source.UPLOAD)
    width = models.IntegerField(verbose_name=_("width"), default=0)
    height = models.IntegerField(verbose_name=_("height"), default=0)
    fps = models.FloatField(verbose_name=_("fps"), default=0)
    has_audio = models.BooleanField(verbose_name=_("has audio"), default=False)
    probe_status = models.CharField(verbose_name=_("check status"), max_length=16, choices=ProbeStatus.choices, default=ProbeStatus.PENDING)
    probe = models.JSONField(verbose_name=_("video check"), default=dict, blank=True, help_text=_("face statistics and quality findings"))
    probe_error = models.TextField(verbose_name=_("check error"), blank=True, default="")
    probe_error_message = models.JSONField(verbose_name=_("check error (template)"), null=True, blank=True,
                                           help_text=_("the error as its template and values, shown translated (echofu.messages)"))
    probe_job = models.ForeignKey("monitoring.Job", verbose_name=_("check job"),
                                  null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(ConsentedMediaFile.Meta):
        verbose_name = _("training video")
        verbose_name_plural = _("training videos")

    @property
    def kept_probe_error(self) -> dict | str:
        """The check's error as echofu.messages reads it: its template and values when it has them, else its text."""
        return self.probe_error_message or self.probe_error

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

    speaker_id = models.CharField(verbose_name=_("speaker ID"), max_length=64, db_index=True)
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    # A voice made from a recording goes with it. Null for profiles made from other audio before
    # a consented reference was required (chat took any catalogued audio); those stay usable.
    reference = models.ForeignKey(ReferenceAudio, verbose_name=_("reference recording"),
                                  null=True, blank=True, on_delete=models.CASCADE, related_name="speakers")
    reference_path = models.CharField(verbose_name=_("reference path"), max_length=500,
                                      help_text=_("media-relative path of the source recording"))
    clean_clip = models.FileField(verbose_name=_("clean clip"), max_length=500, blank=True)
    features = models.JSONField(verbose_name=_("features"), default=dict, blank=True, help_text=_("embedding, F0 statistics, envelope"))
    f0_mean = models.FloatField(verbose_name=_("F0 mean"), null=True, blank=True, help_text=_("Hz"))
    f0_low = models.FloatField(verbose_name=_("F0 low"), null=True, blank=True, help_text=_("Hz, 5th percentile"))
    f0_high = models.FloatField(verbose_name=_("F0 high"), null=True, blank=True, help_text=_("Hz, 95th percentile"))
    duration = models.FloatField(verbose_name=_("duration"), null=True, blank=True, help_text=_("seconds of cleaned speech"))
    self_evaluation = models.JSONField(
        verbose_name=_("self-evaluation"), default=dict, blank=True,
        help_text=_("check sentences in the cloned voice and in its base voices before conversion, against the recording: "
                    "similarity under two speaker encoders, words misheard; empty for voices cloned before it"))
    owner = owner_field()
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now, db_index=True)

    file_lookups = ("clean_clip", "features__conversion__file")  # owned: removed with the row (echofu.stored_files)

    class Meta:
        verbose_name = _("speaker profile")
        verbose_name_plural = _("speaker profiles")
        ordering = NEWEST_FIRST
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

    speaker = models.ForeignKey(SpeakerProfile, verbose_name=_("speaker"),
                                null=True, blank=True, on_delete=models.SET_NULL, related_name="generated")
    text = models.TextField(verbose_name=_("text"), blank=True, default="")
    engine = models.CharField(verbose_name=_("engine"), max_length=32, blank=True, default="")
    pitch = models.FloatField(verbose_name=_("pitch"), default=0, help_text=_("semitones"))
    room_tone = models.BooleanField(verbose_name=_("room tone"), default=False,
                                    help_text=_("spoken with the reference recording's background under it"))
    job = models.ForeignKey("monitoring.Job", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(MediaFile.Meta):
        verbose_name = _("generated audio")
        verbose_name_plural = _("generated audios")


class IssuedVersion(models.Model):
    """The highest version number given out in one numbering scope of one account (one voice's profiles,
    one person's models of a type; echofu.versioning). Written with the row that took the number, it
    outlives the row: deleting the newest version does not give its number to the next one, which
    downloaded copies, provenance records and the owner's memory know as something else."""

    owner = owner_field()
    numbered = models.CharField(verbose_name=_("numbered rows"), max_length=64, help_text=_("the model whose rows are numbered"))
    scope = models.CharField(verbose_name=_("scope"), max_length=400, help_text=_("the fields the rows are numbered within, as JSON"))
    highest = models.PositiveIntegerField(verbose_name=_("highest version"))

    class Meta:
        verbose_name = _("issued version")
        verbose_name_plural = _("issued versions")
        # NULLs are all distinct: the ownerless scopes need a constraint of their own (as SpeakerProfile's).
        constraints = [
            models.UniqueConstraint(fields=["owner", "numbered", "scope"], name="unique_issued_version_per_owner"),
            models.UniqueConstraint(fields=["numbered", "scope"], condition=models.Q(owner__isnull=True),
                                    name="unique_ownerless_issued_version"),
        ]

    def __str__(self) -> str:
        """What was numbered, as the admin names it ("speaker profile anna v2", "talking-head model EchoLite anna v1"):
        an account's delete page lists these, where they read "assets.SpeakerProfile {"speaker_id": "anna"} v2"."""
        try:
            numbered = apps.get_model(self.numbered)._meta.verbose_name
        except (LookupError, ValueError):
            numbered = self.numbered
        try:
            within = " ".join(str(value) for value in json.loads(self.scope).values())
        except (ValueError, AttributeError):
            within = self.scope
        return f"{numbered} {within} v{self.highest}"
