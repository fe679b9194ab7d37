"""/api/history/<type>: what was done, newest first, read from the rows."""
from __future__ import annotations

from typing import Callable

from echofu import ownership
from echofu.messages import localized, localized_within
from echofu.ordering import NEWEST_FIRST
from monitoring.models import Job

# History types of the original frontend -> the job kinds they list.
JOB_KINDS = {
    "video_generation": Job.Kind.RENDER,
    "model_training": Job.Kind.TRAIN,
    "audio_clone": (Job.Kind.CLONE, Job.Kind.SYNTHESIZE),
    "chat_system": Job.Kind.CHAT,
    "video_probe": Job.Kind.PROBE,
}
LIMIT = 200

# A builder gets the request and lists only what that user owns (ownership.owned).
_builders: dict[str, Callable[[object], list[dict]]] = {}


def provides(history_type: str):
    """Register a richer builder for one history type (e.g. rendered videos from their rows)."""

    def register(builder: Callable[[object], list[dict]]):
        _builders[history_type] = builder
        return builder

    return register


def job_entry(job: Job) -> dict:
    return {
        "task_id": job.pk,
        "type": job.kind,
        "status": job.status,
        "timestamp": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "params": localized_within(job.params),
        "result": localized_within(job.result),
        "error": localized(job.kept_error),
    }


def job_entries(history_type: str, request=None) -> list[dict]:
    """The user's jobs of the kinds `history_type` lists, newest first; [] for a type that lists none."""
    kinds = JOB_KINDS.get(history_type)
    if kinds is None:
        return []
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    jobs = ownership.owned(Job.objects.filter(kind__in=kinds), request)
    return [job_entry(job) for job in jobs.order_by(*NEWEST_FIRST)[:LIMIT]]


def entries(history_type: str, request=None) -> list[dict]:
    if history_type in _builders:
        return _builders[history_type](request)
    return job_entries(history_type, request)
