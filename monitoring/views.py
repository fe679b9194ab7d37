import re

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from echofu import ownership, responses
from engines.messages import gettext_noop
from monitoring import forecast, history, runner, sync, tasks
from monitoring.models import Job
from monitoring.system import system_status

TASK_MISSING = gettext_noop("no such task")
HISTORY_TYPE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@responses.allow_methods("GET")
def task_list(request):
    """Recent jobs, newest first (addition): `?kind=render,chat`, `?active=1`, `?limit=N` (at most 50).

    Besides the home page's queue, the pages use it to find the job that a pending blocking call
    (/video_generation, /audio_clone, /chat_system) started, to show its progress while they wait.
    """
    try:
        listed = tasks.recent_jobs(request, request.GET.get("kind", ""), request.GET.get("active", ""), request.GET.get("limit", "20"))
    except tasks.BadQuery as refusal:
        return responses.error(refusal.message, 400)
    forecasts = forecast.forecasts_for(listed)
    listing = [tasks.job_info(job, log_lines=1, forecasts=forecasts) for job in listed]  # the latest log line; the full tail is per task
    return responses.success(tasks=listing, total_count=len(listing))


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
    return responses.success(**tasks.job_info(job))


@responses.allow_methods("GET")
def train_status(request, task_id: str):
    job = _job_or_404(request, task_id)
    if job is None or job.kind != Job.Kind.TRAIN:
        return responses.error(gettext_noop("no such training task"), 404)
    info = tasks.job_info(job)
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
    return responses.success(gettext_noop("cancel requested"), **tasks.job_info(cancelled))


def _already_ended(job: Job):
    return responses.error(gettext_noop("the job has already ended ({state})", state=job.status), 409, state=job.status, task_id=job.pk)
