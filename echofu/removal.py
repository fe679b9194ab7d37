"""Deleting one's own uploads, voices, speech, models, renders and chat turns from the studio (the API's
`.../delete` additions).

A row goes the way the admin deletes it: `QuerySet.delete()`, whose cascades take the rows made
from it (a training video's models, a reference's voices) and whose post_delete handlers
(echofu.stored_files) remove their files once the deletion commits. Provenance records stay, as
they do when an account is deleted: they keep answering verify_media for copies already out in the
world. What is refused is deleting a row a queued or running job still reads: the job would fail
half way, or publish a render of a model whose folder is gone.

The request that starts such a job takes turns with the deletion (`lock_inputs`): a deletion committed
between the request's form check and its job is either seen by the request, which is then refused as its
form refuses a missing row, or sees the job, and is refused itself.
"""
from __future__ import annotations

from typing import Callable

from django.db import transaction
from django.db.models import Q, QuerySet

from assets.consent import usable_profiles
from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
from assets.voice_forms import unknown_speaker
from chat.models import Turn
from echofu import ownership, paths, responses
from engines.messages import Message, gettext_noop
from generation.models import GeneratedVideo
from monitoring import repeats
from monitoring.models import Job
from training.models import TalkingHeadModel

ACTIVE = (Job.Status.QUEUED, Job.Status.RUNNING)
JobsUsing = Callable[[object], Q]  # a row -> the jobs that read it or a row deleted with it


class InputGone(LookupError):
    """A row the job would read was deleted after the request's form found it."""

    def __init__(self, field: str, reason: Message):
        super().__init__(reason)
        self.field = field
        self.reason = reason

    def message(self):
        """What the request's form says of a row it cannot find."""
        return responses.field_message(self.field, self.reason) if self.field else self.reason

    def answer(self):
        """The 400 the request's form gives a row it cannot find."""
        return responses.error(self.message(), 400)


class InUse(Exception):
    """A queued or running job reads the row, or a row deleted with it."""

    def __init__(self, job: Job):
        super().__init__(job.pk)
        self.job = job


def _speaker_jobs(profile: SpeakerProfile) -> Q:
    # Jobs name a voice by its name and take its newest version among their owner's (assets.speech.latest_profile):
    # any version may be the one they speak with. A job without an owner (an operator's command) may use anyone's.
    named = Q(params__speaker_id=profile.speaker_id, kind__in=(Job.Kind.CLONE, Job.Kind.SYNTHESIZE, Job.Kind.RENDER, Job.Kind.CHAT))
    return named if profile.owner_id is None else named & (Q(owner_id=profile.owner_id) | Q(owner__isnull=True))


def jobs_speaking_with_version(profile: SpeakerProfile) -> Q:
    """The jobs that may speak with this one version of a voice. A job speaks with the newest usable version
    there is when it looks the voice up (assets.speech.latest_profile), at some moment after it began: a
    queued job with the newest, a running one with any version that was the newest since it began. An older
    version is out of a running job's reach only where a newer one already was there when the job began.
    The voice's last version goes with the voice, so it is refused for the voice's jobs, clones included."""
    voice = SpeakerProfile.objects.filter(ownership.numbered_with(profile.owner_id), speaker_id=profile.speaker_id)
    if not voice.exclude(pk=profile.pk).exists():
        return _speaker_jobs(profile)
    speaking = _speaker_jobs(profile) & Q(kind__in=(Job.Kind.SYNTHESIZE, Job.Kind.RENDER, Job.Kind.CHAT))
    first_newer = usable_profiles(voice.filter(version__gt=profile.version)).order_by("created_at").first()
    if first_newer is None:
        return speaking
    return speaking & Q(status=Job.Status.RUNNING) & (Q(started_at__isnull=True) | Q(started_at__lt=first_newer.created_at))


def _model_jobs(model: TalkingHeadModel) -> Q:
    return Q(params__model_id=model.pk, kind__in=(Job.Kind.RENDER, Job.Kind.CHAT))


def _file_jobs(path: str) -> Q:
    """Jobs that read the audio file at `path`: a voice cloned from it, a render driven by it, a one-shot reference."""
    return Q(params__reference_path=path) | Q(params__audio_path=path) | Q(params__ref_audio_path=path)


def _reference_jobs(reference: ReferenceAudio) -> Q:
    used = _file_jobs(reference.file.name)
    for profile in reference.speakers.all():
        used |= _speaker_jobs(profile)
    return used


def _training_video_jobs(video: TrainingVideo) -> Q:
    used = Q(params__video_id=video.pk, kind__in=(Job.Kind.PROBE, Job.Kind.TRAIN))
    for model in video.models.all():
        used |= _model_jobs(model)
    return used


def _made_by_job(row: GeneratedVideo | GeneratedAudio | Turn) -> Q:
    """A render, synthesis or chat turn whose job has not ended may still be writing it."""
    return Q(pk=row.job_id) if row.job_id else Q(pk__in=[])


def _speech_jobs(speech: GeneratedAudio) -> Q:
    # A video rendered from the speech muxed its own copy of it: once no job reads the file, it can go.
    return _file_jobs(speech.file.name) | _made_by_job(speech)


JOBS_USING = {
    ReferenceAudio: _reference_jobs,
    TrainingVideo: _training_video_jobs,
    TalkingHeadModel: _model_jobs,
    SpeakerProfile: _speaker_jobs,
    GeneratedVideo: _made_by_job,
    GeneratedAudio: _speech_jobs,
    Turn: _made_by_job,
}


def job_using(row, jobs_using: JobsUsing | None = None) -> Job | None:
    """The oldest queued or running job that reads `row` or a row deleted with it, if any (among
    `jobs_using(row)`, where the caller deletes less than JOBS_USING reckons with)."""
    return Job.objects.filter((jobs_using or JOBS_USING[type(row)])(row), status__in=ACTIVE).order_by("created_at").first()


def _locked(rows: QuerySet) -> list:
    return list(rows.select_for_update(of=("self",)))


def _speaks_saved_voice(kind: str, params: dict) -> bool:
    """Whether the job speaks in the saved voice its params name (not one it extracts from a reference first)."""
    if kind == Job.Kind.SYNTHESIZE:
        return not params.get("reference_path")
    if kind == Job.Kind.RENDER:
        return bool(params.get("text"))
    return kind == Job.Kind.CHAT


# A job's audio param -> the form field its request named the audio in, as the form's own refusal names it:
# /video_generation's and /chat_system's ref_audio; /audio_clone's reference, which its form refuses unnamed.
AUDIO_FORM_FIELDS = {"reference_path": "", "audio_path": "ref_audio", "ref_audio_path": "ref_audio"}


def lock_inputs(kind: str, params: dict, owner=None) -> None:
    """In the transaction that creates a requested job (monitoring.runner.new_job): lock the rows the job
    will read, as delete_unless_in_use locks those it deletes, so that the two take turns; InputGone when
    one was deleted since the request's form found it. A row deleted with another (a model with its
    training video, a voice with its recording) is locked after that one, the order a deletion takes them
    in. On SQLite, whose IMMEDIATE transactions take turns anyway, the locks are no-ops. InputGone names the
    field the request's form names for that row (a synthesis names its voice in audio_id)."""
    mine = ownership.owner_q(owner)
    if kind == Job.Kind.TRAIN and params.get("video_id") and not _locked(TrainingVideo.objects.filter(pk=params["video_id"])):
        raise InputGone("ref_video", gettext_noop("the training video was deleted: upload it again"))
    if kind in (Job.Kind.RENDER, Job.Kind.CHAT) and params.get("model_id"):
        _locked(TrainingVideo.objects.filter(models__pk=params["model_id"]))
        if not _locked(TalkingHeadModel.objects.filter(pk=params["model_id"])):
            raise InputGone("model_param", gettext_noop("the model was deleted: choose another"))
    for name, field in AUDIO_FORM_FIELDS.items():
        audio = params.get(name)
        if audio and not paths.is_recording(audio) and not (_locked(ReferenceAudio.objects.filter(mine, file=audio))
                                                            or _locked(GeneratedAudio.objects.filter(mine, file=audio))):
            raise InputGone(field, gettext_noop("the audio is not in the library: upload the reference audio first"))
    speaker_id = params.get("speaker_id")
    if speaker_id and _speaks_saved_voice(kind, params):
        voice = SpeakerProfile.objects.filter(mine, speaker_id=speaker_id)
        _locked(ReferenceAudio.objects.filter(speakers__in=voice))
        if not _locked(voice):
            raise InputGone("audio_id" if kind == Job.Kind.SYNTHESIZE else "speaker_id", unknown_speaker(speaker_id))


def _speech_made_for(videos: list[GeneratedVideo]) -> QuerySet:
    """The speech a render from text synthesised to drive its video: made by the render's own job and
    listed nowhere else, it would be left taking its owner's quota. Kept where another video was rendered
    from it or a job still reads it."""
    speech = GeneratedAudio.objects.filter(job_id__in=[video.job_id for video in videos if video.job_id], job__kind=Job.Kind.RENDER)
    kept = [audio.pk for audio in speech
            if GeneratedVideo.objects.filter(audio_path=audio.file.name).exclude(pk__in=[video.pk for video in videos]).exists()
            or Job.objects.filter(params__audio_path=audio.file.name, status__in=ACTIVE).exists()]
    return speech.exclude(pk__in=kept)


def delete_unless_in_use(rows: QuerySet, by=None, jobs_using: JobsUsing | None = None) -> dict[str, int] | None:
    """Delete `rows` with what goes with them; {model label: rows deleted}, None when there were none.
    InUse, and nothing deleted, when a queued or running job reads any of them (see job_using). `by`
    (the deleting request or user): their requests of the last moments are not answered again with what they made."""
    with transaction.atomic():
        found = list(rows.select_for_update(of=("self",)))
        if not found:
            return None
        for row in found:
            job = job_using(row, jobs_using)
            if job is not None:
                raise InUse(job)
        deleted: dict[str, int] = {}
        if rows.model is GeneratedVideo:
            _, deleted = _speech_made_for(found).delete()
        _, counts = rows.model.objects.filter(pk__in=[row.pk for row in found]).delete()
        for label, count in counts.items():
            deleted[label] = deleted.get(label, 0) + count
        if by is not None:
            repeats.forget_succeeded(by)
    return {label: count for label, count in deleted.items() if count}


def delete_answer(request, rows: QuerySet, missing: Message, jobs_using: JobsUsing | None = None):
    """The endpoint's answer: success with what was deleted, 404 `missing` when the user owns none of `rows`,
    409 naming the job that still uses them."""
    try:
        deleted = delete_unless_in_use(rows, request, jobs_using)
    except InUse as refusal:
        job = refusal.job
        return responses.error(gettext_noop("still in use by the job {task_id}: cancel it or wait until it ends", task_id=job.pk),
                               409, task_id=job.pk, state=job.status)
    if deleted is None:
        return responses.error(missing, 404)
    return responses.success(gettext_noop("deleted"), deleted=deleted)
