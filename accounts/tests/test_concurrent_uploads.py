"""50 uploads at once to a real server on loopback: every one stored whole under its own name, or cleanly refused."""
import json
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from rest_framework.authtoken.models import Token

from accounts.tests.conftest import CONSENT
from accounts.tests.multipart import encode
from assets.models import ReferenceAudio
from echofu.tests.at_once import at_once
from engines import media

UPLOADS = 50


def _wav_bytes(tmp_path, index: int) -> bytes:
    path = tmp_path / f"tone{index}.wav"
    t = np.arange(8000) / 16000
    media.write_wav(path, 0.3 * np.sin(2 * np.pi * (200 + 7 * index) * t), 16000)
    return path.read_bytes()


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class LoopbackServer(ThreadedWSGIServer):
    """Django's threaded server with a production-sized listen backlog (the default 5 resets a burst of 50)."""

    request_queue_size = 128


@pytest.fixture
def server_url():
    server = LoopbackServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_uploads_are_all_stored_and_none_mixed_up(server_url, alice, tmp_path, media_root):
    key = Token.objects.create(user=alice).key
    contents = [_wav_bytes(tmp_path, index) for index in range(UPLOADS)]
    def upload(index: int) -> tuple[int, dict]:
        # Every upload has the same file name: the server must still keep them apart.
        body, content_type = encode({**CONSENT, "consent_name": f"person {index}"}, {"audio": ("同名 same.wav", contents[index])})
        request = urllib.request.Request(f"{server_url}/api/upload-reference-audio", data=body, method="POST",
                                         headers={"Content-Type": content_type, "Authorization": f"Token {key}"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    answers = at_once([lambda index=index: upload(index) for index in range(UPLOADS)], timeout=180)
    assert all(isinstance(answer, tuple) for answer in answers), answers
    stored = [(index, body) for index, (code, body) in enumerate(answers) if code == 200]
    for code, body in answers:
        assert code in (200, 413, 429, 503) and body["status"] in ("success", "error"), body
    assert len(stored) == UPLOADS, [answer for answer in answers if answer[0] != 200][:3]
    assert len({body["relative_path"] for _, body in stored}) == UPLOADS
    for index, body in stored:
        assert (media_root / body["relative_path"].removeprefix("media/")).read_bytes() == contents[index]
        row = ReferenceAudio.objects.get(pk=body["id"])
        assert row.consent_name == f"person {index}" and row.owner == alice and row.original_name == "同名 same.wav"
    assert ReferenceAudio.objects.count() == UPLOADS
    assert list((media_root / "tmp/uploads").iterdir()) == []
