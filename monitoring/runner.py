"""Runs Job rows inside django-q2 workers: ids, queues, heartbeat, progress, cancel, recovery.

Every kind of background work registers a handler with `@handles(kind)`; a handler gets
the Job and a JobContext (its private work dir, device, progress callback) and returns the
JSON result. Handlers build their output in `ctx.workdir` and move it into place only when
complete, so a job that dies leaves nothing half-written registered.

A job waits in its django-q2 queue (settings.JOB_QUEUES: one cluster each), never in a
worker: the cluster's worker count is the queue's capacity, so a worker that gets a task
runs it at once. The Job row is claimed with one conditional UPDATE (queued -> running), which
makes a redelivered or duplicated task harmless: only one execution ever runs a job.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import traceback
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from pathlib import Path
from typing import Callable

import psutil
from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.exceptions import TimeoutException
from django_q.tasks import async_task

from echofu import paths
from echofu.messages import as_users_read, reason_of, stored, template_of
from echofu.uploads import discard_abandoned_uploads
from engines import media
from engines.messages import UnusableInput, gettext_noop
from engines.progress import Cancelled
from monitoring import estimates, shutdown
from monitoring.models import Job, log_fields, seconds_left, workdir_of

logger = logging.getLogger(__name__)

Handler = Callable[[Job, "JobContext"], dict]
_handlers: dict[str, Handler] = {}

# How often progress is written to the database at most (stage changes and log lines always are).
PROGRESS_WRITE_INTERVAL = 0.5


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        _handlers[kind] = function
        return function

    return register


def _config(name: str):
    return settings.ECHOFU[name]


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_workdir(job_id: str) -> Path:
    return paths.absolute(workdir_of(job_id))


def queue_for(kind: str, device: str = "cpu") -> str:
    """Trainings queue for their device (gpuN, or the CPU training queue); all else is interactive."""
    if kind != Job.Kind.TRAIN:
        return settings.INTERACTIVE_QUEUE
    gpu_queue = f"gpu{device.partition(':')[2]}" if device.startswith("cuda") else ""
    return gpu_queue if gpu_queue in settings.GPU_QUEUES else settings.CPU_QUEUE


def new_job(kind: str, params: dict, *, device: str = "cpu", queue: str | None = None, owner=None, prefix: str | None = None) -> Job:
    """Create the row with a readable id: `<prefix>_YYYYMMDD_HHMMSS`, suffixed `_2`, `_3`... on collision.

    `queue` defaults to the one its kind and device belong to (`queue_for`). A job queued with a
    workload gets its estimated duration from it (monitoring.estimates); a queued job's eta_seconds
    is that estimate, as a training's is its own.

    The rows the job will read are locked first, until the caller's transaction commits, and
    echofu.removal.InputGone raised when one was deleted since the request checked it: a deletion then
    either finds the job and is refused, or came first and the job is never made."""
    from echofu.removal import lock_inputs  # removal reads jobs through monitoring.repeats, which imports this module

    queue = queue or queue_for(kind, device)
    params = estimates.with_estimate(kind, params)
    if queue not in settings.JOB_QUEUES:
        raise ValueError(f"unknown job queue {queue!r}; configured: {', '.join(settings.JOB_QUEUES)}")
    stamp = timezone.localtime().strftime("%Y%m%d_%H%M%S")
    base = f"{prefix or kind}_{stamp}"
    owner = owner if getattr(owner, "is_authenticated", False) else None
    with transaction.atomic():
        lock_inputs(kind, params, owner)
        for attempt in range(1, 1000):
            job_id = base if attempt == 1 else f"{base}_{attempt}"
            try:
                with transaction.atomic():
                    return Job.objects.create(
                        id=job_id, kind=kind, params=params, device=device, queue=queue, eta_seconds=params.get("estimated_seconds"),
                        owner=owner,
                    )
            except IntegrityError:
                continue
    raise RuntimeError("no free job id")


def submit(job: Job) -> Job:
    """Hand the job to its queue's cluster (runs inline when Q_CLUSTER['sync'] is set)."""
    async_task("monitoring.runner.execute", job.id, task_name=job.id, cluster=job.queue, sync=_inline())
    return job


def restore_queue(queue: str) -> int:
    """Put the queue's waiting jobs back on the broker in their order, after a worker died.

    A dead cluster may have taken tasks off the broker ahead of its workers (Redis pops them;
    the ORM broker hides them until `retry`). Emptying the queue and sending every queued job
    again loses none of them and keeps the order; a copy still held by a live cluster is
    skipped when it comes up, because its job is no longer queued."""
    if _inline():
        return 0
    get_broker(queue).purge_queue()
    waiting = list(Job.objects.filter(queue=queue, status=Job.Status.QUEUED).order_by("created_at", "id"))
    for job in waiting:
        submit(job)
    return len(waiting)


def ended(status: str, **fields) -> dict:
    """The update that ends a job, however it ends: an ETA left from its last progress report (or
    the training estimate) would read as time still to wait, so every finished job has 0 left."""
    return {"status": status, "finished_at": timezone.now(), "eta_seconds": 0, **fields}


def request_cancel(job: Job) -> Job | None:
    """Queued jobs are cancelled at once; running ones stop at their next progress report. The job
    as it stands then, or None when its row was deleted meanwhile (in the admin)."""
    with transaction.atomic():
        updated = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            **ended(Job.Status.CANCELLED, stage="cancelled", cancel_requested=True)
        )
        if not updated:
            Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(cancel_requested=True)
    if updated:  # never claimed now: the inputs kept for it at request time go
        shutil.rmtree(job_workdir(job.pk), ignore_errors=True)
    try:
        job.refresh_from_db()
    except Job.DoesNotExist:
        return None
    return job


def wait_for(job_id: str, timeout: float, poll: float = 0.2) -> Job | None:
    """The job once it has ended, or as it stands after `timeout` seconds or once this server is told
    to stop (see _stop_ends_the_wait); None once its row is deleted (a curator in the admin may delete
    it while a request waits)."""
    deadline = time.monotonic() + timeout
    job = Job.objects.filter(pk=job_id).first()
    while job is not None and not job.is_finished and time.monotonic() < deadline and not _stop_ends_the_wait(job):
        time.sleep(poll)
        job = Job.objects.filter(pk=job_id).first()
    return job


def _stop_ends_the_wait(job: Job) -> bool:
    """In a server told to stop, a job not begun waits for the next start, and a running one has until the
    end of the grace period: the request answers before the server is killed."""
    if not shutdown.stop_requested():
        return False
    return job.status == Job.Status.QUEUED or time.monotonic() >= shutdown.answer_deadline(_config("STOP_GRACE_SECONDS"))


# --- inside the worker -------------------------------------------------------------------


@dataclass
class JobContext:
    job_id: str
    workdir: Path
    device: str
    progress: _Reporter
    log: Callable[[str], None]
    warnings: list[str] = field(default_factory=list)

    @property
    def stage(self) -> str:
        """The stage this worker last reported: the job row's reads "failed" once recovery has ended it."""
        return self.progress.stage


def _claimed(job: Job):
    """The job's row while it is still this execution's: running, under the worker and start it was
    claimed with. Another worker may have recovered it as stale meanwhile (this one's heartbeats lost
    in a database outage) and a user run it again: this worker's late writes then change nothing."""
    return Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, worker=job.worker, started_at=job.started_at)


class Superseded(Cancelled):
    """The job is no longer this worker's (recovered by another worker, or deleted): the worker stops
    as at a cancel, and publishes nothing."""


@contextmanager
def holding_claim(job: Job):
    """The transaction that saves a job's output rows, begun only while the job is still this worker's
    (see _claimed), else Superseded: a job recovered meanwhile reads failed, or runs again elsewhere,
    and must not gain a model, video or voice from its lost worker. The check writes the heartbeat,
    which holds the job's row until the rows commit (SQLite's write lock, PostgreSQL's row lock):
    recovery then finds the job heard of just now and leaves it (see recover_stale_jobs)."""
    with transaction.atomic():
        if not _claimed(job).update(heartbeat_at=timezone.now()):
            logger.warning("job %s is no longer running under this worker (recovered by another worker, or deleted): "
                           "its output is not published and its files are removed", job.pk)
            raise Superseded(f"job {job.pk} was superseded")
        yield


class _Reporter:
    """The progress callback handed to engines: throttled DB writes, ETA, log tail, cancel."""

    def __init__(self, job: Job):
        self.job_id = job.pk
        self.claim = _claimed(job)
        self.started = time.monotonic()
        self.last_write = 0.0
        self.stage = ""
        # [time, message kept as its template or text]; a log written before log_messages goes on as text
        self.entries: list[list] = list(job.log_messages) or [["", line] for line in job.log.splitlines()]
        self.max_lines = _config("LOG_TAIL_LINES")

    def log(self, message: str) -> None:
        stamp = timezone.now().isoformat(timespec="seconds")  # an instant: each page shows it in its own zone
        kept = stored(message)
        lines = [kept] if isinstance(kept, dict) else [line for line in message.splitlines() if line.strip()]
        self.entries.extend([stamp, line] for line in lines)
        del self.entries[: -self.max_lines]
        self.claim.update(**log_fields(self.entries))

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if message:
            self.log(message)
        if stage == self.stage and not message and now - self.last_write < PROGRESS_WRITE_INTERVAL:
            return
        self.stage, self.last_write = stage, now
        fraction = min(max(float(fraction), 0.0), 1.0)
        eta = seconds_left(now - self.started, fraction)
        self.claim.update(stage=stage[:64], progress=fraction, eta_seconds=eta)
        # A job whose row was deleted (in the admin) stops as a cancelled one: nobody could follow or
        # cancel it any more, yet it held its worker to the end (a training for hours) for output
        # that could not name it. So does one recovered by another worker: it has ended already.
        if not self.claim.filter(cancel_requested=False).exists():
            raise Cancelled(f"job {self.job_id} was cancelled")


class _Heartbeat(threading.Thread):
    def __init__(self, job: Job):
        super().__init__(daemon=True, name=f"heartbeat-{job.pk}")
        self.job_id = job.pk
        self.claim = _claimed(job)
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(_config("HEARTBEAT_SECONDS")):
                try:
                    beat = {"heartbeat_at": timezone.now()}
                    if shutdown.stop_requested():
                        # Killed at the end of the grace period, the job reads as stopped with the server, not crashed.
                        beat["server_stopping"] = True
                    self.claim.update(**beat)
                except Exception:  # a locked or dropped database must not end the beat while the job runs on
                    logger.warning("heartbeat of job %s not written", self.job_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()


def _claim(job_id: str) -> Job | None:
    """The job, now running in this process; None when it was cancelled, already ran or runs elsewhere."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, stage="starting", started_at=now, heartbeat_at=now, worker=worker_identity()
    )
    return Job.objects.get(pk=job_id) if claimed else None


def failed_with(reason: str) -> dict:
    """The fields that record a job's failure: its text, and its template and values when it has them
    (shown in the reader's language, see echofu.messages). Users read them, so the server's paths and
    the addresses and keys of the servers it calls are left out (the server log has them)."""
    reason = as_users_read(reason)
    return {"stage": "failed", "error": str(reason), "error_message": template_of(reason)}


def failed_on_input(exc: BaseException) -> bool:
    """Whether what the user gave could not be used (engines.messages.UnusableInput), raised as it is or as
    the cause of a stage's failure (a chat turn's recording with no speech in it)."""
    return isinstance(exc, UnusableInput) or isinstance(exc.__cause__, UnusableInput)


def describe_failure(exc: BaseException) -> str:
    """The job's error line (the engine's Message when it raised one); a full disk says so, whichever
    library hit it. Called before the job's work folder is removed, while the disk it filled is still full."""
    text = reason_of(exc) or type(exc).__name__
    if paths.filled_the_media_volume(exc):
        return gettext_noop("disk full: no space left on the media volume ({media_root}) while the job wrote its files; "
                            "nothing was registered, free some space and run it again ({reason})",
                            media_root=str(settings.MEDIA_ROOT), reason=text)
    return text


def describe_interruption(exc: BaseException, queue: str) -> str:
    """The error line of a job stopped from outside its handler: django-q2's time limit (raised in the
    worker as a SystemExit), or the worker told to stop."""
    if isinstance(exc, TimeoutException):
        setting = "ECHOFU_INTERACTIVE_TIMEOUT" if queue == settings.INTERACTIVE_QUEUE else "ECHOFU_JOB_TIMEOUT"
        return gettext_noop("timed out: {reason} ({setting} sets the limit); its partial output was discarded",
                            reason=str(exc) or gettext_noop("the queue time limit was reached"), setting=setting)
    return gettext_noop("the worker running this job was stopped ({exception}); its partial output was discarded",
                        exception=type(exc).__name__)


def _inline() -> bool:
    """Jobs run inside the caller's process (Q_CLUSTER['sync']): keep its DB connection."""
    return bool(settings.Q_CLUSTER.get("sync"))


def execute(job_id: str) -> str:
    """The django-q2 task: run one job to its end and record how it ended."""
    if not _inline():
        close_old_connections()
    if shutdown.stop_requested():
        return _put_back(job_id)
    recover_stale_jobs()
    job = _claim(job_id)
    if job is None:
        return "skipped"
    handler = _handlers.get(job.kind)
    reporter = _Reporter(job)
    workdir = job_workdir(job.pk)
    workdir.mkdir(parents=True, exist_ok=True)
    # Inline (sync) execution has no separate worker that could die, so no heartbeat.
    heartbeat = None if _inline() else _Heartbeat(job)
    if heartbeat:
        heartbeat.start()
    context = JobContext(job.pk, workdir, job.device, reporter, reporter.log)
    escaping: BaseException | None = None
    try:
        if handler is None:
            raise RuntimeError(f"no handler for jobs of kind {job.kind!r}")
        # Files stored before ECHOFU_MAX_VIDEO_SIDE was checked (or lowered) are refused, not decoded.
        with media.frame_sides_at_most(settings.ECHOFU["MAX_VIDEO_SIDE"]):
            result = handler(job, context) or {}
        ending = Job.Status.SUCCEEDED, {"stage": "done", "progress": 1.0, "error": "", "error_message": None, "result": result}
    except Cancelled:
        reporter.log(gettext_noop("cancelled"))
        ending = Job.Status.CANCELLED, {"stage": "cancelled"}
    except Exception as exc:  # the job records every failure; the worker lives on
        if failed_on_input(exc):  # the user's to change: its reason says all, a traceback would only bury it
            reporter.log(reason_of(exc))
            logger.info("job %s could not use its input: %s", job.pk, exc)
            ending = Job.Status.FAILED, {**failed_with(reason_of(exc)), "failed_on_input": True}
        else:
            reporter.log(traceback.format_exc(limit=8))
            failure = describe_failure(exc)
            logger.exception("job %s failed: %s", job.pk, failure)
            ending = Job.Status.FAILED, failed_with(failure)
    except BaseException as exc:  # recorded as the job's end, then left to the worker, whose exception it is
        ending = Job.Status.FAILED, failed_with(describe_interruption(exc, job.queue))
        escaping = exc
    finally:
        if heartbeat:
            heartbeat.stopped.set()
            heartbeat.join(timeout=5)
        # Cleaned up before the end is recorded: whoever sees the job ended sees no leftovers.
        shutil.rmtree(workdir, ignore_errors=True)
    status, fields = ending
    if not _claimed(job).update(**ended(status, **fields)) and Job.objects.filter(pk=job.pk).exists():
        logger.warning("job %s ended %s here after another worker had recorded its end; that record is kept", job.pk, status)
    if escaping is not None:
        raise escaping
    return status


def _put_back(job_id: str) -> str:
    """A stopping cluster still hands out the tasks it took off the broker ahead of its workers; begun
    now, the job would be killed at the end of the grace period. It stays queued, back on the broker
    in its place, and runs at the next start."""
    queue = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).values_list("queue", flat=True).first()
    if queue is None:
        return "skipped"
    restore_queue(queue)
    return "put back"


# --- recovery ------------------------------------------------------------------------------


def _worker_is_local(job: Job) -> bool:
    host, _, pid = job.worker.rpartition(":")
    return host == socket.gethostname() and pid.isdigit()


def _worker_alive(job: Job) -> bool:
    """Whether this machine's worker process that claimed the job still lives."""
    pid = job.worker.rpartition(":")[2]
    try:
        process = psutil.Process(int(pid))
        # A recycled pid belongs to a process started after the job was claimed.
        return process.create_time() <= job.started_at.timestamp() + 1 and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _clock(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


# Rows failed before the reasons below were told apart keep this template: listed, it stays in the
# translation catalog, and those rows still read in the reader's language.
_EARLIER_LOST_WORKER_REASON = gettext_noop("the worker running this job stopped (killed or crashed); its partial output was discarded")


def _lost_worker_reason(job: Job, on_this_machine: bool) -> str:
    """Why the job's worker is gone, as far as the records tell: the server's stop (its grace period
    ran out), a machine that booted since the job was last heard of, a server that started since
    (`serve` killed outright: no stop was recorded), else a worker that died alone (the kernel's
    out-of-memory killer, a crash). A worker elsewhere only stopped sending heartbeats."""
    last_heard_of = job.heartbeat_at or job.started_at or job.created_at
    if job.server_stopping:
        return gettext_noop("the server was stopped before this job finished (ECHOFU_STOP_GRACE_SECONDS gives running jobs time "
                            "to finish); its partial output was discarded, run it again")
    if not on_this_machine:
        return gettext_noop("the worker running this job on another machine was last heard of at {last_heard_of} (stopped, or its "
                            "machine or network was lost); its partial output was discarded, run it again",
                            last_heard_of=_clock(last_heard_of))
    booted = datetime.fromtimestamp(psutil.boot_time(), dt_timezone.utc)
    if last_heard_of < booted:
        return gettext_noop("the machine restarted while this job ran (power loss or reboot: booted at {booted}, the job's worker "
                            "was last heard of at {last_heard_of}); its partial output was discarded, run it again",
                            booted=_clock(booted), last_heard_of=_clock(last_heard_of))
    server_started = shutdown.server_started_at()
    if last_heard_of < server_started:
        return gettext_noop("the server stopped while this job ran (killed outright: its worker was last heard of at {last_heard_of}, "
                            "the server started again at {server_started}); its partial output was discarded, run it again",
                            last_heard_of=_clock(last_heard_of), server_started=_clock(server_started))
    return gettext_noop("the worker running this job stopped while the server ran on (killed, often for lack of memory, or crashed) "
                        "after {last_heard_of}; its partial output was discarded, run it again", last_heard_of=_clock(last_heard_of))


DISCARDED_SUFFIX = ".discarded"


def recover_stale_jobs() -> list[str]:
    """Mark failed the running jobs whose worker died (killed, crashed, machine lost), then put
    the jobs waiting in those queues back on the broker (the dead cluster may have held some).
    Partial uploads of web servers that died go too, and work folders an earlier recovery set aside:
    nothing else ever looks for them."""
    for upload in discard_abandoned_uploads():
        logger.warning("deleted the abandoned partial upload %s", upload.name)
    for left_aside in (paths.absolute(paths.TMP) / "jobs").glob(f"*{DISCARDED_SUFFIX}"):  # a recovery killed before it deleted them
        shutil.rmtree(left_aside, ignore_errors=True)
    stale_before = timezone.now() - timedelta(seconds=_config("STALE_AFTER_SECONDS"))
    recovered = []
    for job in Job.objects.filter(status=Job.Status.RUNNING):
        # A job claimed under this process's own host:pid is checked too: after a container restart it
        # may be a dead process's (same host name, same small pid), and skipped it would run forever.
        on_this_machine = _worker_is_local(job)
        if on_this_machine:
            # A live local worker runs the job still: a missed heartbeat there is a slow database, not a death.
            stopped = not _worker_alive(job)
        else:
            stopped = job.heartbeat_at is None or job.heartbeat_at < stale_before
        if stopped and _fail_lost_job(job, _lost_worker_reason(job, on_this_machine)):
            recovered.append(job.pk)
    if recovered:
        logger.warning("marked %d stale job(s) failed: %s", len(recovered), ", ".join(recovered))
        for queue in set(Job.objects.filter(pk__in=recovered).values_list("queue", flat=True)):
            logger.warning("restored %d waiting job(s) of queue %s", restore_queue(queue), queue)
    return recovered


def _fail_lost_job(job: Job, reason: str) -> bool:
    """Record the job failed, only as last heard of: a worker that published its output since
    (holding_claim) is alive, and its work folder stays its own. Whether the failure applied."""
    workdir = job_workdir(job.pk)
    discarded = workdir.with_name(f"{workdir.name}{DISCARDED_SUFFIX}")
    with transaction.atomic():
        if not _claimed(job).filter(heartbeat_at=job.heartbeat_at).update(**ended(Job.Status.FAILED, **failed_with(reason))):
            return False
        # Moved aside before the failure commits, so whoever sees the job failed finds no partial output;
        # deleted after it, so the database is not held while a training's frames go.
        with suppress(FileNotFoundError):  # none made yet, or its worker removed it as the job ended
            workdir.rename(discarded)
    shutil.rmtree(discarded, ignore_errors=True)
    return True


def on_worker_spawn(sender, proc_name=None, **kwargs) -> None:
    if _inline():
        return
    close_old_connections()
    try:
        recover_stale_jobs()
    except Exception:  # a failed check must not stop the worker from starting
        logger.exception("stale job recovery failed")
