import logging

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from chat import pipeline
from chat.forms import ChatRequest
from chat.models import Turn
from chat.recording import RECORDING_NAME, save_recording
from chat.serializers import turn_json
from echofu import ownership, paths, removal, responses
from echofu.messages import reason_of, restored
from echofu.uploads import UploadRejected, form_fields_only, limit_uploads, read_uploaded_file
from engines.messages import gettext_noop
from limits.checks import heavy, uncounted_if
from monitoring import repeats, runner, shutdown, sync
from monitoring.models import Job

logger = logging.getLogger(__name__)

# HTTP status of a failed turn by the stage that failed: the caller's input, or our side.
STAGE_STATUS = {Turn.Stage.INPUT: 400, Turn.Stage.ASR: 422, Turn.Stage.LLM: 502, Turn.Stage.TTS: 500, Turn.Stage.RENDER: 500}


@csrf_exempt
@responses.allow_methods("POST")
def save_audio(request):
    limit_uploads(request, settings.ECHOFU["MAX_AUDIO_BYTES"])
    try:
        relative = save_recording(read_uploaded_file(request, "audio"), ownership.recordings_folder(request))
    except UploadRejected as exc:
        return responses.error(reason_of(exc), 400)
    except Exception as exc:
        logger.exception("saving the recording failed")
        return responses.server_failure(gettext_noop("the recording could not be saved"), exc)
    return responses.success("音频保存成功", path=paths.public_path(relative))


@csrf_exempt
@responses.allow_methods("POST")
@heavy("chat")
@form_fields_only
def chat_system(request):
    """Recording (or typed text) -> transcript -> reply -> voice -> video, as one Job of kind chat."""
    form = ChatRequest(data=request.POST, context={"request": request})
    if not form.is_valid():
        return responses.error(responses.first_error(form), 400)
    data = form.validated_data
    owner = ownership.acting_user(request)
    recording = "" if data["text"] else f"{ownership.recordings_folder(request)}/{RECORDING_NAME}"
    try:
        if recording and not paths.absolute(recording).is_file():
            repeats.new_work_allowed()  # over the rate limit: refused, no failed turn recorded
            turn = pipeline.new_turn(data, owner)
            pipeline.record_failure(turn, Turn.Stage.INPUT, gettext_noop("no recording: upload one with /save_audio first, or give text"))
            return _failure(turn)
        job, repeat = pipeline.start_turn(data, owner, recording)
    except removal.InputGone as gone:  # its conversation, model or voice deleted since the form found it
        return gone.answer()
    return uncounted_if(repeat, _answer(job, data["wait"]))


def _answer(job: Job, wait: bool) -> JsonResponse:
    """The contract's answer once the turn's job ends, or 202 with the turn to poll (at once without `wait`)."""
    finished = runner.wait_for(job.pk, settings.ECHOFU["SYNC_WAIT_SECONDS"]) if wait else job
    turn = Turn.objects.select_related("job").filter(pk=job.params["turn_id"]).first()
    if turn is None or (finished is None and turn.status != Turn.Status.SUCCEEDED):
        return _deleted(turn, job.pk)
    if not wait:
        return _processing(turn, 202)
    turn = pipeline.settle_with_job(turn)
    if turn.status == Turn.Status.SUCCEEDED:
        # The contract's `response`, unlike its other paths, starts at the root ("/static/videos/..."): the
        # contract says the frontend joins returned paths to the server's address, this one as it comes.
        return responses.success("对话生成成功", response="/" + paths.public_path(turn.reply_video.name), **turn_json(turn))
    if turn.status == Turn.Status.FAILED:
        return _failure(turn)
    if shutdown.stop_requested():
        return sync.server_stopping(job.pk, turn_id=turn.pk, turn_url=f"/api/chat/turns/{turn.pk}")
    return _processing(turn, 202)


def _failure(turn: Turn) -> JsonResponse:
    body = turn_json(turn)
    body.pop("error")
    if turn.job_id and turn.job.status == Job.Status.CANCELLED:  # as the other waiting endpoints answer a cancel
        return responses.error(sync.JOB_CANCELLED, 409, **body)
    return responses.error(pipeline.stage_failure(turn.error_stage, restored(turn.kept_error)), STAGE_STATUS.get(turn.error_stage, 500), **body)


def _deleted(turn: Turn | None, task_id: str) -> JsonResponse:
    """The turn, or its job, deleted meanwhile (in the admin): no worker will end the turn now."""
    if turn is None:
        return sync.job_deleted(task_id)
    if turn.status == Turn.Status.RUNNING:
        pipeline.record_failure(turn, turn.error_stage or Turn.Stage.ASR, sync.JOB_DELETED)
        turn.refresh_from_db()
    body = turn_json(turn)
    body.pop("error")
    return sync.job_deleted(**{**body, "task_id": task_id})


def _processing(turn: Turn, code: int) -> JsonResponse:
    body = {"status": "processing", "message": "对话生成中, 可查询已生成的句子片段", "turn_url": f"/api/chat/turns/{turn.pk}",
            **turn_json(turn)}
    return JsonResponse(body, status=code, json_dumps_params={"ensure_ascii": False})


@responses.allow_methods("GET")
def turn_detail(request, turn_id: int):
    """A turn as it stands: the sentence videos ready so far, then the joined answer."""
    turn = ownership.readable(Turn.objects, request, field="conversation__owner").select_related("job").filter(pk=turn_id).first()
    if turn is None:
        return responses.error(no_such_turn(turn_id), 404)
    return responses.success(**turn_json(pipeline.settle_with_job(turn)))


def no_such_turn(turn_id: int):
    return gettext_noop("no such conversation turn: {turn_id}", turn_id=turn_id)


@csrf_exempt
@responses.allow_methods("POST")
def delete_turn(request, turn_id: int):
    """A chat turn: its recording, answer audio and videos (addition)."""
    return removal.delete_answer(request, ownership.owned(Turn.objects.filter(pk=turn_id), request, field="conversation__owner"),
                                 no_such_turn(turn_id))
