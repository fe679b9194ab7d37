"""Training jobs: run an engine in the job's private work dir, then register the model."""
import os

from assets.models import TrainingVideo
from echofu import paths
from echofu.messages import restored, stored
from engines.messages import Message, gettext_noop
from engines.talking_head import CPU_FALLBACK, TrainParams
from engines.talking_head.external import FPS
from monitoring import estimates, repeats, runner
from monitoring.devices import usable_device
from monitoring.models import Job, log_fields
from training import registry
from training.engines import get_engine


def start_training(model_type: str, video: TrainingVideo, device: str, epochs: int | None, custom: dict, owner=None) -> tuple[Job, bool]:
    """(job, repeat): the same form sent again moments later (monitoring.repeats) gets the first one's training."""
    device, warning = usable_device(device, CPU_FALLBACK[model_type])
    key = repeats.request_key(model_type=model_type, video=video.pk, device=device, epochs=epochs, custom=custom)
    return repeats.start_once(Job.Kind.TRAIN, owner, key,
                              lambda: _queued_training(model_type, video, device, warning, epochs, custom, owner))


def prepare_training(model_type: str, video: TrainingVideo, device: str, epochs: int | None, custom: dict, owner=None) -> Job:
    """The queued Job row, not yet handed to the workers; its device decides its queue (gpuN or cpu)."""
    device, warning = usable_device(device, CPU_FALLBACK[model_type])
    return _queued_training(model_type, video, device, warning, epochs, custom, owner)


def _queued_training(model_type: str, video: TrainingVideo, device: str, warning: Message | str, epochs: int | None, custom: dict, owner) -> Job:
    """prepare_training once the device is decided (`device`, and `warning` when it is not the one asked for)."""
    params = {
        "model_type": model_type,
        "video_id": video.pk,
        "ref_video": video.relative_path,
        "video_name": video.display_name,  # how its owner knows it, should it be deleted before the job runs
        "epochs": epochs,
        "custom_params": custom,
        "requested_device": device,
        "device_warning": stored(warning),
    }
    job_workload = training_workload(model_type, video, device, epochs, custom)
    if job_workload:
        params["workload"] = job_workload
    job = runner.new_job(Job.Kind.TRAIN, params, device=device, owner=owner, prefix="train")
    if "estimated_seconds" in job.params:
        Job.objects.filter(pk=job.pk).update(**log_fields([["", stored(estimate_line(job.params["estimated_seconds"]))]]))
        job.refresh_from_db()
    return job


def estimate_line(seconds: float) -> Message:
    """The training's expected length in the unit it is read in: the epoch field allows 100000, which is days."""
    if seconds < 90 * 60:
        return gettext_noop("estimated duration: about {minutes:.1f} min", minutes=seconds / 60)
    if seconds < 48 * 3600:
        return gettext_noop("estimated duration: about {hours:.1f} h", hours=seconds / 3600)
    return gettext_noop("estimated duration: about {days:.1f} days", days=seconds / 86400)


def training_workload(model_type: str, video: TrainingVideo, device: str, epochs: int | None, custom: dict) -> dict | None:
    """What the training's time grows with, for the estimate learned from this server's finished trainings
    of the same engine on the same kind of device (monitoring.estimates): EchoLite's own estimate from the
    frames and epochs, apart for runs that fit their epochs to a time budget; ER-NeRF's and SyncTalk's
    iterations. None where the video's length is unknown, the engine plans its work neither way, or the
    custom parameters plan no stages (the training says why when it starts)."""
    if not video.duration:
        return None
    engine = get_engine(model_type)
    if hasattr(engine, "estimate_training_seconds"):
        return estimates.workload(Job.Kind.TRAIN, estimates.ENGINE_SECONDS, round(engine.estimate_training_seconds(video.duration, epochs, device)),
                                  model_type, estimates.device_class(device), "epochs" if epochs else "time_budget")
    if not hasattr(engine, "planned_iterations"):
        return None
    try:
        iterations = engine.planned_iterations(TrainParams(epochs=epochs, device=device, extra=custom), round(video.duration * FPS))
    except ValueError:
        return None
    return estimates.workload(Job.Kind.TRAIN, "iterations", iterations, model_type, estimates.device_class(device))


def _train_params(job: Job) -> TrainParams:
    custom = dict(job.params.get("custom_params") or {})
    lr = custom.pop("lr", None)
    batch_size = custom.pop("batch_size", None)
    return TrainParams(
        epochs=job.params.get("epochs"),
        lr=float(lr) if lr else None,
        batch_size=int(batch_size) if batch_size else None,
        device=job.device,
        extra=custom,
    )


@runner.handles(Job.Kind.TRAIN)
def train_model(job: Job, ctx: runner.JobContext) -> dict:
    model_type = job.params["model_type"]
    video = TrainingVideo.objects.filter(pk=job.params["video_id"]).first()
    if video is None:  # deleted by its owner while the job waited in the queue
        raise LookupError(gettext_noop("the training video {name} was deleted before the training began; nothing was trained",
                                       name=job.params.get("video_name") or os.path.basename(job.params["ref_video"])))
    if job.params.get("device_warning"):
        ctx.log(restored(job.params["device_warning"]))
    # The video as its owner knows it: the stored file (anna_2.mp4) hints at other accounts' uploads.
    ctx.progress("prepare", 0.0, gettext_noop("training {model_type} on {video} ({device})", model_type=model_type, video=video.display_name,
                                              device=job.device))
    result = get_engine(model_type).train(paths.absolute(video.file.name), ctx.workdir, _train_params(job), ctx.progress)
    for warning in result.warnings:
        ctx.log(gettext_noop("warning: {warning}", warning=warning))
    ctx.progress("register", 1.0)
    if not TrainingVideo.objects.filter(pk=video.pk).exists():
        raise RuntimeError(gettext_noop("the training video {name} was deleted while the model trained; the model was not kept",
                                        name=video.display_name))
    model = registry.register(
        model_type,
        job.pk,
        result.model_dir,
        job=job,
        person=video.display_name,
        source_video=video,
        params={"epochs": job.params.get("epochs"), "custom_params": job.params.get("custom_params"), "device": job.device},
        metrics=result.metrics,
        warnings=[stored(warning) for warning in result.warnings],
        owner_id=job.owner_id,
    )
    return {"model_path": model.public_dir, "model_id": model.pk, "model_label": model.display_label, "metrics": model.metrics, "warnings": model.warnings}
