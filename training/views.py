from django.views.decorators.csrf import csrf_exempt

from assets.consent import usable_models
from echofu import ownership, paths, removal, responses
from echofu.uploads import form_fields_only
from engines.messages import Message, gettext_noop
from engines.talking_head import model_type_named, unknown_model_type
from limits.checks import heavy, uncounted_if
from training import registry
from training.engines import all_availability
from training.forms import TrainingRequest, ignored_custom_params, refusal
from training.jobs import start_training
from training.models import TalkingHeadModel


@responses.allow_methods("GET")
def available_models(request):
    rows = usable_models(ownership.owned(TalkingHeadModel.objects.all(), request))
    models = [registry.model_summary(model) for model in rows if model.exists()]
    return responses.success(models=models, total_count=len(models), engines=all_availability(request))


def no_such_model(model_type: str, model_name: str) -> Message:
    return gettext_noop("no such model: {path}", path=f"{model_type}/{model_name}")


@responses.allow_methods("GET")
def model_details(request, model_type: str, model_name: str):
    named = model_type_named(model_type)  # the spellings model_choice takes ("ER_NeRF" from the training page)
    if named is None:
        return responses.error(unknown_model_type(model_type), 400)
    model_type = named
    if model_name == "root":
        if not ownership.is_operator(request):
            return responses.error(no_such_model(model_type, model_name), 404)  # it lists every user's files
        directory = paths.absolute(f"{paths.MODELS}/{model_type}")
        summary = {"name": "root", "type": model_type, "path": paths.public_path(f"{paths.MODELS}/{model_type}")}
    else:
        model = registry.find_model(f"{paths.MODELS}/{model_type}/{model_name}", model_type, request)
        if model is None:
            return responses.error(no_such_model(model_type, model_name), 404)
        directory, summary = model.directory(), registry.model_summary(model)
    if not directory.is_dir():
        return responses.error(gettext_noop("the model folder does not exist: {path}", path=f"{model_type}/{model_name}"), 404)
    return responses.success(model_details=registry.details(directory, summary))


@csrf_exempt
@responses.allow_methods("POST")
@heavy("training")
@form_fields_only
def model_training(request):
    form = TrainingRequest(data=request.POST, context={"request": request})
    if not form.is_valid():
        return responses.error(responses.first_error(form), 400)
    data = form.validated_data
    refused = refusal(data, request)
    if refused:
        return responses.error(refused, 400)
    try:
        job, repeat = start_training(
            data["model_choice"], data["ref_video"], data["gpu_choice"], data["epoch"], data["custom_params"], request.user
        )
    except removal.InputGone as gone:  # the video deleted since the form found it
        return gone.answer()
    return uncounted_if(repeat, responses.success("模型训练开始", task_id=job.pk, status_url=f"/api/train-status/{job.pk}",
                                                  **ignored_custom_params(data["model_choice"], data["custom_params"])))


@csrf_exempt
@responses.allow_methods("POST")
def delete_model(request, model_id: int):
    """A trained model and its folder (addition); the videos rendered with it stay."""
    return removal.delete_answer(request, ownership.owned(TalkingHeadModel.objects.filter(pk=model_id), request),
                                 gettext_noop("no such model: {id}", id=model_id))
