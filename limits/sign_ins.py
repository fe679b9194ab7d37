"""Password guessing: after ECHOFU_LOGIN_FAILURES wrong passwords for one account from one client address
within ECHOFU_LOGIN_FAILURE_SECONDS, that address may not sign in to that account until the oldest of them
leaves the window; a successful sign-in forgets them.

Counted per account *and* address: per account alone, anyone could lock a user out by guessing wrong on
purpose; per address alone, a proxy's users would lock each other out. Counted in the database, so every
server process agrees."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
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


def claim_attempt(request, username) -> tuple[int | None, FailedSignIn | None]:
    """(how long this address must wait before trying this account again, None) when it has guessed wrong
    too often; else (None, the FailedSignIn that counts this try, taken back by `take_back` if the password
    turns out right). The try is counted before its password is checked, in the same transaction as the
    count: guesses sent together cannot all pass the count before any of them is recorded."""
    limit = settings.ECHOFU["LOGIN_FAILURES"]
    window = settings.ECHOFU["LOGIN_FAILURE_SECONDS"]
    with transaction.atomic():
        # SQLite's IMMEDIATE transactions already run one at a time; elsewhere the account's row is the lock.
        get_user_model().objects.select_for_update().filter(**{get_user_model().USERNAME_FIELD: username}).first()
        newest = list(_failures(request, username).order_by("-at").values_list("at", flat=True)[:limit])
        if len(newest) >= limit:
            # Once the limit-th newest failure leaves the window, one more try is allowed.
            elapsed = (timezone.now() - newest[-1]).total_seconds()
            return max(1, int(window - elapsed) + 1), None
        attempt = FailedSignIn.objects.create(username=_account(username), address=client_address(request))
        FailedSignIn.objects.filter(at__lt=timezone.now() - timedelta(seconds=window)).delete()
    return None, attempt


def take_back(attempt: FailedSignIn) -> None:
    """Uncount a try whose password was right (a sign-in that the form still refuses, e.g. a non-staff
    account on the admin's page, is no guess)."""
    FailedSignIn.objects.filter(pk=attempt.pk).delete()


def forget_failures(request, username) -> None:
    FailedSignIn.objects.filter(username=_account(username), address=client_address(request)).delete()
