"""/audio_clone: extract a speaker (clone mode) or speak text in a cloned voice (generate mode)."""
from django.views.decorators.csrf import csrf_exempt

from assets.voice_forms import AudioCloneRequest
from assets.voice_jobs import start_clone, start_synthesis
from echofu import removal, responses
from echofu.uploads import form_fields_only
from limits.checks import heavy, uncounted_if
from monitoring.sync import answer_when_done


@csrf_exempt
@responses.allow_methods("POST")
@heavy("synthesis")
@form_fields_only
def audio_clone(request):
    form = AudioCloneRequest(data=request.POST, context={"request": request})
    if not form.is_valid():
        return responses.error(responses.first_error(form), 400)
    data = form.validated_data
    try:
        if data["mode"] == "clone":
            job, repeat = start_clone(data["reference_path"], data["speaker_id"], owner=request.user)
            return uncounted_if(repeat, answer_when_done(job, lambda done: responses.success(
                message="说话人特征提取完成，可以用于后续音频生成", task_id=done.pk,
                speaker_id=done.result["speaker_id"], version=done.result["version"])))
        job, repeat = start_synthesis(data["generate_text"], data["speaker_id"], data["pitch"], data["engine"],
                                      reference_path=data["reference_path"], filename=data["gen_audio_id"] or data["output_filename"],
                                      room_tone=data["room_tone"], owner=request.user)
    except removal.InputGone as gone:  # the reference or voice deleted since the form found it
        return gone.answer()
    return uncounted_if(repeat, answer_when_done(job, lambda done: responses.success(
        message="音频生成成功", cloned_audio_path=done.result["cloned_audio_path"], task_id=done.pk)))
