"""The documented synchronous endpoints: enqueue, wait up to a limit, answer like the original."""
from typing import Callable

from django.conf import settings
from django.http import JsonResponse

from echofu import responses
from engines.messages import gettext_noop
from monitoring import runner, shutdown
from monitoring.models import Job

JOB_DELETED = gettext_noop("the job was deleted")
JOB_CANCELLED = gettext_noop("the job was cancelled")


def answer_when_done(job: Job, on_success: Callable[[Job], JsonResponse], timeout: float | None = None) -> JsonResponse:
    task_id = job.pk
    job = runner.wait_for(task_id, settings.ECHOFU["SYNC_WAIT_SECONDS"] if timeout is None else timeout)
    if job is None:
        return job_deleted(task_id)
    if job.status == Job.Status.SUCCEEDED:
        return on_success(job)
    if job.status == Job.Status.FAILED:
        # 422 where the input could not be used (a reference with no speech in it): the user's to change, not a server fault
        return responses.error(job.kept_error or gettext_noop("the job failed"), 422 if job.failed_on_input else 500, task_id=job.pk)
    if job.status == Job.Status.CANCELLED:
        return responses.error(JOB_CANCELLED, 409, task_id=job.pk)
    if shutdown.stop_requested():
        return server_stopping(job.pk)
    # Still queued or running: the client polls /api/tasks/<task_id>.
    still_running = gettext_noop("the job is still running: look up its state by its task_id")
    return JsonResponse(
        {"status": "processing", **responses.message_fields(still_running), "task_id": job.pk, "status_url": f"/api/tasks/{job.pk}"},
        status=202,
        json_dumps_params={"ensure_ascii": False},
    )


def server_stopping(task_id: str, **fields) -> JsonResponse:
    """The answer to a request still waiting when its server is told to stop (monitoring.shutdown)."""
    message = gettext_noop("the server is stopping and can no longer wait for this job: look it up by its task_id once the "
                           "server is back (a job that had not begun runs then)")
    return responses.error(message, 503, task_id=task_id, status_url=f"/api/tasks/{task_id}", **fields)


def job_deleted(task_id: str, **fields) -> JsonResponse:
    """The answer when the job's row was deleted (in the admin) while its request waited. It ended
    like a cancelled job (409), but nothing of it is left to look up at its status URL: 410 Gone."""
    return responses.error(JOB_DELETED, 410, task_id=task_id, **fields)
