from django.views.decorators.csrf import csrf_exempt

from echofu import responses


@csrf_exempt
@responses.allow_methods("POST")
def audio_clone(request):
    return responses.error("语音克隆引擎尚未启用", 501)
