"""Answers with the error JSON, not a 500 page or a misleading one: a database that stays locked past its
busy timeout, and a body sent in chunks, which Django does not read."""
from django.db import OperationalError

from echofu import responses
from engines.messages import gettext_noop

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
    """Django reads a request body only as far as its Content-Length, so a body sent in chunks without one
    (`curl -X POST -T -`, clients that stream a file) read as empty: an upload was answered 'no file', a form
    that its fields were missing. 411 Length Required says why. A GET, HEAD or OPTIONS reads no body, so
    it is answered as before."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (request.method not in responses.SAFE_METHODS and not request.META.get("CONTENT_LENGTH")
                and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()):
            return responses.error(gettext_noop("the body was sent in chunks without a Content-Length, which this server does not "
                                                "read: send it with its length (curl: -F field=@file for an upload, -d for a form; not -T)"), 411)
        return self.get_response(request)
