from datetime import datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from echofu import paths
from echofu.messages import localized, restored
from echofu.ordering import NEWEST_FIRST
from echofu.ownership import owner_field


# Less progress than this tells nothing of a job's pace: a stage's first report (a probe's 10 % before
# its face check, a chat turn's as its LLM starts) times its cheapest part, and 1 % extrapolated a
# hundredfold.
PACE_FROM = 0.1


def seconds_left(elapsed: float, fraction: float) -> float | None:
    """The time left at the pace so far; None until there is enough progress to tell."""
    return elapsed * (1 - fraction) / fraction if fraction >= PACE_FROM else None


def logged_at(stamp: str) -> datetime | None:
    """The instant a log line's stamp names; None for the server's HH:MM:SS that lines logged before
    their instant was kept have (their day and zone are not known), and for none."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def log_line(stamp: str | None, text: str) -> str:
    """A log line as the admin shows it: its time on the server's clock."""
    if not stamp:
        return text
    moment = logged_at(stamp)
    return f"[{timezone.localtime(moment):%H:%M:%S}] {text}" if moment else f"[{stamp}] {text}"


def log_fields(entries: list) -> dict:
    """Job's log (the text the admin shows) and log_messages for `entries`, [time, kept message] pairs."""
    return {"log": "\n".join(log_line(stamp, restored(kept)) for stamp, kept in entries), "log_messages": entries}


def workdir_of(job_id: str) -> str:
    """Media-relative folder of a job's work: the inputs kept for it while it waits, then its temporary files."""
    return f"{paths.TMP}/jobs/{job_id}"


class Job(models.Model):
    """One unit of background work (training, rendering, voice, chat, probing) and where it stands."""

    class Kind(models.TextChoices):
        PROBE = "probe", _("probe training video")
        TRAIN = "train", _("train talking-head model")
        RENDER = "render", _("render video")
        CLONE = "clone", _("extract speaker")
        SYNTHESIZE = "synthesize", _("synthesize speech")
        CHAT = "chat", _("chat turn")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.CharField(verbose_name=_("ID"), primary_key=True, max_length=64)
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=Kind.choices, db_index=True)
    status = models.CharField(verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(verbose_name=_("stage"), max_length=64, blank=True, default="queued")
    progress = models.FloatField(verbose_name=_("progress"), default=0.0)
    eta_seconds = models.FloatField(verbose_name=_("time left (s)"), null=True, blank=True)
    log = models.TextField(verbose_name=_("log"), blank=True, default="", help_text=_("the log tail as text, in English"))
    log_messages = models.JSONField(verbose_name=_("log (templates)"), default=list, blank=True,
                                    help_text=_("the same lines as [time, message as its template and values or its text], shown translated"))
    params = models.JSONField(verbose_name=_("params"), default=dict, blank=True)
    result = models.JSONField(verbose_name=_("result"), default=dict, blank=True)
    error = models.TextField(verbose_name=_("error"), blank=True, default="")
    error_message = models.JSONField(verbose_name=_("error (template)"), null=True, blank=True,
                                     help_text=_("the error as its template and values, shown translated (echofu.messages)"))
    failed_on_input = models.BooleanField(verbose_name=_("failed on its input"), default=False,
                                          help_text=_("what the user gave could not be used (a reference with no speech in it): "
                                                      "theirs to change, not a fault of the server's"))
    device = models.CharField(verbose_name=_("device"), max_length=16, default="cpu", help_text=_("cpu or cuda:N"))
    queue = models.CharField(verbose_name=_("queue"), max_length=32, default="interactive", db_index=True,
                             help_text=_("the django-q2 cluster that runs it: interactive, cpu or gpuN"))
    cancel_requested = models.BooleanField(verbose_name=_("cancel requested"), default=False)
    server_stopping = models.BooleanField(verbose_name=_("server stopping"), default=False,
                                          help_text=_("its server was told to stop while it ran: killed at the end "
                                                      "of the grace period, it was stopped, not crashed"))
    worker = models.CharField(verbose_name=_("worker"), max_length=128, blank=True, default="", help_text=_("host:pid running it"))
    owner = owner_field()
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(verbose_name=_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(verbose_name=_("last heartbeat"), null=True, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = NEWEST_FIRST
        indexes = [models.Index(fields=["queue", "status", "created_at"])]

    file_lookups = ()  # its work folder is its own (echofu.stored_files)

    def __str__(self) -> str:
        return f"{self.id} ({self.get_kind_display()}, {self.get_status_display()})"

    def owned_files(self) -> list[str]:
        """A queued job's work folder, the inputs kept for it: deleted with the row, they would stay
        on disk for good. A running job's worker clears its own folder when it stops, which it does
        at its next report (it finds no row), and may still need it for that: a model that cannot be
        registered moves back into it."""
        return [workdir_of(self.pk)] if self.status == self.Status.QUEUED else []

    @property
    def kept_error(self) -> dict | str:
        """The error as echofu.messages reads it: its template and values when it has them, else its text."""
        return self.error_message or self.error

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    def queue_position(self) -> int | None:
        """1 for the next job to start in its queue; None once it runs or ends."""
        if self.status != self.Status.QUEUED:
            return None
        return Job.objects.filter(queue=self.queue, status=self.Status.QUEUED, created_at__lt=self.created_at).count() + 1

    def log_entries(self, lines: int | None = 50) -> list[tuple[str | None, str]]:
        """The last lines (None: all kept) in the active language, as (the instant logged, ISO with its
        offset, text); a line with no instant (logged before it was kept) has None, and its text
        begins with the time it has (rows logged before log_messages: their text)."""
        start = None if lines is None else -lines
        if not self.log_messages:
            return [(None, line) for line in self.log.splitlines()[start:]]
        return [(stamp, localized(kept)) if logged_at(stamp) else (None, log_line(stamp, localized(kept)))
                for stamp, kept in self.log_messages[start:]]

    def log_tail(self, lines: int | None = 50) -> list[str]:
        """log_entries as text, each line with its time on the server's clock."""
        return [log_line(stamp, text) for stamp, text in self.log_entries(lines)]

    def elapsed_seconds(self) -> float | None:
        if not self.started_at:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


class RequestGate(models.Model):
    """A row that requests without an account lock to take turns at the repeat check (monitoring.repeats),
    as an account's requests lock their account's row: a lock that holds on PostgreSQL, where writers,
    unlike SQLite's, run at once."""

    name = models.CharField(_("name"), max_length=32, primary_key=True)

    class Meta:
        verbose_name = _("request gate")
        verbose_name_plural = _("request gates")
