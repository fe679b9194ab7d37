"""Random multipart bodies and form values to every endpoint for a bounded time: never a 500,
never a file written outside the media root."""
import os
import random
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import get_resolver

from accounts.tests.conftest import session_client, token_client, upload_audio
from accounts.tests.multipart import encode

pytestmark = pytest.mark.django_db

FUZZ_SECONDS = float(os.environ.get("ECHOFU_FUZZ_SECONDS", "30"))
SEED = int(os.environ.get("ECHOFU_FUZZ_SEED", "1313"))
CANARY = "fuzzcanary"
POST_ENDPOINTS = {"upload-reference-audio", "upload-training-video", "save_audio", "video_generation", "model_training",
                  "audio_clone", "chat_system", "cancel", "verify-media", "login"}
FIELDS = ["audio", "video", "file", "model_name", "model_param", "ref_audio", "ref_video", "target_text", "gpu_choice",
          "speaker_id", "pitch", "pitch_quality", "model_choice", "epoch", "custom_params", "original_audio_path",
          "ref_audio_path", "audio_id", "target_audio_id", "gen_audio_id", "generate_text", "output_filename", "engine",
          "voice_clone", "api_choice", "consent", "consent_name", "csrfmiddlewaretoken", "username", "password", "next"]


def endpoints() -> list[str]:
    """Every URL pattern of the project with its parameters filled in, the admin and login pages aside."""
    urls = []
    for pattern in get_resolver().url_patterns:
        route = str(pattern.pattern)
        if route.startswith(("admin/", "accounts/")):
            continue
        urls.append("/" + route.replace("<str:model_type>", "{a}").replace("<str:model_name>", "{b}")
                    .replace("<str:history_type>", "{a}").replace("<path:filename>", "{p}").replace("<path:path>", "{p}")
                    .replace("<str:task_id>", "{a}"))
    return urls + ["/accounts/login/"]


class Values:
    def __init__(self, rng: random.Random, known: list[str]):
        self.rng, self.known = rng, known

    def text(self) -> str:
        rng = self.rng
        kind = rng.randrange(9)
        if kind == 0:
            return "".join(chr(rng.randrange(0, 0x110000)) for _ in range(rng.randrange(1, 40))).encode("utf-8", "replace").decode("utf-8", "replace")
        if kind == 1:
            return "../" * rng.randrange(1, 8) + rng.choice(["etc/passwd", CANARY, f"tmp/{CANARY}.wav"])
        if kind == 2:
            return rng.choice(["/", "C:\\", "\\\\h\\", "file://", "static/", "EchOfU/static/", "media/", "models/"]) + CANARY + rng.choice(["", ".wav", ".mp4", "/"])
        if kind == 3:
            return rng.choice(self.known)
        if kind == 4:
            return str(rng.choice([0, -1, 1e309, float("nan"), 2 ** 64, rng.uniform(-1e6, 1e6)]))
        if kind == 5:
            return rng.choice(["\u202e", "\x00", "\ufeff", "😀", "ﷺ", "\u0301"]) * rng.randrange(1, 2000)
        if kind == 6:
            return ",".join(f"{self.word()}={self.word()}" for _ in range(rng.randrange(0, 6)))
        if kind == 7:
            return rng.choice(["true", "false", "EchoLite", "ER-NeRF", "SyncTalk", "GPU0", "GPU9", "cpu", "default", "xtts", "anna"])
        return "".join(rng.choice("abc._-/\\ %") for _ in range(rng.randrange(0, 300)))

    def word(self) -> str:
        return "".join(self.rng.choice("ablr_0.=-") for _ in range(self.rng.randrange(0, 8)))

    def file(self) -> tuple[str, bytes]:
        rng = self.rng
        name = rng.choice([self.text()[:200], f"{CANARY}.wav", f"../../{CANARY}.mp4", "CON.wav", "a.webm", ""]).replace('"', "")
        content = rng.choice([b"", os.urandom(rng.randrange(1, 4096)), self.sample[: rng.randrange(1, len(self.sample))], self.sample])
        return name, content

    sample = b""


def request_for(rng: random.Random, values: Values, url: str):
    """(method, url, body, content type) with a random body: form, multipart, broken multipart, raw bytes."""
    url = url.format(a=values.text()[:100].replace("/", "_") or "x", b=values.text()[:100].replace("/", "_") or "x",
                     p=values.text()[:300].lstrip("/") or "x")
    expected = "POST" if url.rstrip("/").rsplit("/", 1)[-1] in POST_ENDPOINTS else "GET"
    method = expected if rng.random() < 0.85 else rng.choice(["GET", "POST", "PUT", "DELETE", "HEAD"])
    fields = {rng.choice(FIELDS): values.text() for _ in range(rng.randrange(0, 8))}
    files = {rng.choice(["audio", "video", "file", values.word()]): values.file() for _ in range(rng.randrange(0, 3))}
    shape = rng.randrange(4)
    if shape == 0:
        body, content_type = encode(fields, files)
    elif shape == 1:
        body, content_type = encode(fields, files)
        body = body[: rng.randrange(0, len(body) + 1)]  # cut short
    elif shape == 2:
        from urllib.parse import urlencode

        body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    else:
        body = os.urandom(rng.randrange(0, 2048))
        content_type = rng.choice(["multipart/form-data; boundary=x", "multipart/form-data", "application/json", "text/plain"])
    return method, url, body, content_type


def snapshot(*roots: Path) -> set[str]:
    seen = set()
    for root in roots:
        for folder, directories, files in os.walk(root):
            directories[:] = [d for d in directories if d not in (".git", "__pycache__", ".pytest_cache", "media")]
            seen.update(os.path.join(folder, name) for name in files if not name.startswith(".test-db"))
    return seen


def test_random_requests_never_get_a_500_nor_write_outside_the_media_root(alice, bob, settings, media_root, wav_file, plain_video):
    settings.ECHOFU = {**settings.ECHOFU, "RATE_LIMIT_REQUESTS": 100_000, "MAX_AUDIO_BYTES": 1 << 20, "MAX_VIDEO_BYTES": 1 << 20}
    reference = upload_audio(session_client(alice), wav_file).json()["relative_path"]
    known = [reference, "media/audios/input.wav", "models/EchoLite/none", "media/videos/ref_videos/clip.mp4", "anna", "GPU0"]
    rng = random.Random(SEED)
    values = Values(rng, known)
    Values.sample = wav_file.read_bytes()
    clients = [token_client(alice), token_client(bob), session_client(alice)]
    project = Path(django_settings.BASE_DIR)
    watched = (project, media_root.parent)
    before = snapshot(*watched)
    urls = endpoints()
    deadline = time.monotonic() + FUZZ_SECONDS
    sent, codes = 0, {}
    while time.monotonic() < deadline and sent < 5000:
        method, url, body, content_type = request_for(rng, values, rng.choice(urls))
        response = rng.choice(clients).generic(method, url, data=body, content_type=content_type)
        codes[response.status_code] = codes.get(response.status_code, 0) + 1
        assert response.status_code < 500, (method, url, content_type, body[:300], response.content[:300])
        sent += 1
    inside_media = str(media_root) + os.sep
    created = {path for path in snapshot(*watched) - before if not path.startswith(inside_media)}
    assert not created, sorted(created)[:10]
    assert not [path for path in snapshot(media_root) if CANARY in path and "voices/ref_voices" not in path and "videos/ref_videos" not in path and "audios" not in path]
    print(f"fuzz: {sent} requests in {FUZZ_SECONDS:.0f} s, answers {dict(sorted(codes.items()))}")
    assert sent >= 10 and len(set(codes)) >= 2, codes  # it really ran (few requests only on a machine this loaded)
