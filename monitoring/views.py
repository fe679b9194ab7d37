import re

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from echofu import ownership, responses
from echofu.messages import as_users_read, localized, localized_within
from engines.messages import gettext_noop
from monitoring import forecast, history, runner, sync
from monitoring.models import Job
from monitoring.system import system_status

TASK_MISSING = gettext_noop("no such task")
HISTORY_TYPE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def job_info(job: Job, log_lines: int = 50, forecasts: dict[str, forecast.Forecast] | None = None) -> dict:
    """The job as /api/tasks shows it; `forecasts` from forecast.forecasts_for, when a list asks for many."""
    timing = forecast.of(job) if forecasts is None else forecasts[job.pk]
    return {
        "task_id": job.pk,
        "kind": job.kind,
        "state": job.status,
        "stage": job.stage,
        "progress": round(job.progress, 4),
        "eta_seconds": _rounded(timing.left),
        "queue_position": job.queue_position(),
        "starts_in_seconds": _rounded(timing.starts_in),
        "ends_in_seconds": _rounded(timing.ends_in),
        "estimate": None if timing.estimate is None else {"seconds": _rounded(timing.estimate.seconds),
                                                          "learned_from": timing.estimate.learned_from},
        "past_estimate_seconds": _rounded(timing.past_estimate_by),
        "start_unknown_reason": timing.start_unknown_because,
        "device": job.device,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "elapsed_seconds": job.elapsed_seconds(),
        "cancel_requested": job.cancel_requested,
        "log_tail": [as_users_read(line) for line in job.log_tail(log_lines)],  # the admin shows the full log
        "error": localized(job.kept_error),
        "params": localized_within(job.params),
        "result": localized_within(job.result),
    }


@responses.allow_methods("GET")
def status(request):
    return JsonResponse(system_status())


@responses.allow_methods("GET")
def history_list(request, history_type: str):
    if not HISTORY_TYPE.match(history_type):
        return responses.error(gettext_noop("history type must be a plain name (letters, digits, _ and -)"), 400)
    return JsonResponse(history.entries(history_type, request), safe=False, json_dumps_params={"ensure_ascii": False})


def _job_or_404(request, task_id: str):
    """The job when this user owns it (staff may follow and cancel anyone's); None otherwise (a 404)."""
    return ownership.readable(Job.objects.filter(pk=task_id), request).first()


@responses.allow_methods("GET")
def task_detail(request, task_id: str):
    job = _job_or_404(request, task_id)
    if job is None:
        return responses.error(TASK_MISSING, 404)
    return responses.success(**job_info(job))


@responses.allow_methods("GET")
def train_status(request, task_id: str):
    job = _job_or_404(request, task_id)
    if job is None or job.kind != Job.Kind.TRAIN:
        return responses.error(gettext_noop("no such training task"), 404)
    info = job_info(job)
    info["model_path"] = job.result.get("model_path", "")
    return responses.success(**info)


@csrf_exempt
@responses.allow_methods("POST")
def task_cancel(request, task_id: str):
    job = _job_or_404(request, task_id)
    if job is None:
        return responses.error(TASK_MISSING, 404)
    if job.is_finished:
        return _already_ended(job)
    cancelled = runner.request_cancel(job)
    if cancelled is None:
        return sync.job_deleted(job.pk)
    if cancelled.is_finished and cancelled.status != Job.Status.CANCELLED:  # its worker ended it meanwhile
        return _already_ended(cancelled)
    return responses.success(gettext_noop("cancel requested"), **job_info(cancelled))


def _already_ended(job: Job):
    return responses.error(gettext_noop("the job has already ended ({state})", state=job.status), 409, state=job.status, task_id=job.pk)
