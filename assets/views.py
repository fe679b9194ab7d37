import logging

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from echofu.responses import allow_methods

from assets import catalog, consent, jobs
from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
from echofu import ownership, removal, responses
from echofu.middleware import busy_database_answer
from echofu.messages import reason_of
from echofu.uploads import UploadRejected, limit_uploads, read_uploaded_file
from engines.messages import Message, gettext_noop
from limits.checks import QuotaExceeded, quota_refusal

logger = logging.getLogger(__name__)


def _store_upload(request, field: str, limit_bytes: int, model, save, failure: Message):
    """(row, None) when stored, or the same file's earlier upload; (None, error response) otherwise.
    Only a file that will be stored is weighed against the quota: taking an earlier upload again stores nothing."""
    limit_uploads(request, limit_bytes)
    try:
        upload = read_uploaded_file(request, field)
        statement = consent.statement_from(request)
        earlier = catalog.uploaded_before(model, upload, request.user, consented=bool(statement))
        if earlier is not None:
            return earlier, None
        if catalog.revoked_before(model, upload, request.user) is not None:
            return None, responses.error(consent.REVOKED_FILE_SENT_AGAIN, 403)
        over_quota = quota_refusal(request, upload.size)  # before the file is moved and probed; weighed again as it is saved
        if over_quota is not None:
            return None, over_quota
        return save(upload, request.user, **statement), None
    except QuotaExceeded as exc:  # another upload of the account's was saved meanwhile
        return None, exc.response()
    except consent.ConsentMissing as exc:
        return None, responses.error(reason_of(exc), 400, **({"consent_missing": exc.missing} if exc.missing else {}))
    except UploadRejected as exc:
        return None, responses.error(reason_of(exc), 400)
    except Exception as exc:
        logger.exception("upload failed")
        return None, busy_database_answer(exc) or responses.server_failure(failure, exc)


def _uploaded(asset, message: str, **extra):
    return responses.success(
        message,
        filename=asset.filename,
        relative_path=asset.relative_path,
        original_name=asset.original_name,
        id=asset.pk,
        **extra,
    )


@csrf_exempt
@allow_methods("POST")
def upload_reference_audio(request):
    audio, failed = _store_upload(request, "audio", settings.ECHOFU["MAX_AUDIO_BYTES"], ReferenceAudio, catalog.save_reference_audio,
                                   gettext_noop("audio upload failed"))
    return failed or _uploaded(audio, "音频上传成功")


@csrf_exempt
@allow_methods("POST")
def upload_training_video(request):
    video, failed = _store_upload(request, "video", settings.ECHOFU["MAX_VIDEO_BYTES"], TrainingVideo, catalog.save_training_video,
                                   gettext_noop("video upload failed"))
    return failed or _uploaded(video, "视频上传成功", probe_task_id=jobs.upload_check(video))


def _listing(rows, describe):
    try:
        files = catalog.listed(rows, describe)
    except Exception:
        logger.exception("listing failed")
        return responses.server_failure(gettext_noop("the file list could not be read"), files=[], total_count=0)
    return responses.success(files=files, total_count=len(files))


@allow_methods("GET")
def reference_audios(request):
    return _listing(ownership.owned(ReferenceAudio.objects.all(), request), catalog.file_info)


@allow_methods("GET")
def training_videos(request):
    videos = list(ownership.owned(TrainingVideo.objects.select_related("probe_job"), request))
    jobs.rerun_probes_without_verdict(videos)
    return _listing(videos, catalog.training_video_info)


@allow_methods("GET")
def cloned_audios(request):
    profiles = consent.usable_profiles(ownership.owned(SpeakerProfile.objects.all(), request))
    audios = catalog.voices(profiles)
    return responses.success(audios=audios, total_count=len(audios))


@csrf_exempt
@allow_methods("POST")
def delete_reference_audio(request, audio_id: int):
    """With the voices cloned from it (addition)."""
    return removal.delete_answer(request, ownership.owned(ReferenceAudio.objects.filter(pk=audio_id), request),
                                 gettext_noop("no such reference audio: {id}", id=audio_id))


@csrf_exempt
@allow_methods("POST")
def delete_training_video(request, video_id: int):
    """With the models trained from it (addition)."""
    return removal.delete_answer(request, ownership.owned(TrainingVideo.objects.filter(pk=video_id), request),
                                 gettext_noop("no such training video: {id}", id=video_id))


@csrf_exempt
@allow_methods("POST")
def delete_speaker(request, speaker_id: str):
    """Every version of the voice, as /api/cloned-audios lists it by name (addition)."""
    return removal.delete_answer(request, ownership.owned(SpeakerProfile.objects.filter(speaker_id=speaker_id), request),
                                 gettext_noop("no such speaker: {speaker_id}", speaker_id=speaker_id))


@csrf_exempt
@allow_methods("POST")
def delete_generated_audio(request, audio_id: int):
    """Synthesised speech (`audio_id` in /api/history/audio_clone); videos rendered from it keep their own copy (addition)."""
    return removal.delete_answer(request, ownership.owned(GeneratedAudio.objects.filter(pk=audio_id), request),
                                 gettext_noop("no such synthesised speech: {id}", id=audio_id))


@csrf_exempt
@allow_methods("POST")
def delete_speaker_version(request, speaker_id: str, version: int):
    """One version of the voice, as the `versions` of /api/cloned-audios list it; its last one, the voice (addition)."""
    return removal.delete_answer(
        request, ownership.owned(SpeakerProfile.objects.filter(speaker_id=speaker_id, version=version), request),
        gettext_noop("no such version of {speaker_id}: v{version}", speaker_id=speaker_id, version=version),
        jobs_using=removal.jobs_speaking_with_version)
