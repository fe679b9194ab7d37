"""Bad input over every path-like and free-text field of every endpoint: a clear error, never a 500,
nothing stored outside the media root, nothing already stored lost."""
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.conftest import CONSENT, session_client, upload_audio
from assets.models import ReferenceAudio, SpeakerProfile, TrainingVideo
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db

PATH_VALUES = [
    "../../../../etc/passwd", "/etc/passwd", "media/../../../etc/hosts", "static/../../../etc/hosts",
    "EchOfU/static/../../../../etc/passwd", "models/../../../../etc", "..", ".", "/", "", " ",
    "media/voices/ref_voices/", "media/tmp/uploads/x.wav", "a\x00b.wav", "C:\\Windows\\win.ini", "\\\\host\\share\\x.wav",
    "file:///etc/passwd", "http://169.254.169.254/latest", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "media/voices/ref_voices/outside.wav",
    "CON", "NUL.wav", "aux.mp4", "\u202egpj.wav", "ملف.wav", "名字/../../x", "x" * 5000, "\x01\x02\x7f\ufffd",
]
TEXT_VALUES = ["x" * 100_000, "\x00\x01\x02\x1b[31m", "\u202e\u2066RTL\u2069 مرحبا", "😀" * 3000, "\ud7ff\ue000\uffff", "null", "<script>"]

OUTSIDE_NAME = "echofu-outside-canary"


@pytest.fixture
def studio(alice, wav_file, plain_video, media_root, tmp_path, settings):
    """Alice's catalog: a consented reference, a checked training video, a speaker, a model; plus a symlink out."""
    settings.ECHOFU = {**settings.ECHOFU, "RATE_LIMIT_REQUESTS": 100_000}
    client = session_client(alice)
    audio = upload_audio(client, wav_file).json()
    reference = ReferenceAudio.objects.get()
    (media_root / "videos/ref_videos/anna.mp4").write_bytes(plain_video.read_bytes())
    TrainingVideo.objects.create(file="videos/ref_videos/anna.mp4", owner=alice, probe_status="ok", probe={"errors": [], "warnings": []},
                                 consent_name="Anna", consent_wording="statement", consent_at=reference.consent_at)
    video = {"relative_path": "media/videos/ref_videos/anna.mp4"}
    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="m1", owner=alice)
    SpeakerProfile.objects.create(speaker_id="anna", reference=reference, reference_path=reference.file.name, owner=alice)
    outside = tmp_path / f"{OUTSIDE_NAME}.wav"
    outside.write_bytes(wav_file.read_bytes())
    os.symlink(outside, media_root / "voices/ref_voices/outside.wav")
    os.symlink(tmp_path, media_root / "models/EchoLite/linked")
    ReferenceAudio.objects.create(file="voices/ref_voices/outside.wav", owner=alice, consent_name="x", consent_wording="x",
                                  consent_at=reference.consent_at)
    return {"client": client, "audio": audio["relative_path"], "video": video["relative_path"], "outside": outside}


def forms(studio):
    """Each endpoint's form with every field valid, so one bad field is what the server judges."""
    return {
        "/video_generation": {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "ref_audio": "media/voices/ref_voices/none.wav",
                              "gpu_choice": "GPU0", "speaker_id": "", "pitch": "0", "pitch_quality": "", "target_text": ""},
        "/model_training": {"model_choice": "EchoLite", "ref_video": studio["video"], "gpu_choice": "GPU0", "epoch": "1",
                            "custom_params": "lr=0.001"},
        "/audio_clone": {"original_audio_path": studio["audio"], "target_audio_id": "anna2"},
        "/chat_system": {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "voice_clone": "false", "api_choice": "",
                         "speaker_id": "", "ref_audio": "", "pitch": "0"},
    }


# (endpoint, field, values): every path-like and free-text field of every form endpoint.
FIELDS = [
    ("/video_generation", "model_param", PATH_VALUES), ("/video_generation", "ref_audio", PATH_VALUES),
    ("/video_generation", "model_name", PATH_VALUES), ("/video_generation", "gpu_choice", PATH_VALUES + TEXT_VALUES),
    ("/video_generation", "speaker_id", PATH_VALUES), ("/video_generation", "pitch", PATH_VALUES + ["nan", "inf", "1e309"]),
    ("/model_training", "ref_video", PATH_VALUES), ("/model_training", "model_choice", PATH_VALUES),
    ("/model_training", "gpu_choice", [value for value in PATH_VALUES if value.strip()]),  # blank means the default
    ("/model_training", "epoch", ["-1", "0", "1e3", "9" * 40, "9" * 5000, "nan", "\u00b2", "\u0663"] + TEXT_VALUES),
    ("/model_training", "custom_params", ["lr=abc", "=1", "lr", "lr=", "lr=nan", "lr=1e309", "lr=-1", "batch_size=0",
                                          "batch_size=1.5", "a b=1", "\x00=1", "x=" + "1" * 100_000] + TEXT_VALUES),
    ("/audio_clone", "original_audio_path", PATH_VALUES), ("/audio_clone", "target_audio_id", PATH_VALUES + TEXT_VALUES),
    ("/audio_clone", "engine", PATH_VALUES), ("/audio_clone", "pitch", ["nan", "inf", "99", "x"]),
    ("/chat_system", "model_name", PATH_VALUES), ("/chat_system", "pitch", ["nan", "1e309", "x"]),
]
GENERATE = [("ref_audio_path", PATH_VALUES), ("audio_id", PATH_VALUES + TEXT_VALUES), ("generate_text", TEXT_VALUES[:1] + ["", "   "])]


def assert_clear_error(response, allowed=(400, 404, 501)):
    assert response.status_code in allowed, (response.status_code, response.content[:300])
    body = response.json()
    assert body["status"] == "error" and isinstance(body["message"], str) and body["message"]


def assert_nothing_outside(studio, media_root):
    assert not any(OUTSIDE_NAME in name for name in os.listdir(media_root.parent) if name != media_root.name)
    assert studio["outside"].read_bytes()[:4] == b"RIFF"  # the file behind the symlink is untouched
    assert list((media_root / "tmp/uploads").iterdir()) == []


@pytest.mark.parametrize("endpoint,field,values", FIELDS, ids=[f"{e}:{f}" for e, f, _ in FIELDS])
def test_form_fields_refuse_bad_values(studio, media_root, endpoint, field, values):
    base = forms(studio)[endpoint]
    stored_before = sorted(p.relative_to(media_root) for p in media_root.rglob("*") if p.is_file())
    for value in values:
        assert_clear_error(studio["client"].post(endpoint, {**base, field: value}))
    assert sorted(p.relative_to(media_root) for p in media_root.rglob("*") if p.is_file()) == stored_before
    assert_nothing_outside(studio, media_root)


@pytest.mark.parametrize("field,values", GENERATE, ids=[field for field, _ in GENERATE])
def test_generate_mode_fields_refuse_bad_values(studio, media_root, field, values):
    base = {"generate_text": "hello", "audio_id": "anna"}
    for value in values:
        form = {**base, field: value}
        if field == "ref_audio_path":
            form.pop("audio_id")
        assert_clear_error(studio["client"].post("/audio_clone", form))
    assert_nothing_outside(studio, media_root)


URLS = [
    "/media/../../../etc/passwd", "/media/voices/ref_voices/outside.wav", "/media/models/EchoLite/linked/" + OUTSIDE_NAME + ".wav",
    "/video/..%2f..%2f..%2fetc%2fpasswd", "/video/%2e%2e/%2e%2e/etc/passwd", "/media/tmp/uploads", "/media/%00",
    "/media/" + "a/" * 400, "/api/model-details/EchoLite/..", "/api/model-details/EchoLite/linked", "/api/model-details/../etc",
    "/api/model-details/EchoLite/" + "x" * 3000, "/api/history/..%2f..%2fetc", "/api/history/" + "h" * 100,
    "/api/tasks/..%2fx", "/api/tasks/" + "t" * 5000, "/api/train-status/%00", "/media/\u202e.wav",
]


@pytest.mark.parametrize("url", URLS)
def test_url_paths_never_leave_the_media_root(studio, media_root, url):
    response = studio["client"].get(url)
    assert response.status_code in (400, 404), (url, response.status_code)
    if response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        assert body == [] or body["status"] == "error"
    assert b"root:" not in b"".join(response.streaming_content) if response.streaming else b"root:" not in response.content


UPLOAD_NAMES = ["../../" + OUTSIDE_NAME + ".wav", "/tmp/" + OUTSIDE_NAME + ".wav", "CON.wav", "nul.WAV", "\u202egpj.wav",
                "a" * 400 + ".wav", ".wav", "..wav", "声音 样本.wav", "C:\\evil\\x.wav", "x.wav.", " .wav", "com1.wav"]


@pytest.mark.parametrize("name", UPLOAD_NAMES)
def test_odd_upload_names_are_stored_under_a_safe_name_inside_the_root(studio, media_root, wav_file, name):
    response = studio["client"].post("/api/upload-reference-audio", {"audio": SimpleUploadedFile(name, wav_file.read_bytes()), **CONSENT})
    if response.status_code == 200:
        stored = response.json()["filename"]
        assert (media_root / "voices/ref_voices" / stored).read_bytes() == wav_file.read_bytes()
        assert "/" not in stored and "\\" not in stored and "\u202e" not in stored and len(stored) <= 100
        assert os.path.splitext(stored)[0].upper() not in ("CON", "NUL", "COM1")
    else:
        assert_clear_error(response, (400,))
    assert_nothing_outside(studio, media_root)


@pytest.mark.parametrize("endpoint,field,name,content", [
    ("/api/upload-reference-audio", "audio", "empty.wav", b""),
    ("/api/upload-reference-audio", "audio", "text.wav", b"RIFF....WAVEfmt this is not audio" * 10),
    ("/api/upload-reference-audio", "audio", "image.mp3", b"\x89PNG\r\n\x1a\n" + b"\x00" * 500),
    ("/api/upload-training-video", "video", "empty.mp4", b""),
    ("/api/upload-training-video", "video", "script.mp4", b"#!/bin/sh\nrm -rf /\n"),
    ("/api/upload-training-video", "video", "audio-only.mp4", None),  # a real WAV that claims to be a video
    ("/save_audio", "audio", "empty.wav", b""),
    ("/save_audio", "audio", "html.webm", b"<html></html>" * 50),
    ("/api/verify-media", "file", "empty.mp4", b""),
    ("/api/verify-media", "file", "zip.wav", b"PK\x03\x04" + b"\x00" * 300),
])
def test_zero_byte_and_lying_uploads(studio, media_root, wav_file, endpoint, field, name, content):
    before = ReferenceAudio.objects.count() + TrainingVideo.objects.count()
    upload = SimpleUploadedFile(name, wav_file.read_bytes() if content is None else content)
    assert_clear_error(studio["client"].post(endpoint, {field: upload, **CONSENT}), (400,))
    assert ReferenceAudio.objects.count() + TrainingVideo.objects.count() == before
    assert_nothing_outside(studio, media_root)


def test_oversized_uploads_are_refused_while_streaming(studio, media_root, settings):
    settings.ECHOFU = {**settings.ECHOFU, "MAX_AUDIO_BYTES": 64 * 1024, "MAX_VIDEO_BYTES": 64 * 1024}
    big = b"\x00" * (256 * 1024)
    for endpoint, field in (("/api/upload-reference-audio", "audio"), ("/api/upload-training-video", "video"), ("/save_audio", "audio"),
                            ("/api/verify-media", "file")):
        response = studio["client"].post(endpoint, {field: SimpleUploadedFile("big.wav", big), **CONSENT})
        assert_clear_error(response, (400, 413))
    assert_nothing_outside(studio, media_root)


@pytest.mark.parametrize("size", [10 * 1024, 256 * 1024])
def test_form_endpoints_refuse_file_parts_without_spooling_them(studio, media_root, size):
    for endpoint, fields in forms(studio).items():
        response = studio["client"].post(endpoint, {**fields, "junk": SimpleUploadedFile("junk.bin", b"\x00" * size)})
        assert_clear_error(response, (400,))
    assert_nothing_outside(studio, media_root)
