"""Voice jobs: extract a speaker from a recording; speak text in a cloned voice."""
from assets import speech
from echofu import paths
from engines.progress import scaled
from monitoring import estimates, repeats, runner
from monitoring.models import Job


def start_clone(reference_path: str, speaker_id: str, owner=None) -> tuple[Job, bool]:
    """(job, repeat): the same request again moments later (monitoring.repeats) gets the first one's job."""
    params = {"reference_path": reference_path, "speaker_id": speaker_id,
              "workload": estimates.workload(Job.Kind.CLONE, "reference_seconds", estimates.media_seconds(reference_path))}
    # A reference is an upload with its consent (assets.voice_forms.reference_audio), never the browser
    # recording that each /save_audio replaces: its path names it.
    key = repeats.request_key(reference=reference_path, speaker_id=speaker_id)
    return repeats.start_once(Job.Kind.CLONE, owner, key, lambda: runner.new_job(Job.Kind.CLONE, params, owner=owner, prefix="clone"))


def start_synthesis(text: str, speaker_id: str, pitch: float, engine: str, reference_path: str = "", filename: str = "",
                    room_tone: bool = False, owner=None) -> tuple[Job, bool]:
    """(job, repeat), as start_clone."""
    asked = {"text": text, "speaker_id": speaker_id, "pitch": pitch, "engine": engine,
             "reference_path": reference_path, "filename": filename, "room_tone": room_tone}
    # a one-shot request analyses its reference first: another pace than a saved voice's
    params = {**asked, "workload": estimates.workload(Job.Kind.SYNTHESIZE, "characters", len(text), engine or "default",
                                                      "one-shot" if reference_path else "saved voice")}
    key = repeats.request_key(**asked)  # the reference by its path, as start_clone's
    return repeats.start_once(Job.Kind.SYNTHESIZE, owner, key, lambda: runner.new_job(Job.Kind.SYNTHESIZE, params, owner=owner, prefix="tts"))


@runner.handles(Job.Kind.CLONE)
def clone_speaker(job: Job, ctx: runner.JobContext) -> dict:
    profile = speech.extract_speaker(job.params["reference_path"], job.params["speaker_id"], job, ctx.progress, job.owner_id)
    return {"speaker_id": profile.speaker_id, "version": profile.version, "f0_mean": profile.f0_mean,
            "clean_clip": paths.public_path(profile.clean_clip.name)}


@runner.handles(Job.Kind.SYNTHESIZE)
def synthesize_speech(job: Job, ctx: runner.JobContext) -> dict:
    """Generate mode; with a reference path (one-shot), that recording is analysed first."""
    speaker_id = job.params["speaker_id"]
    progress = ctx.progress
    if job.params.get("reference_path"):
        reference = job.params["reference_path"]
        profile = speech.latest_profile(speaker_id, job.owner_id)
        if profile is None or profile.reference_path != reference:
            speech.extract_speaker(reference, speaker_id, job, scaled(ctx.progress, 0.0, 0.4), job.owner_id, evaluate=False)
        progress = scaled(ctx.progress, 0.4, 1.0)
    audio = speech.synthesize(job.params["text"], speaker_id, job.params.get("pitch", 0.0), job, progress,
                              engine=job.params.get("engine"), filename=job.params.get("filename", ""),
                              room_tone=job.params.get("room_tone", False))
    return {"cloned_audio_path": audio.relative_path, "audio_id": audio.pk, "speaker_id": speaker_id,
            "duration": audio.duration, "engine": audio.engine}
