"""Password guessing: after ECHOFU_LOGIN_FAILURES wrong passwords for one account from one client address
within ECHOFU_LOGIN_FAILURE_SECONDS, that address may not sign in to that account until the oldest of them
leaves the window; a successful sign-in forgets them.

Counted per account *and* address: per account alone, anyone could lock a user out by guessing wrong on
purpose; per address alone, a proxy's users would lock each other out. Counted in the database, so every
server process agrees."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from limits.models import FailedSignIn

ADDRESS_CHARS = 64


def client_address(request) -> str:
    """The client's address: the peer, or behind the TLS proxy (ECHOFU_HTTPS_PROXY) the address the proxy
    appended last to X-Forwarded-For (earlier entries are whatever the client sent)."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded[:ADDRESS_CHARS]
    return request.META.get("REMOTE_ADDR", "")[:ADDRESS_CHARS]


def _account(username) -> str:
    return str(username or "").strip().lower()[:150]


def _failures(request, username):
    window = timedelta(seconds=settings.ECHOFU["LOGIN_FAILURE_SECONDS"])
    return FailedSignIn.objects.filter(username=_account(username), address=client_address(request), at__gte=timezone.now() - window)


def seconds_to_wait(request, username) -> int | None:
    """How long this address must wait before trying this account again; None when it may try now."""
    limit = settings.ECHOFU["LOGIN_FAILURES"]
    newest = list(_failures(request, username).order_by("-at").values_list("at", flat=True)[:limit])
    if len(newest) < limit:
        return None
    # Once the limit-th newest failure leaves the window, one more try is allowed.
    elapsed = (timezone.now() - newest[-1]).total_seconds()
    return max(1, int(settings.ECHOFU["LOGIN_FAILURE_SECONDS"] - elapsed) + 1)


def record_failure(request, username) -> None:
    FailedSignIn.objects.create(username=_account(username), address=client_address(request))
    window = timedelta(seconds=settings.ECHOFU["LOGIN_FAILURE_SECONDS"])
    FailedSignIn.objects.filter(at__lt=timezone.now() - window).delete()


def forget_failures(request, username) -> None:
    FailedSignIn.objects.filter(username=_account(username), address=client_address(request)).delete()
