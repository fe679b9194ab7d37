"""Who is asking: a DRF token, a session (with CSRF on every form post), or single-user mode.

The API views are csrf_exempt because the original frontend and scripts send no CSRF token;
this middleware puts the CSRF check back for requests authenticated by a session cookie, the
only ones a foreign page could forge. Single-user mode acts as one local user without login,
answers only loopback clients (not what a proxy forwards) and refuses cross-site posts (an Origin of another host).
"""
from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.middleware import csrf
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse

from accounts.bind import is_loopback
from echofu import ownership, responses
from engines.messages import gettext_noop

# Django's own pages (login, admin, the language switch the login page has too) and static files
# handle their own access; Django's CsrfViewMiddleware checks their form posts.
OPEN_PREFIXES = ("/accounts/", "/admin/", "/assets/", "/i18n/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
# What a reverse proxy adds for the browser it forwards: a proxy on this machine connects from loopback,
# but the browser it speaks for may be anywhere.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


@cache
def page_paths() -> frozenset[str]:
    """The studio's pages (its navigation): a browser opening one without an account is sent to the login."""
    from echofu.pages import NAV

    return frozenset(reverse(name) for name, _label in NAV)


def _protected(request):  # a stand-in view that is not csrf_exempt
    return None


class AccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.csrf = CsrfViewMiddleware(get_response)

    def __call__(self, request):
        request.echofu_auth = ""
        if request.path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        single_user = ownership.single_user_mode()
        if single_user and not self._local_client(request):  # whatever it authenticates with
            return responses.error(gettext_noop("single-user mode serves this machine only"), 403)
        token_key = self._token_key(request)
        if token_key is not None:
            user = self._token_user(token_key)
            if user is None:
                return responses.error(gettext_noop("invalid API token"), 401)
            request.user, request.echofu_auth = user, "token"
        elif single_user:
            # Before the session: an operator signed in to the admin in this browser still uses the
            # studio as its one local account (its files, its consent setting, no CSRF token).
            request.user, request.echofu_auth = ownership.local_user(), "single-user"
        elif request.user.is_authenticated:
            request.echofu_auth = "session"
        elif self._a_page_opened(request):
            return redirect_to_login(request.get_full_path())
        else:
            return responses.error(gettext_noop("authentication required"), 401)
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        if request.method in SAFE_METHODS or request.path.startswith(OPEN_PREFIXES):
            return None
        if request.echofu_auth == "session":
            if not self._csrf_passes(request, args, kwargs):
                return responses.error(gettext_noop("CSRF check failed: the form needs the csrftoken"), 403)
        elif request.echofu_auth == "single-user" and not self._same_origin(request):
            return responses.error(gettext_noop("cross-site request refused"), 403)
        return None

    def _csrf_passes(self, request, args, kwargs) -> bool:
        if getattr(request, "_dont_enforce_csrf_checks", False):  # Django's test client, as for CsrfViewMiddleware
            return True
        if request.content_type == "multipart/form-data":
            # Reading the form here would parse the upload before the view sets its size limit:
            # uploads carry the token in the X-CSRFToken header (read from the csrftoken cookie).
            secret = request.META.get("CSRF_COOKIE") or ""
            sent = request.META.get(settings.CSRF_HEADER_NAME, "")
            try:
                csrf._check_token_format(sent)
                return bool(secret) and csrf._does_token_match(sent, secret)
            except csrf.InvalidTokenFormat:
                return False
        return self.csrf.process_view(request, _protected, args, kwargs) is None

    @staticmethod
    def _a_page_opened(request) -> bool:
        """A browser opening a studio page, or any address it would show a page for (a mistyped one, whose
        404 page it sees once signed in): the login is the page to show, where an API client gets the 401."""
        from echofu.views import opened_as_a_page

        return request.method in SAFE_METHODS and (request.path in page_paths() or opened_as_a_page(request))

    @staticmethod
    def _local_client(request) -> bool:
        if any(request.META.get(header) for header in FORWARDING_HEADERS):
            return False
        peer = request.META.get("REMOTE_ADDR", "")
        # A client of a socket file (a unix: bind, which check_bind allows) has no address: gunicorn passes "".
        return not peer or is_loopback(peer)

    @staticmethod
    def _token_key(request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return None
        return key.strip()

    @staticmethod
    def _token_user(key: str):
        from rest_framework.authtoken.models import Token

        if not key or len(key) > 64:
            return None
        token = Token.objects.select_related("user").filter(key=key).first()
        if token is None or not token.user.is_active:
            return None
        return token.user

    @staticmethod
    def _same_origin(request) -> bool:
        origin = request.META.get("HTTP_ORIGIN") or request.META.get("HTTP_REFERER")
        if not origin or origin == "null":
            return not request.META.get("HTTP_ORIGIN")  # "Origin: null" comes from sandboxed/foreign pages
        return urlsplit(origin).netloc == request.get_host()


