"""Background checks of uploaded training videos."""
import time

from django.db import transaction

from assets import catalog
from assets.models import TrainingVideo
from echofu import paths
from echofu.messages import as_users_read, reason_of, stored, template_of
from echofu.ownership import acting_user
from engines import media
from engines.face_tracking import FaceAnalyzer
from engines.messages import gettext_noop
from engines.talking_head import MODEL_TYPES
from monitoring import estimates, runner
from monitoring.models import Job


def settled_probe(video: TrainingVideo, timeout: float) -> TrainingVideo:
    """The row once its probe has ended, or as it stands after `timeout` seconds.

    A probe whose job ended without a verdict (cancelled, deleted in the admin, its worker lost, the
    queue's time limit) says nothing about the video, so it is run again, within the same time; so is
    one never run (`scan_media --no-probe`)."""
    if video.probe_status != TrainingVideo.ProbeStatus.PENDING:
        return video
    deadline = time.monotonic() + timeout
    job = runner.wait_for(video.probe_job_id, timeout) if video.probe_job_id else None
    video.refresh_from_db()
    if video.probe_status == TrainingVideo.ProbeStatus.PENDING and (job is None or job.is_finished) and video.probe_job_id == (job and job.pk):
        runner.wait_for(start_probe(video).pk, max(0.0, deadline - time.monotonic()))
        video.refresh_from_db()
    return video


def rerun_probes_without_verdict(videos: list[TrainingVideo]) -> None:
    """Check again the videos whose probe ended without a verdict (its worker lost, cancelled, the
    queue's time limit): they read 'pending' for good otherwise, and the training page waits on them.
    `videos` come with their probe_job, so a listing with none pending costs no query."""
    for video in videos:
        if video.probe_status == TrainingVideo.ProbeStatus.PENDING and video.probe_job and video.probe_job.is_finished:
            start_probe(video)
            video.refresh_from_db()


def upload_check(video: TrainingVideo) -> str:
    """The id of the check an uploaded video is followed by: the one its row has started already, unless
    that one failed (sending the video again is how its owner retries it), else a new one. The same video
    sent twice at once is one row (catalog._stored_row), and both requests saw it without a check: deciding
    is one step, the owner's requests taking turns, so the second follows the first's check instead of
    starting another of the same bytes."""
    from monitoring.repeats import take_turns  # monitoring's runner imports this module through the job handlers

    with transaction.atomic():
        take_turns(acting_user(video.owner))
        video.refresh_from_db(fields=["probe_job", "probe_status"])
        if video.probe_job_id and video.probe_status != TrainingVideo.ProbeStatus.FAILED:
            return video.probe_job_id
        job = start_probe(video, submit=False)
    return runner.submit(job).pk  # once committed: a worker must find the row


def start_probe(video: TrainingVideo, submit: bool = True) -> Job:
    job = runner.new_job(Job.Kind.PROBE, {"video_id": video.pk, "workload": probe_workload(video)}, owner=video.owner, prefix="probe")
    TrainingVideo.objects.filter(pk=video.pk).update(probe_job=job, probe_status=TrainingVideo.ProbeStatus.PENDING)
    return runner.submit(job) if submit else job


def probe_workload(video: TrainingVideo) -> dict:
    """A check reads the whole video; one whose length the upload could not tell counts as one video."""
    if video.duration:
        return estimates.workload(Job.Kind.PROBE, "video_seconds", video.duration)
    return estimates.workload(Job.Kind.PROBE, "video", 1)


@runner.handles(Job.Kind.PROBE)
def probe_training_video(job: Job, ctx: runner.JobContext) -> dict:
    """Container facts plus every model type's own input check, stored on the row.

    The top-level errors/warnings/stats are the default model type's (EchoLite: faces, size,
    light, motion); `checks` holds each model type's verdict for /model_training."""
    from training.engines import get_engine

    video = TrainingVideo.objects.get(pk=job.params["video_id"])
    path = paths.absolute(video.file.name)
    try:
        # named as its owner knows it: the stored file (anna_3.mp4) hints at other accounts' uploads
        ctx.progress("probe", 0.05, gettext_noop("probing {video}", video=video.display_name))
        info = media.probe(path)
        reports = {}
        analyzer = FaceAnalyzer()  # loaded once for every model type's check
        for index, model_type in enumerate(MODEL_TYPES):
            ctx.progress("check", 0.1 + 0.9 * index / len(MODEL_TYPES), gettext_noop("{model_type} input check", model_type=model_type))
            reports[model_type] = get_engine(model_type).check_video(path, analyzer)
        report = reports[MODEL_TYPES[0]]
    except Exception as exc:
        # Its owner reads it (the training page, /model_training's refusal): no server path, and in their language.
        reason = as_users_read(reason_of(exc) or type(exc).__name__)
        TrainingVideo.objects.filter(pk=video.pk).update(
            probe_status=TrainingVideo.ProbeStatus.FAILED, probe_error=str(reason), probe_error_message=template_of(reason)
        )
        raise
    checks = {model_type: verdict(found) for model_type, found in reports.items()}
    probe = {**report.stats, **verdict(report), "checks": checks}
    TrainingVideo.objects.filter(pk=video.pk).update(
        probe_status=TrainingVideo.ProbeStatus.OK, probe=probe, probe_error="", probe_error_message=None, **catalog.video_fields(info)
    )
    # The findings are read from the row, in the reader's language (/api/training-videos).
    return {"video_id": video.pk, **report.stats, "usable": report.ok}


def verdict(report) -> dict:
    """A model type's check as the row keeps it: findings with their templates, to be shown translated."""
    return {
        "errors": [stored(error) for error in report.errors],
        "warnings": [stored(warning) for warning in report.warnings],
        "usable": report.ok,
    }
