"""The job as /api/tasks shows it, and the recent jobs /api/tasks lists."""
from __future__ import annotations

from echofu import ownership
from echofu.env import BOOLEAN_WORDS
from echofu.messages import as_users_read, localized, localized_within
from echofu.ordering import NEWEST_FIRST
from engines.messages import Message, gettext_noop
from monitoring import forecast
from monitoring.models import Job

MAX_TASKS = 50


class BadQuery(ValueError):
    """A list query the caller must correct (HTTP 400)."""

    def __init__(self, message: Message):
        super().__init__(message)
        self.message = message


def recent_jobs(request, kinds: str, active: str, limit: str) -> list[Job]:
    """The jobs this user may read, newest first: of the comma-separated `kinds` (all when empty), only
    those not ended when `active` is a yes word ("1", "true", "yes", "on"), at most `limit` (1 to MAX_TASKS)."""
    jobs = Job.objects.order_by(*NEWEST_FIRST)
    wanted = [kind for kind in kinds.split(",") if kind]
    unknown = set(wanted) - set(Job.Kind.values)
    if unknown:
        raise BadQuery(gettext_noop("unknown task kind: {kinds}; choose from: {choices}", kinds=", ".join(sorted(unknown)),
                                    choices=", ".join(Job.Kind.values)))
    if wanted:
        jobs = jobs.filter(kind__in=wanted)
    active = active.strip().lower()
    if active and active not in BOOLEAN_WORDS:  # read as "no", a typo would list the finished jobs too
        raise BadQuery(gettext_noop("active must be 1 or 0 (also true/false, yes/no, on/off)"))
    if BOOLEAN_WORDS.get(active):
        jobs = jobs.exclude(status__in=Job.FINISHED)
    jobs = ownership.readable(jobs, request)
    try:
        count = min(max(int(limit), 1), MAX_TASKS)
    except ValueError:
        raise BadQuery(gettext_noop("limit must be a whole number")) from None
    return list(jobs[:count])


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
        # the same lines, each with the instant it was logged, which the pages show in the browser's zone
        "log_entries": [{"time": stamp, "text": as_users_read(text)} for stamp, text in job.log_entries(log_lines)],
        "error": localized(job.kept_error),
        "failed_on_input": job.failed_on_input,
        "params": localized_within(job.params),
        "result": localized_within(job.result),
    }
