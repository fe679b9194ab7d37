"""A database that stays locked past its busy timeout is answered with the error JSON, not a 500 page; a
body sent in chunks, which Django would read as empty, is read here first."""
import contextlib
import logging
import socket

from django.db import OperationalError
from django.urls import Resolver404, resolve

from echofu import responses
from echofu.messages import reason_of
from echofu.uploads import BodyRefused, read_chunked_body
from echofu.views import not_found
from engines.messages import gettext_noop

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseBusyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return busy_database_answer(exception)


def busy_database_answer(exception: BaseException):
    """503 with Retry-After when `exception` is a database lock held past the busy timeout, else None."""
    if isinstance(exception, OperationalError) and "locked" in str(exception).lower():
        response = responses.error(gettext_noop("the database is busy with a long write: try again shortly"), 503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return None


class ChunkedBodyMiddleware:
    """Reads a body sent in chunks without a Content-Length (`curl -H "Transfer-Encoding: chunked" -F ...`,
    clients that stream a file), which Django would read as empty, before any view or check reads the body.
    A GET, HEAD or OPTIONS reads no body, so it is answered as before."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (request.method in responses.SAFE_METHODS or request.META.get("CONTENT_LENGTH")
                or "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()):
            return self.get_response(request)
        try:
            resolve(request.path_info)
        except Resolver404:  # nothing would read it: a mistyped address was answered only once the whole upload was stored
            stop_reading(request)
            return not_found(request)
        try:
            body = read_chunked_body(request)
        except BodyRefused as exc:
            stop_reading(request)
            return responses.error(reason_of(exc), exc.status)
        except OSError as exc:  # storing it: a full disk
            logger.exception("a body sent in chunks could not be stored")
            return responses.server_failure(gettext_noop("the request's body could not be stored"), exc)
        with body:
            return self.get_response(request)


def stop_reading(request) -> None:
    """gunicorn reads what is left of a body before it reads the next request on its connection: after a body
    refused for its size it went on reading whatever the client sent (9.5 GB in 15 s, with no end in sight).
    With the socket's reading side shut, it meets the end at once and closes the connection once answered."""
    connection = request.environ.get("gunicorn.socket")
    if connection is not None:
        with contextlib.suppress(OSError):  # the client already gone
            connection.shutdown(socket.SHUT_RD)
