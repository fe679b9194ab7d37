"""gunicorn -c echofu/gunicorn_conf.py echofu.wsgi:application — how `./run.sh serve` (and the jobs
benchmark) serve the studio. Refuses to start single-user mode on a public address.

gthread workers: a synchronous endpoint waiting for its job holds a thread, not a process.
"""
import os
import signal

from gunicorn import util

from echofu.env import env_float, env_int
from echofu.settings import ECHOFU

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echofu.settings")

worker_class = "gthread"
workers = max(1, env_int("ECHOFU_WEB_WORKERS", 3))
threads = max(1, env_int("ECHOFU_WEB_THREADS", 8))
preload_app = True
# A worker told to stop lets its requests finish this long: the same grace period as the running jobs
# they wait for (run.sh kills what is left once it ends).
graceful_timeout = ECHOFU["STOP_GRACE_SECONDS"]
# A blocking /audio_clone or /video_generation answer waits up to ECHOFU_SYNC_WAIT_SECONDS for its job.
timeout = int(env_float("ECHOFU_SYNC_WAIT_SECONDS", 600)) + 60
accesslog = "-"
errorlog = "-"


def post_worker_init(worker):
    """A worker told to stop (SIGTERM from gunicorn's master) lets its waiting requests know, so that
    they answer before the grace period ends (monitoring.shutdown)."""
    from monitoring import shutdown

    def stop(signum, frame):
        shutdown.request_stop()
        worker.handle_exit(signum, frame)

    signal.signal(signal.SIGTERM, stop)
    # gunicorn writes the answer to a request it refuses itself through this one function.
    util.write_error = write_json_error


# gunicorn's own, an HTML page: still the answer should the JSON one fail to build.
write_html_error = util.write_error
# The client's bytes gunicorn quotes (an invalid request line, up to 4 KB) are cut to this many characters.
MAX_DETAIL_CHARS = 300


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """The contract's error JSON for a request gunicorn refuses before Django sees it (a request line
    over 4094 bytes, a header over 8190 or more than 100 of them, a malformed request), or that failed
    after Django answered (a streamed file gone mid-response), instead of its HTML page: API clients
    read `status` and `message`. In the site's language: the request's own cookie was not read, and a
    pool thread keeps the language of the last request it served."""
    try:
        from django.conf import settings
        from django.utils import translation

        from echofu.responses import error
        from engines.messages import gettext_noop

        if status_int >= 500:
            message = gettext_noop("internal server error, see the server's log")
        else:
            message = gettext_noop("the server refused the request before reading it: {detail}", detail=(mesg or reason)[:MAX_DETAIL_CHARS])
        with translation.override(settings.LANGUAGE_CODE):
            body = error(message, status_int).content
    except Exception:
        write_html_error(sock, status_int, reason, mesg)
        return
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


def on_starting(server):
    import django

    django.setup()
    from accounts.bind import check_bind

    for bind in server.cfg.bind:
        check_bind(bind)
