"""Single-user mode has no login, so it may only listen where no one else can connect; multi-user mode
is reached by others, so it may not use the published secret key."""
from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core import checks

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


PUBLISHED_KEY_REFUSAL = (
    "multi-user mode (ECHOFU_SINGLE_USER=false) serves other people and needs a secret key of its own: "
    "set ECHOFU_SECRET_KEY, e.g. to the output of "
    "python3 -c 'import secrets; print(secrets.token_urlsafe(50))' (the same on every machine)"
)


def uses_published_key() -> bool:
    return not settings.ECHOFU["SINGLE_USER"] and settings.SECRET_KEY in ("", settings.LOCAL_ONLY_SECRET_KEY)


def published_key_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """`manage.py check --deploy`: Django's own key check (W009) passes the published key, which is long
    and varied enough; a server started on it is refused (check_bind), the check says so beforehand."""
    return [checks.Error(PUBLISHED_KEY_REFUSAL, id="echofu.E001")] if uses_published_key() else []


def check_bind(bind: str) -> None:
    """Raise PublicBindRefused when single-user mode would listen on a non-loopback address, or when
    multi-user mode (others reach it, on any address: a proxy forwards to loopback) would sign its
    cookies and tasks with the key published in this repository."""
    if not settings.ECHOFU["SINGLE_USER"]:
        if uses_published_key():
            raise PublicBindRefused(PUBLISHED_KEY_REFUSAL)
        return
    host = bind_host(bind)
    if not is_loopback(host):
        raise PublicBindRefused(
            f"single-user mode (ECHOFU_SINGLE_USER) has no login and may only listen on loopback, "
            f"not on {host!r}: listen on 127.0.0.1, or set ECHOFU_SINGLE_USER=false and create accounts"
        )
