"""The same request again moments later (a double click, a resent form) is answered with the job the
first one started: a second run of the same work would hold a worker for as long again, and give the
user two trainings, videos, voices or chat turns for one click.

A request is the same when its account, its kind of work and its `request_key` (what the request
decides the work by, a recording by its bytes: the browser's recording is one file that every
/save_audio replaces) match a job created at most REPEATED_REQUEST_SECONDS earlier that still waits,
runs or has succeeded. A failed or cancelled one is not answered again: sending it again is a retry.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from echofu import ownership, paths
from echofu.ordering import OLDEST_FIRST
from monitoring import runner
from monitoring.models import Job, RequestGate

REPEATED_REQUEST_SECONDS = 10.0
REQUEST_KEY = "request_key"  # in Job.params
OPERATOR_GATE = "operator"  # the RequestGate of requests without an account

# Set while a request over its rate limit is looked at only for the job it repeats (limits.checks.heavy).
_repeats_only = contextvars.ContextVar("echofu_repeats_only", default=False)


class NotARepeat(Exception):
    """Raised, in `repeats_only`, where the request would start work of its own."""


@contextlib.contextmanager
def repeats_only():
    """Within it, a request that repeats one from moments ago is answered with that one's job as usual,
    and any other raises NotARepeat before it starts or records anything: a request over the rate limit
    is refused, its double click is not."""
    token = _repeats_only.set(True)
    try:
        yield
    finally:
        _repeats_only.reset(token)


def new_work_allowed() -> None:
    """Called where a view would start or record work outside start_once (raises NotARepeat in `repeats_only`)."""
    if _repeats_only.get():
        raise NotARepeat


def request_key(**decisive) -> str:
    """One digest of the values that decide the work (JSON-able; model rows by their pk)."""
    return hashlib.sha256(json.dumps(decisive, sort_keys=True, default=str).encode()).hexdigest()


@contextlib.contextmanager
def as_asked(relative: str) -> Iterator[tuple[str, Path | None]]:
    """(identity, copy) of the media file a request names: a file other than a browser recording by its
    path, no copy; a recording by its bytes, read once into a private copy beside it and hashed as it is
    copied. Read twice, a /save_audio between the reads gave the job another recording than its key named.
    The job moves the copy into its own folder; one left here (a repeat, a refusal) is removed. The copy is
    made among the uploads in progress, whose leftovers recovery sweeps (a process killed before either)."""
    if not paths.is_recording(relative):
        yield relative, None
        return
    source = paths.absolute(relative)
    handle, name = tempfile.mkstemp(prefix="asked-", suffix=source.suffix, dir=settings.FILE_UPLOAD_TEMP_DIR)
    copy = Path(name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as writing, open(source, "rb") as reading:
            for block in iter(lambda: reading.read(1 << 20), b""):
                digest.update(block)
                writing.write(block)
        yield digest.hexdigest(), copy
    finally:
        copy.unlink(missing_ok=True)


def take_turns(owner) -> None:
    """One account's requests take turns from here, and so do those without one (operator code): the
    second of two sent together sees the first one's job. A row lock (SQLite's IMMEDIATE transaction
    queues writers anyway; PostgreSQL's run at once): the account's row, or the operator's gate, made
    by the first request that needs it (a second made at once waits on its key, then locks it)."""
    if owner is not None:
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    else:
        RequestGate.objects.select_for_update().get_or_create(name=OPERATOR_GATE)


def forget_succeeded(owner) -> None:
    """After `owner` deleted rows (echofu.removal): a request of theirs sent again moments after its
    work succeeded is no repeat to answer with that job, whose video, turn or voice may be what was
    deleted (its answer would name a file that is gone); one still queued or running cannot be deleted."""
    owner = ownership.acting_user(owner)
    recent = Job.objects.filter(owner=owner, status=Job.Status.SUCCEEDED,
                                created_at__gte=timezone.now() - timedelta(seconds=REPEATED_REQUEST_SECONDS))
    for job in recent:
        if REQUEST_KEY in job.params:
            job.params = {name: value for name, value in job.params.items() if name != REQUEST_KEY}
            job.save(update_fields=["params"])


def start_once(kind: str, owner, key: str, prepare: Callable[[], Job]) -> tuple[Job, bool]:
    """(job, repeat): the job of the same request from moments ago with repeat True, else the job that
    `prepare` creates (a queued row), handed to the workers, with repeat False."""
    owner = ownership.acting_user(owner)
    with transaction.atomic():
        take_turns(owner)
        earlier = Job.objects.filter(
            kind=kind, owner=owner, status__in=[Job.Status.QUEUED, Job.Status.RUNNING, Job.Status.SUCCEEDED],
            created_at__gte=timezone.now() - timedelta(seconds=REPEATED_REQUEST_SECONDS),
        ).order_by(*OLDEST_FIRST)
        repeated = next((job for job in earlier if job.params.get(REQUEST_KEY) == key), None)
        if repeated is not None:
            return repeated, True
        new_work_allowed()
        job = prepare()
        job.params = {**job.params, REQUEST_KEY: key}
        job.save(update_fields=["params"])
    return runner.submit(job), False  # once committed: a worker must find the row
