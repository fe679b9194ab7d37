import logging

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt

from chat.forms import ChatRequest
from chat.recording import save_recording
from echofu import ownership, paths, responses
from echofu.uploads import UploadRejected, limit_uploads, read_uploaded_file
from limits.checks import heavy

logger = logging.getLogger(__name__)


@csrf_exempt
@responses.allow_methods("POST")
def save_audio(request):
    limit_uploads(request, settings.ECHOFU["MAX_AUDIO_BYTES"])
    try:
        relative = save_recording(read_uploaded_file(request, "audio"), ownership.recordings_folder(request))
    except UploadRejected as exc:
        return responses.error(str(exc), 400)
    except Exception as exc:
        logger.exception("saving the recording failed")
        return responses.error(f"音频保存失败: {exc}", 500)
    return responses.success("音频保存成功", path=paths.public_path(relative))


@csrf_exempt
@responses.allow_methods("POST")
@heavy("chat")
def chat_system(request):
    form = ChatRequest(data=request.POST)
    if not form.is_valid():
        return responses.error(responses.first_error(form.errors), 400)
    return responses.error("对话功能尚未启用: 语音识别与大模型引擎还未配置", 501)
