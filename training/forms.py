"""Validation of the /model_training form (DRF serializers, documented field names)."""
import math
import re

from django.conf import settings
from rest_framework import serializers

from assets import consent
from assets.jobs import settled_probe
from assets.models import TrainingVideo
from echofu import ownership, paths
from echofu.messages import reason_of, restored
from echofu.responses import invalid, message_fields
from engines.messages import gettext_noop
from engines.talking_head import model_type_named, unknown_model_type
from monitoring.devices import parse_gpu_choice
from echofu.availability import reason_for
from training.engines import availability, get_engine

PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
MAX_EPOCHS = 100_000
MAX_CUSTOM_PARAMS_CHARS = 1000


def known_model_type(name: str) -> str:
    """The model type a form's field names, in any spelling the pages send ("ER_NeRF"); else the field's error."""
    model_type = model_type_named(name)
    if model_type is None:
        raise invalid(unknown_model_type(name))
    return model_type


def valid_gpu_choice(choice: str) -> str:
    """The device a form's gpu_choice names ("GPU0" -> "cuda:0", "CPU" -> "cpu"); else the field's error."""
    try:
        return parse_gpu_choice(choice)
    except ValueError as exc:
        raise invalid(reason_of(exc))


def parse_custom_params(text: str) -> dict[str, str]:
    """`lr=0.001,batch_size=4` -> {"lr": "0.001", "batch_size": "4"}; ValueError when malformed, whose
    reason is read after the field's name ("custom_params: lr must be ..."), so it does not name it again."""
    if len(text or "") > MAX_CUSTOM_PARAMS_CHARS:
        raise ValueError(gettext_noop("longer than {most} characters", most=MAX_CUSTOM_PARAMS_CHARS))
    params: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in re.split(r"[,;\n]", text or ""))):
        key, separator, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not separator or not PARAM_NAME.match(key) or not value:
            raise ValueError(gettext_noop("entry '{item}' is not name=value", item=item))
        params[key] = value
    if "lr" in params:
        try:
            if not 0 < float(params["lr"]) < math.inf:  # "nan" and "1e309" parse as floats too
                raise ValueError
        except ValueError:
            raise ValueError(gettext_noop("lr must be a positive number")) from None
    if "batch_size" in params and not (params["batch_size"].isdigit() and int(params["batch_size"]) > 0):
        raise ValueError(gettext_noop("batch_size must be a positive integer"))
    return params


def ignored_custom_params(model_type: str, custom: dict[str, str]) -> dict:
    """The answer's fields on the custom_params names this model type does not read: `ignored_params`, and
    a `warning` naming them and those it takes when there are any. The contract leaves the names free
    (§10; its own example's batch_size is one ER-NeRF has no use for), so they are not refused, but a
    misspelt name would otherwise train with the default unseen."""
    accepted = get_engine(model_type).custom_param_names
    ignored = [name for name in custom if name not in accepted]
    if not ignored:
        return {"ignored_params": []}
    warning = gettext_noop("custom_params: {model_type} does not use {ignored} (it takes: {accepted}); ignored",
                           model_type=model_type, ignored=", ".join(ignored), accepted=", ".join(accepted))
    return {"ignored_params": ignored, **message_fields(warning, "warning")}


def find_training_video(value: str, user=None) -> TrainingVideo:
    try:
        relative = paths.resolve_request_path(value, must_exist=False)
    except paths.PathRejected as exc:
        raise invalid(gettext_noop("invalid video path: {reason}", reason=reason_of(exc)))
    video = ownership.owned(TrainingVideo.objects.filter(file=relative), user).first()
    if video is None or not video.exists():
        raise invalid(gettext_noop("the video is not in the library: upload the training video first"))
    return video


class TrainingRequest(serializers.Serializer):
    model_choice = serializers.CharField()
    ref_video = serializers.CharField()
    gpu_choice = serializers.CharField(required=False, default="GPU0")
    epoch = serializers.CharField(required=False, allow_blank=True, default="")
    custom_params = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_model_choice(self, value):
        return known_model_type(value)

    def validate_ref_video(self, value):
        """The video once its upload probe has ended (waiting a bounded time for it)."""
        video = find_training_video(value, self.context.get("request"))
        try:
            consent.require_usable(video, consent.TRAINING_VIDEO)
        except consent.ConsentMissing as exc:
            raise invalid(reason_of(exc))
        video = settled_probe(video, settings.ECHOFU["PROBE_WAIT_SECONDS"])
        if video.probe_status == TrainingVideo.ProbeStatus.FAILED:
            raise invalid(gettext_noop("the video check failed: {reason}", reason=restored(video.kept_probe_error)))
        if video.probe_status == TrainingVideo.ProbeStatus.PENDING:
            raise invalid(gettext_noop("the upload's video check is still running (job {job}): try again shortly", job=video.probe_job_id))
        return video

    def validate_gpu_choice(self, value):
        return valid_gpu_choice(value)

    def validate_epoch(self, value):
        if value in ("", None):
            return None
        if not re.fullmatch(r"[0-9]{1,6}", str(value).strip()) or not 0 < int(value) <= MAX_EPOCHS:
            raise invalid(gettext_noop("must be a whole number from 1 to {most}", most=MAX_EPOCHS))
        return int(value)

    def validate_custom_params(self, value):
        try:
            return parse_custom_params(value)
        except ValueError as exc:
            raise invalid(reason_of(exc))


def refusal(data: dict, request_or_user) -> str | None:
    """Why a valid request still cannot train, None when it can: the chosen model type's own input
    check refuses the video (not another engine's), or this machine cannot run that model type.

    A check outside the serializer, whose errors would keep only the text: the refusal is translated
    for the page (see echofu.responses.message_fields)."""
    model_type = data["model_choice"]
    reasons = data["ref_video"].errors_for(model_type)
    if reasons:
        return gettext_noop("ref_video: the video does not suit {model_type} training: {reasons}", model_type=model_type, reasons=reasons)
    usable, reason = availability(model_type)
    return None if usable else reason_for(reason, request_or_user)
