"""Background checks of uploaded training videos."""

from assets import catalog
from assets.models import TrainingVideo
from echofu import paths
from engines import media
from engines.talking_head import create_engine
from monitoring import runner
from monitoring.models import Job


def start_probe(video: TrainingVideo, submit: bool = True) -> Job:
    job = runner.new_job(Job.Kind.PROBE, {"video_id": video.pk}, prefix="probe")
    TrainingVideo.objects.filter(pk=video.pk).update(probe_job=job, probe_status=TrainingVideo.ProbeStatus.PENDING)
    return runner.submit(job) if submit else job


@runner.handles(Job.Kind.PROBE)
def probe_training_video(job: Job, ctx: runner.JobContext) -> dict:
    """Container facts plus the EchoLite input check (faces, size, light, motion) stored on the row."""
    video = TrainingVideo.objects.get(pk=job.params["video_id"])
    path = paths.absolute(video.file.name)
    try:
        ctx.progress("probe", 0.05, f"probing {video.filename}")
        info = media.probe(path)
        report = create_engine("EchoLite").check_video(path)
    except Exception as exc:
        TrainingVideo.objects.filter(pk=video.pk).update(
            probe_status=TrainingVideo.ProbeStatus.FAILED, probe_error=str(exc) or type(exc).__name__
        )
        raise
    probe = {**report.stats, "errors": report.errors, "warnings": report.warnings, "usable": report.ok}
    TrainingVideo.objects.filter(pk=video.pk).update(
        probe_status=TrainingVideo.ProbeStatus.OK, probe=probe, probe_error="", **catalog.video_fields(info)
    )
    return {"video_id": video.pk, **probe}
