"""Serving stored media: /media/<path> and the legacy /video/<path>; the error handlers."""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent

from echofu import ownership, pages, paths, responses
from echofu.api_table import API_TABLE
from echofu.serving import serve_file
from engines.messages import gettext_noop
from provenance.download_names import download_names

VIDEO_MISSING = gettext_noop("the video file does not exist")

# The first path segments that are not pages: the API's (api, save_audio, video, media, ...), the static files' and the admin's.
NOT_PAGES = frozenset({url.split("/")[1] for _method, url, _what in API_TABLE} | {settings.STATIC_URL.strip("/"), "admin"})


def _serve(request, candidates: list[str], missing_message: str):
    """The first candidate the requester may read; `?download=1` asks for it as a download, a rendered
    video under the name the pages give it (person-version-time), any other file under its stored name."""
    for candidate in candidates:
        try:
            relative = paths.resolve_request_path(candidate)
        except paths.PathRejected:
            continue
        path = paths.absolute(relative)
        if path.is_file() and ownership.may_read_file(relative, request):
            downloaded = request.GET.get("download") == "1"
            return serve_file(request, path, attachment_name=download_names([relative])[relative] if downloaded else None)
    return responses.error(missing_message, 404)


@responses.allow_methods("GET", "HEAD")
def media_file(request, path: str):
    return _serve(request, [paths.PUBLIC_PREFIX + path], gettext_noop("the file does not exist"))


@responses.allow_methods("GET", "HEAD")
def video_file(request, filename: str):
    # The original backend served static/videos/<filename>; full media paths work too.
    return _serve(request, [f"{paths.PUBLIC_PREFIX}videos/{filename}", filename], VIDEO_MISSING)


def bad_request(request, exception=None):
    """Django's 400 (a body it cannot parse, too many fields) in the contract's error shape."""
    # Only the parse limits' words follow ours: other refusals (a file path outside its folder) may name server paths.
    said = exception if isinstance(exception, (TooManyFieldsSent, TooManyFilesSent, RequestDataTooBig)) else None
    return responses.error(responses.malformed_request(said), 400)


def opened_as_a_page(request) -> bool:
    """A person's browser loading an address outside the API: a GET that prefers HTML to JSON. Browsers
    name text/html first; fetch() and API clients send */* or application/json, where JSON wins the tie."""
    return (request.method == "GET" and request.path_info.split("/")[1] not in NOT_PAGES
            and request.get_preferred_type(["application/json", "text/html"]) == "text/html")


def not_found(request, exception=None):
    """An address nothing answers, in the contract's error shape; to a browser opening a page (a mistyped
    /trainig/), a page that says so in the page's language, with the studio's pages to go to instead."""
    if opened_as_a_page(request):
        return pages.not_found(request)
    return responses.error(gettext_noop("not found"), 404)


def server_error(request):
    """An unexpected failure still answers in the contract's error shape (the traceback is logged)."""
    return responses.error(gettext_noop("internal server error"), 500)
