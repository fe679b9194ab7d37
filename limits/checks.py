"""Per-user storage quota (413) and per-user rate limits on the heavy endpoints (429).

Usage is what the user's rows hold on disk: uploads, generated audio and video, models, chat answers
and cloned voices' clips.
Rate limits count the requests each user had accepted by one group of endpoints (training,
rendering, synthesis, chat) in a sliding window, a repeated request (monitoring.repeats) not among them, and
every file sent to /api/verify-media (verification); the counts live in the database, so every server process
and machine sees the same ones. Staff, and single-user mode's local account, are not rate limited.
"""
from __future__ import annotations

from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.http import JsonResponse
from django.utils import timezone

from echofu import ownership, paths, responses
from engines.messages import gettext_noop
from limits.models import Hit

# Each group of endpoints, as its refusal names it to the user.
SCOPES = {
    "training": gettext_noop("training"),
    "rendering": gettext_noop("video rendering"),
    "synthesis": gettext_noop("speech synthesis"),
    "chat": gettext_noop("chat"),
    "verification": gettext_noop("media verification"),
}


def storage_used(user) -> int:
    from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
    from chat.models import Turn
    from generation.models import GeneratedVideo
    from training.models import TalkingHeadModel

    total = 0
    for model in (ReferenceAudio, TrainingVideo, GeneratedAudio, GeneratedVideo, TalkingHeadModel):
        total += model.objects.filter(owner=user).aggregate(total=Sum("size"))["total"] or 0
    # Rows that keep no size: their files on disk (chat answers with their sentence videos, voice clips),
    # each file once (a turn's recording lies in its folder).
    files: set = set()
    for rows in (Turn.objects.filter(conversation__owner=user), SpeakerProfile.objects.filter(owner=user)):
        for relative in (relative for row in rows for relative in row.owned_files() if relative):
            path = paths.absolute(relative)
            files.update([path] if path.is_file() else (inner for inner in path.rglob("*") if inner.is_file()))
    return total + sum(path.stat().st_size for path in files)


class QuotaExceeded(Exception):
    """Storing more would pass the account's storage quota."""

    def __init__(self, used: int, quota: int):
        super().__init__(f"{used} of {quota} bytes used")
        self.used, self.quota = used, quota

    def response(self) -> JsonResponse:
        mb = 1024 * 1024
        return responses.error(
            gettext_noop("storage quota exceeded: {used:.1f} MB used of {quota:.0f} MB", used=self.used / mb, quota=self.quota / mb),
            413, used_bytes=self.used, quota_bytes=self.quota,
        )


def has_quota(user) -> bool:
    return user is not None and not user.is_staff


def is_rate_limited(user) -> bool:
    # The limits share a server fairly between accounts: single-user mode's one local account has
    # nobody to share with, and was refused after 30 chat turns in an hour.
    return user is not None and not user.is_staff and not ownership.single_user_mode()


def hits_in_window(user, now=None):
    """`user`'s requests the rate limits count at `now` (default: this moment): those accepted within the window."""
    since = (now or timezone.now()) - timedelta(seconds=settings.ECHOFU["RATE_LIMIT_SECONDS"])
    return Hit.objects.filter(user=user, at__gte=since)


def requests_in_window(user) -> dict[str, int]:
    """The requests of each scope `user` had accepted within the rate-limit window, as rate_refusal counts them."""
    counted = dict(hits_in_window(user).values_list("scope").annotate(count=Count("pk")))
    return {scope: counted.get(scope, 0) for scope in SCOPES}


def check_quota(user, incoming_bytes: int = 0) -> None:
    """QuotaExceeded when `user` storing `incoming_bytes` more would pass their quota (staff and no user: no quota).
    To store within it, call this and save in one transaction that holds the account's turn
    (monitoring.repeats.take_turns): two uploads checked at once both fitted, and both were stored."""
    if not has_quota(user):
        return
    quota = settings.ECHOFU["QUOTA_BYTES"]
    used = storage_used(user)
    if used + max(incoming_bytes, 0) > quota or used >= quota:
        raise QuotaExceeded(used, quota)


def quota_refusal(request, incoming_bytes: int = 0):
    """A 413 response when storing `incoming_bytes` more would pass the user's quota, else None."""
    try:
        check_quota(ownership.acting_user(request), incoming_bytes)
    except QuotaExceeded as exc:
        return exc.response()
    return None


def rate_refusal(request, scope: str) -> tuple[JsonResponse | None, Hit | None]:
    """(a 429 response, None) when the user used up this scope's requests in the window; else
    (None, the Hit that counts this request), the Hit None for users who are not limited."""
    user = ownership.acting_user(request)
    if not is_rate_limited(user):
        return None, None
    limit = settings.ECHOFU["RATE_LIMIT_REQUESTS"]
    window = settings.ECHOFU["RATE_LIMIT_SECONDS"]
    now = timezone.now()
    with transaction.atomic():
        recent = hits_in_window(user, now).filter(scope=scope)
        if recent.count() >= limit:
            oldest = recent.order_by("at").values_list("at", flat=True).first()
            retry = max(1, int(window - (now - oldest).total_seconds()) + 1)
            response = responses.error(
                gettext_noop("too many requests: {work} takes at most {limit} every {window} s", work=SCOPES[scope], limit=limit,
                             window=window), 429, retry_after=retry)
            response["Retry-After"] = str(retry)
            return response, None
        hit = Hit.objects.create(user=user, scope=scope, at=now)
        Hit.objects.filter(user=user, scope=scope, at__lt=now - timedelta(seconds=window)).delete()
    return None, hit


# Answers that started no work: the request's Hit is taken back. The Hit is taken before the view
# runs, not after, so that requests arriving together cannot all pass the count.
REFUSED_BEFORE_WORK = frozenset({400, 413})
STARTED_NOTHING = "echofu_started_nothing"  # set on a response by `uncounted_if`


def uncounted_if(repeat: bool, response: JsonResponse) -> JsonResponse:
    """The response; when `repeat`, marked as the answer of a repeated request (monitoring.repeats), which
    started no work of its own: a double click does not use up two of the user's requests."""
    if repeat:
        setattr(response, STARTED_NOTHING, True)
    return response


def _repeat_answer(view, request, args, kwargs) -> JsonResponse | None:
    """The answer to a request over the rate limit that repeats one from moments ago (a double click on the
    last request the window allows): that one's job, which a repeat does not count towards the limit.
    None for any other request, which the view leaves before it starts or records anything."""
    from monitoring import repeats  # the views' layer: imported once a request needs it

    try:
        with repeats.repeats_only():
            response = view(request, *args, **kwargs)
    except repeats.NotARepeat:
        return None
    return response if getattr(response, STARTED_NOTHING, False) else None


def _on_posts(scope: str, answer):
    """Decorate a view so that its POSTs are answered by `answer(view, request, args, kwargs)`."""
    if scope not in SCOPES:
        raise ValueError(f"unknown rate limit scope {scope!r}")

    def decorate(view):
        @wraps(view)
        def limited(request, *args, **kwargs):
            if request.method != "POST":
                return view(request, *args, **kwargs)
            return answer(view, request, args, kwargs)

        return limited

    return decorate


def heavy(scope: str):
    """Decorate a heavy endpoint: refuse with 429 over the rate limit, 413 when storage is full.
    Only requests that start work count towards the limit: one refused as invalid input (400) does not,
    nor one answered with the job the same request started moments ago (`uncounted_if`)."""

    def answer(view, request, args, kwargs):
        refused, hit = rate_refusal(request, scope)
        if refused is not None:
            return _repeat_answer(view, request, args, kwargs) or refused
        response = quota_refusal(request) or view(request, *args, **kwargs)
        if hit is not None and (response.status_code in REFUSED_BEFORE_WORK or getattr(response, STARTED_NOTHING, False)):
            hit.delete()
        return response

    return _on_posts(scope, answer)


def rate_limited(scope: str):
    """Decorate an endpoint that stores nothing but reads what it is sent (/api/verify-media): refuse with 429
    over the rate limit. Every request counts, a 400 too: the file was decoded before it could be refused."""

    def answer(view, request, args, kwargs):
        refused, _ = rate_refusal(request, scope)
        return refused or view(request, *args, **kwargs)

    return _on_posts(scope, answer)
