"""Single-user mode has no login, so it may only listen where no one else can connect; multi-user mode
is reached by others, so it may not use the published secret key, nor a weak one."""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core import checks
from django.core.checks.security.base import SECRET_KEY_MIN_LENGTH, SECRET_KEY_MIN_UNIQUE_CHARACTERS

LOOPBACK_NAMES = ("localhost", "ip6-localhost")


def is_loopback(host: str) -> bool:
    host = (host or "").strip().strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def bind_host(bind: str) -> str:
    """The host part of a bind spec: '127.0.0.1:8000', '[::1]:8000', '0.0.0.0', 'unix:/run/x.sock'."""
    bind = bind.strip()
    if bind.startswith("unix:"):
        return "localhost"  # a socket file is reachable only on this machine
    if bind.startswith("["):
        return bind[1:].split("]", 1)[0]
    if bind.count(":") == 1:
        return bind.split(":", 1)[0] or "0.0.0.0"
    return bind or "0.0.0.0"


class PublicBindRefused(RuntimeError):
    pass


GOOD_KEY_ADVICE = (
    "set ECHOFU_SECRET_KEY, e.g. to the output of "
    "python3 -c 'import secrets; print(secrets.token_urlsafe(50))' (the same on every machine)"
)


def secret_key_refusal() -> str:
    """Why multi-user mode may not sign its cookies and tasks with this key, or "" when it may. Besides
    the published key, one that is blank or short or plain is guessed: Django's thresholds (W009), which
    only `check --deploy` reports, refuse it here at start. Surrounding whitespace counts for nothing."""
    if settings.ECHOFU["SINGLE_USER"]:
        return ""
    key = settings.SECRET_KEY.strip()
    if key in ("", settings.LOCAL_ONLY_SECRET_KEY):
        return ("multi-user mode (ECHOFU_SINGLE_USER=false) serves other people and needs a secret key of its own: "
                + GOOD_KEY_ADVICE)
    if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return (f"ECHOFU_SECRET_KEY is too short or too plain for multi-user mode ({len(key)} characters, "
                f"{len(set(key))} different; it needs at least {SECRET_KEY_MIN_LENGTH}, "
                f"{SECRET_KEY_MIN_UNIQUE_CHARACTERS} different, whitespace around it not counted): " + GOOD_KEY_ADVICE)
    return ""


def secret_key_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`manage.py check --deploy`: Django's own key check (W009) passes the published key, which is long
    and varied enough, and only warns of a weak one; a server started on either is refused (check_bind),
    the check says so beforehand."""
    refusal = secret_key_refusal()
    return [checks.Error(refusal, id="echofu.E001")] if refusal else []


def check_bind(bind: str) -> None:
    """Raise PublicBindRefused when single-user mode would listen on a non-loopback address, or when
    multi-user mode (others reach it, on any address: a proxy forwards to loopback) would sign its
    cookies and tasks with the key published in this repository or one as easily guessed."""
    if not settings.ECHOFU["SINGLE_USER"]:
        refusal = secret_key_refusal()
        if refusal:
            raise PublicBindRefused(refusal)
        return
    host = bind_host(bind)
    if not is_loopback(host):
        raise PublicBindRefused(
            f"single-user mode (ECHOFU_SINGLE_USER) has no login and may only listen on loopback, "
            f"not on {host!r}: listen on 127.0.0.1, or set ECHOFU_SINGLE_USER=false and create accounts"
        )
