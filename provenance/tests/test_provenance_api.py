"""Every generated file says what it is, through the HTTP API: record, label, marker, row, verify."""
import io
import json
import sys

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.tests.conftest import error_message, session_client, token_client, upload_audio, upload_video
from assets.models import GeneratedAudio, ReferenceAudio
from engines import media, provenance
from engines.testing.fake_nerf import make_fake_checkout
from engines.testing.face_video import make_talking_face_video
from engines.testing.voices import other_speaker
from engines.testing.memory import traced_peak
from engines.testing.simple_media import transcode_audio
from generation.models import GeneratedVideo
from provenance.models import ProvenanceRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def speech_samples():
    return other_speaker("Please call Stella. Ask her to bring these things with her from the store. Six spoons of fresh snow peas.")


@pytest.fixture
def speech_file(tmp_path, speech_samples):
    path = tmp_path / "anna reference.wav"
    media.write_wav(path, np.concatenate([np.zeros(4000), speech_samples]), 16000)
    return path


def verify(client, path):
    with open(path, "rb") as handle:
        response = client.post("/api/verify-media", {"file": handle})
    assert response.status_code == 200, response.content
    return response.json()


def test_generated_speech_carries_record_marker_and_row(alice, bob, staff, speech_file, media_root, tmp_path, settings, voice_fit_reused):
    as_alice, as_bob, as_staff = session_client(alice), token_client(bob), session_client(staff)
    reference = upload_audio(as_alice, speech_file, consent_name="Anna Li").json()
    assert as_alice.post("/audio_clone", {"original_audio_path": reference["relative_path"], "target_audio_id": "anna"}).json()["status"] == "success"
    spoken = as_alice.post("/audio_clone", {"generate_text": "Hello, this voice was made by a machine.", "audio_id": "anna"}).json()
    assert spoken["status"] == "success", spoken
    output = media_root / spoken["cloned_audio_path"].removeprefix("media/")

    record = provenance.read_record(output)
    assert record.request_id == spoken["task_id"] and record.voice_id.startswith("anna v") and record.kind == "audio"
    assert record.sources == ["anna_reference"]
    assert provenance.detect_marker_in_file(output, settings.ECHOFU["MARK_KEY"]).found
    row = ProvenanceRecord.objects.get(request_id=spoken["task_id"])
    assert row.owner == alice and row.speaker.speaker_id == "anna" and row.sources[0]["consent_name"] == "Anna Li"
    assert GeneratedAudio.objects.get().file.name == row.file

    mine = verify(as_alice, output)
    assert mine["made_here"] and mine["record"]["request_id"] == spoken["task_id"] and mine["marker"]["found"]
    assert mine["provenance"]["exact_copy"] and mine["provenance"]["voice"].startswith("anna")
    assert mine["provenance"]["sources"][0]["path"] == reference["relative_path"]
    assert verify(as_staff, output)["provenance"]["owner"] == "alice"
    theirs = verify(as_bob, output)  # Bob learns it is synthetic, not whose voice it is
    assert theirs["made_here"] and "sources" not in theirs["provenance"]

    # Shared as MP3 / AAC: the metadata is gone, the marker still says where it came from.
    for codec in ("mp3", "aac"):
        copy = transcode_audio(output, tmp_path / f"shared.{codec}", codec, 96_000)
        shared = verify(as_bob, copy)
        assert shared["made_here"] and shared["record"] is None and shared["marker"]["found"], shared
    unrelated = verify(as_bob, speech_file)
    assert not unrelated["made_here"] and not unrelated["marker"]["found"]
    # The verdict in the contract's Chinese, and in the page's language: it read both at once
    assert (mine["message"], unrelated["message"]) == ("此文件由本工作室生成", "未发现本工作室的生成标记")
    as_bob.cookies["django_language"] = "en"
    assert verify(as_bob, speech_file)["localized_message"] == "no mark of this studio was found: not made here"

    out = io.StringIO()
    call_command("verify_media", str(output), str(copy), stdout=out, stderr=io.StringIO())
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["made_here"] for line in lines] == [True, True]
    assert lines[0]["provenance"]["request_id"] == spoken["task_id"]
    # A file not made here, or missing, fails the command (exit status 1) and the others are still checked.
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"(?s)missing.wav: no such file.*not made by this studio"):
        call_command("verify_media", str(tmp_path / "missing.wav"), str(speech_file), str(output), stdout=out, stderr=io.StringIO())
    assert [json.loads(line)["made_here"] for line in out.getvalue().splitlines()] == [False, True]


def test_verify_refuses_what_is_not_media(alice):
    client = session_client(alice)
    assert "文件" in error_message(client.post("/api/verify-media", {}), 400)
    from django.core.files.uploadedfile import SimpleUploadedFile

    refused = client.post("/api/verify-media", {"file": SimpleUploadedFile("x.mp4", b"not a video")})
    message = error_message(refused, 400)
    # In Chinese, as every message is, with FFmpeg's own words kept inside it (once, not wrapped twice).
    assert message.startswith("无法读取为音频或视频 (FFmpeg 原文: ") and message.count("无法读取") == 1, message
    assert refused.json()["localized_message"] == message


def test_verify_refuses_frames_over_the_size_limit_without_decoding_one(alice, plain_video, settings, monkeypatch):
    """Opening a video decodes its first frame (its display rotation): a 16000-pixel square is a gigabyte."""
    settings.ECHOFU = {**settings.ECHOFU, "MAX_VIDEO_SIDE": 60}
    decoded = []
    first_frame = media._first_frame
    monkeypatch.setattr(media, "_first_frame", lambda *args: decoded.append(args) or first_frame(*args))
    with open(plain_video, "rb") as handle:
        refused = session_client(alice).post("/api/verify-media", {"file": handle})
    assert error_message(refused, 400) == "视频画面过大: 64 x 48 像素, 每边最多 60 像素"
    assert decoded == []


@pytest.fixture
def fake_ernerf(settings, tmp_path, monkeypatch):
    checkout = make_fake_checkout(tmp_path / "ER-NeRF", "ER-NeRF")
    settings.ECHOFU = {**settings.ECHOFU, "ERNERF_DIR": str(checkout), "ERNERF_PYTHON": sys.executable, "EXTERNAL_REQUIRE_CUDA": False}
    monkeypatch.setenv("FAKE_NERF_STEP_SECONDS", "0")
    return checkout


@pytest.mark.slow
def test_rendered_video_is_labelled_by_deployment_never_by_request(alice, fake_ernerf, speech_file, media_root, tmp_path, settings,
                                                                   monkeypatch):
    from monitoring import repeats

    # The two renders are one form sent twice, a switch apart: no double click to answer with the first.
    monkeypatch.setattr(repeats, "REPEATED_REQUEST_SECONDS", 0)
    client = session_client(alice)
    video = upload_video(client, make_talking_face_video(tmp_path / "anna.mp4", seconds=3.2, size=256), consent_name="Anna Li").json()
    from assets.models import TrainingVideo

    TrainingVideo.objects.update(probe={"errors": [], "warnings": []}, probe_status="ok")  # a plain clip has no face for the EchoLite probe
    trained = client.post("/model_training", {"model_choice": "ER-NeRF", "ref_video": video["relative_path"],
                                               "custom_params": "iters=20, torso=false"}).json()
    status = client.get(f"/api/train-status/{trained['task_id']}").json()
    assert status["state"] == "succeeded", status
    audio = upload_audio(client, speech_file).json()
    form = {"model_name": "ER-NeRF", "model_param": status["model_path"], "ref_audio": audio["relative_path"]}
    # Whatever a request says, the label stays on.
    labelled = client.post("/video_generation", {**form, "label": "false", "ai_label": "0", "watermark": "off"}).json()
    assert labelled["status"] == "success", labelled
    settings.ECHOFU = {**settings.ECHOFU, "VIDEO_LABEL": False}  # the deployment switch (staff)
    plain = client.post("/video_generation", form).json()

    paths = [media_root / body["video_path"].removeprefix("media/") for body in (labelled, plain)]
    first, second = (next(media.iter_video_frames(path)).astype(int) for path in paths)
    x, y, w, h = provenance.Label(first.shape[1], first.shape[0]).region
    assert np.abs(first[y:y + h, x:x + w] - second[y:y + h, x:x + w]).max() > 100
    assert np.abs(first[: y - 4] - second[: y - 4]).mean() < 2
    for path, body in zip(paths, (labelled, plain)):
        assert media.container_comment(path) == media.AI_GENERATED
        record = provenance.read_record(path)
        assert record.request_id == body["task_id"] and record.model_id.startswith("ER-NeRF/")
        assert record.sources == ["anna", "anna_reference"]
        assert provenance.detect_marker_in_file(path, settings.ECHOFU["MARK_KEY"]).found
    rows = {row.request_id: row for row in ProvenanceRecord.objects.filter(kind="video")}
    assert rows[labelled["task_id"]].label and not rows[plain["task_id"]].label
    assert GeneratedVideo.objects.filter(ai_generated=True).count() == 2
    assert verify(client, paths[0])["provenance"]["model"].startswith("ER-NeRF/")


def test_anonymous_verify_needs_an_account(multi_user, speech_file):
    with open(speech_file, "rb") as handle:
        assert error_message(Client().post("/api/verify-media", {"file": handle}), 401)


def test_verifying_a_long_file_reads_a_bounded_part_of_it(alice, tmp_path):
    # A marker repeats every 0.256 s, so a minute finds it; the whole soundtrack of a long upload (a low
    # bitrate Opus track under the 200 MB limit lasts days) took several bytes of memory per sample in the
    # web server's own process: a few such requests exhausted the machine.
    long_file = tmp_path / "ten minutes.wav"
    rate, seconds = 8000, 600
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate) * 32767).astype("<i2").tobytes()
    import wave

    with wave.open(str(long_file), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        for _ in range(seconds):
            writer.writeframes(tone)
    client = session_client(alice)
    verdict, peak = traced_peak(lambda: verify(client, long_file))
    assert peak < 120 * 1024 * 1024, f"{peak / 2**20:.0f} MiB"
    assert verdict["made_here"] is False and verdict["marker"]["seconds"] <= provenance.MARK_SCAN_SECONDS


def test_the_record_inside_a_file_names_sources_as_their_owner_does(alice, bob, speech_file, media_root, voice_fit_reused):
    """Anyone holding the file reads its record: stored file names (Bob's upload of the same name made
    Alice's file `anna_reference_2.wav`) would tell of other accounts' uploads, so it names Alice's own."""
    upload_audio(token_client(bob), speech_file)
    as_alice = session_client(alice)
    reference = upload_audio(as_alice, speech_file, consent_name="Anna Li").json()
    assert reference["relative_path"].endswith("_2.wav")  # the folder is shared: the setting of the leak
    assert as_alice.post("/audio_clone", {"original_audio_path": reference["relative_path"], "target_audio_id": "anna"}).json()["status"] == "success"
    spoken = as_alice.post("/audio_clone", {"generate_text": "Hello there.", "audio_id": "anna"}).json()
    record = provenance.read_record(media_root / spoken["cloned_audio_path"].removeprefix("media/"))
    assert record.sources == [ReferenceAudio.objects.get(pk=reference["id"]).display_name] == ["anna_reference"]
    row = ProvenanceRecord.objects.get(request_id=spoken["task_id"])
    assert row.sources[0]["path"] == reference["relative_path"]  # its owner and staff still find the file
