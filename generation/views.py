from django.views.decorators.csrf import csrf_exempt

from echofu import responses
from echofu.uploads import form_fields_only
from generation.forms import GenerationRequest
from generation.jobs import start_render
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
    return uncounted_if(repeat, answer_when_done(
        job, lambda done: responses.success(video_path=done.result["video_path"], message="视频生成成功", task_id=done.pk)
    ))
