from django.views.decorators.csrf import csrf_exempt

from echofu import ownership, removal, responses
from echofu.uploads import form_fields_only
from engines.messages import gettext_noop
from generation.forms import GenerationRequest
from generation.jobs import start_render
from generation.models import GeneratedVideo
from limits.checks import heavy, uncounted_if
from monitoring.sync import answer_when_done


@csrf_exempt
@responses.allow_methods("POST")
@heavy("rendering")
@form_fields_only
def video_generation(request):
    form = GenerationRequest(data=request.POST, context={"request": request})
    if not form.is_valid():
        return responses.error(responses.first_error(form), 400)
    data = form.validated_data
    try:
        job, repeat = start_render(
            data["model"],
            data["gpu_choice"],
            audio_path=data.get("audio_path", ""),
            text=data["target_text"],
            speaker_id=data["speaker_id"],
            pitch=data["pitch"],
            room_tone=data["room_tone"],
            owner=request.user,
        )
    except removal.InputGone as gone:  # the model, voice or audio deleted since the form found it
        return gone.answer()
    return uncounted_if(repeat, answer_when_done(
        job, lambda done: responses.success(video_path=done.result["video_path"], message="视频生成成功", task_id=done.pk)
    ))


@csrf_exempt
@responses.allow_methods("POST")
def delete_video(request, video_id: int):
    """A rendered video, with the speech its render synthesised for it (addition)."""
    return removal.delete_answer(request, ownership.owned(GeneratedVideo.objects.filter(pk=video_id), request),
                                 gettext_noop("no such video: {id}", id=video_id))
