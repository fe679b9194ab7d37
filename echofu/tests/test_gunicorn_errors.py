"""What a client reads when gunicorn answers a request itself (echofu/gunicorn_conf.write_json_error): the
contract's error JSON, in the site's language, whatever the serving thread's language was."""
import json
import socket

from django.utils import translation

from echofu import gunicorn_conf


def answer(status: int, reason: str, mesg: str) -> tuple[str, dict, bytes]:
    ours, client = socket.socketpair()
    with ours, client:
        gunicorn_conf.write_json_error(ours, status, reason, mesg)
        ours.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := client.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert int(headers["Content-Length"]) == len(body)
    return status_line, headers, body


def test_a_refused_request_line_gets_the_error_json_with_gunicorns_reason_cut_short():
    translation.activate("en")  # the last request this pool thread served was an English page's
    try:
        status_line, headers, body = answer(400, "Bad Request", "Invalid Request Line '%s'" % ("\\x00" * 2000))
    finally:
        translation.deactivate()
    assert status_line == "HTTP/1.1 400 Bad Request" and headers["Content-Type"] == "application/json"
    said = json.loads(body)
    assert said["status"] == "error"
    assert said["message"] == said["localized_message"]
    assert said["message"].startswith("服务器在读取请求之前拒绝了它: Invalid Request Line '\\x00")
    assert len(said["message"]) < 340


def test_a_failure_after_django_answered_is_not_called_a_refusal():
    status_line, _, body = answer(500, "Internal Server Error", "")
    assert status_line == "HTTP/1.1 500 Internal Server Error"
    assert json.loads(body) == {"status": "error", "message": "服务器内部错误, 详情见服务器日志",
                                "localized_message": "服务器内部错误, 详情见服务器日志"}


def test_gunicorns_own_page_still_answers_when_the_json_cannot_be_built(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no JSON today")

    monkeypatch.setattr("echofu.responses.error", broken)
    status_line, headers, body = answer(431, "Request Header Fields Too Large", "Error parsing headers: 'limit request headers fields size'")
    assert status_line == "HTTP/1.1 431 Request Header Fields Too Large" and headers["Content-Type"] == "text/html"
    assert b"limit request headers fields size" in body

