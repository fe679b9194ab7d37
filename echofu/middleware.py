"""Answers a database that stays locked past its busy timeout with the error JSON, not a 500 page."""
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
