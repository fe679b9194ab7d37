"""Render jobs: (speech from text, when asked) -> engine render -> GeneratedVideo row."""
import shutil
from pathlib import Path

from django.utils import timezone

from assets.models import ReferenceAudio
from echofu import paths
from echofu.messages import restored, stored
from echofu.ordering import NEWEST_FIRST
from echofu.ownership import owned
from echofu.uploads import claim_unique_path
from engines.progress import scaled
from engines.talking_head import CPU_FALLBACK
from generation.models import GeneratedVideo
from monitoring import estimates, history, repeats, runner
from monitoring.devices import usable_device
from monitoring.models import Job
from provenance.download_names import download_name, download_names
from provenance.stamping import asked_label_language, finish_video, publishing, video_label
from training.engines import get_engine, render
from training.models import TalkingHeadModel
from training.registry import model_for_job

KEPT_RECORDING = "recording.wav"  # in the job's folder: the browser recording it was asked with


def start_render(model: TalkingHeadModel, device: str, audio_path: str = "", text: str = "", speaker_id: str = "", pitch: float = 0.0,
                 room_tone: bool = False, owner=None) -> tuple[Job, bool]:
    """(job, repeat): the same request again moments later (monitoring.repeats) gets the first one's render."""
    with repeats.as_asked(audio_path) as (audio, recording):
        key = repeats.request_key(model=model.pk, device=device, audio=audio, text=text, speaker_id=speaker_id, pitch=pitch,
                                  room_tone=room_tone, **asked_label_language())  # a label in another language: another video
        return repeats.start_once(Job.Kind.RENDER, owner, key,
                                  lambda: prepare_render(model, device, audio_path, text, speaker_id, pitch, room_tone, owner, recording))


def prepare_render(model: TalkingHeadModel, device: str, audio_path: str = "", text: str = "", speaker_id: str = "", pitch: float = 0.0,
                   room_tone: bool = False, owner=None, recording: Path | None = None) -> Job:
    """The queued Job row, not yet handed to the workers; `room_tone`: the speech made from `text` gets the speaker's recording's background.
    `recording`: the request's copy of a browser recording `audio_path` names (repeats.as_asked), which the job keeps."""
    device, warning = usable_device(device, CPU_FALLBACK[model.model_type])
    params = {
        "model_id": model.pk,
        "model_type": model.model_type,
        "audio_path": audio_path,
        "text": text,
        "speaker_id": speaker_id,
        "pitch": pitch,
        "room_tone": room_tone,
        "device_warning": stored(warning),
        "workload": render_workload(model.model_type, device, audio_path, text),
        **asked_label_language(),
    }
    job = runner.new_job(Job.Kind.RENDER, params, device=device, owner=owner, prefix="render")
    if recording is not None:
        # The browser's recording is one file that the next /save_audio replaces: a render waiting in
        # the queue speaks the recording it was asked with, not whatever was recorded since.
        kept = runner.job_workdir(job.pk)
        kept.mkdir(parents=True, exist_ok=True)
        shutil.move(recording, kept / KEPT_RECORDING)
    return job


def render_workload(model_type: str, device: str, audio_path: str, text: str) -> dict | None:
    """A render's time grows with its speech: the recording's seconds, or the characters it first speaks."""
    if text:
        return estimates.workload(Job.Kind.RENDER, "characters_rendered", len(text), model_type, estimates.device_class(device))
    return estimates.workload(Job.Kind.RENDER, "speech_seconds", estimates.media_seconds(audio_path), model_type,
                              estimates.device_class(device))


def _speech_for(job: Job, ctx: runner.JobContext) -> str:
    """Media-relative path of the driving audio, synthesising it from text when asked."""
    if not job.params.get("text"):
        return job.params["audio_path"]
    from assets.speech import synthesize

    generated = synthesize(
        job.params["text"], job.params.get("speaker_id", ""), job.params.get("pitch", 0.0), job,
        scaled(ctx.progress, 0.0, 0.3), room_tone=job.params.get("room_tone", False),
    )
    return generated.file.name


@runner.handles(Job.Kind.RENDER)
def render_video(job: Job, ctx: runner.JobContext) -> dict:
    model = model_for_job(job.params["model_id"])
    if job.params.get("device_warning"):
        ctx.log(restored(job.params["device_warning"]))
    audio_path = _speech_for(job, ctx)
    started = timezone.now()
    temp_out = ctx.workdir / "render.mp4"
    # The last tenth is publishing: labelling the frames, where the engine did not, re-encodes them all.
    progress = scaled(ctx.progress, 0.3 if job.params.get("text") else 0.0, 0.9)
    kept = ctx.workdir / KEPT_RECORDING
    driving = kept if kept.is_file() else paths.absolute(audio_path)
    label = video_label(job, ctx.log)
    result = render(get_engine(model.model_type), model.directory(), driving, temp_out, progress, job.device, label)
    target = claim_unique_path(paths.absolute(paths.RES_VIDEOS), f"{model.name}_{timezone.localtime().strftime('%Y%m%d_%H%M%S')}.mp4")
    with publishing(job, target) as keep:
        stamp = finish_video(temp_out, target, job, model, audio_path, scaled(ctx.progress, 0.9, 1.0),  # label, record, marker
                             label=label, labelled=result.labelled)
        relative = paths.relative_to_media(target)
        _, video = keep(stamp, GeneratedVideo(
            file=relative,
            original_name=target.name,
            size=target.stat().st_size,
            duration=result.duration,
            model=model,
            model_type=model.model_type,
            audio_path=audio_path,
            text=job.params.get("text", ""),
            speaker_id=job.params.get("speaker_id", ""),
            width=result.width,
            height=result.height,
            frames=result.frames,
            timings={**result.timings, "total": (timezone.now() - started).total_seconds()},
            job=job,
            owner_id=job.owner_id,
        ))
    return {"video_path": video.relative_path, "video_id": video.pk, "audio_path": paths.public_path(audio_path), "timings": video.timings,
            "download_name": download_name(stamp)}


@history.provides("video_generation")
def video_history(request=None) -> list[dict]:
    videos = list(owned(GeneratedVideo.objects.select_related("model"), request).order_by(*NEWEST_FIRST)[: history.LIMIT])
    # A reference is stored under a name of its own (anna_3.wav when anna.wav was taken): the
    # pages title a render by the name its audio was uploaded as.
    uploaded_as = dict(ReferenceAudio.objects.filter(file__in={video.audio_path for video in videos if video.audio_path})
                       .values_list("file", "original_name"))
    names = download_names(video.file.name for video in videos)
    return [
        {
            "task_id": video.job_id,
            "video_id": video.pk,  # what /api/generated-videos/<id>/delete takes (addition)
            "type": "video_generation",
            "status": "succeeded",
            "timestamp": video.created_at.isoformat(),
            "video_path": video.relative_path,
            "download_name": names[video.file.name],  # what the pages' download links save it as (addition)
            "model_name": video.model_type,
            "model_param": video.model.public_dir if video.model else "",
            "model_label": video.model.display_label if video.model else "",
            "audio_path": paths.public_path(video.audio_path) if video.audio_path else "",
            "audio_name": uploaded_as.get(video.audio_path, ""),
            "text": video.text,
            "duration": video.duration,
            "size_mb": round(video.size / (1024 * 1024), 2),
            "width": video.width,
            "height": video.height,
            "timings": video.timings,
            "ai_generated": video.ai_generated,
            "available": video.exists(),
        }
        for video in videos
    ]
