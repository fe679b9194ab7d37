"""Contract of the upload and listing endpoints (legacy API §1-4, §7)."""
import pytest

from assets.models import ReferenceAudio, TrainingVideo

pytestmark = pytest.mark.django_db


def post_file(client, url, field, path, name=None):
    with open(path, "rb") as handle:
        if name:
            from django.core.files.uploadedfile import SimpleUploadedFile

            return client.post(url, {field: SimpleUploadedFile(name, handle.read())})
        return client.post(url, {field: handle})


def test_upload_reference_audio_stores_file_row_and_documented_json(client, wav_file, media_root):
    response = post_file(client, "/api/upload-reference-audio", "audio", wav_file)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "success"
    assert body["message"] == "音频上传成功"
    assert body["original_name"] == "声音 sample.wav"
    assert body["filename"] == "声音_sample.wav"  # Chinese kept readable, space replaced
    assert body["relative_path"] == "media/voices/ref_voices/声音_sample.wav"
    stored = media_root / "voices/ref_voices/声音_sample.wav"
    assert stored.read_bytes() == wav_file.read_bytes()
    row = ReferenceAudio.objects.get()
    assert row.original_name == "声音 sample.wav" and row.size == wav_file.stat().st_size
    assert row.duration == pytest.approx(1.5, abs=0.05)
    # The returned path is servable at '/' + path.
    served = client.get("/" + body["relative_path"])
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == wav_file.read_bytes()


@pytest.mark.parametrize("name, codec, container", [("recorded.webm", "libopus", "webm"), ("recorded.opus", "libopus", "ogg")])
def test_a_reference_recorded_in_a_browser_is_accepted(client, tmp_path, name, codec, container):
    from engines.testing.simple_media import write_encoded_audio

    recording = write_encoded_audio(tmp_path / name, seconds=1.5, codec=codec, container=container)
    body = post_file(client, "/api/upload-reference-audio", "audio", recording).json()
    assert body["status"] == "success" and body["filename"] == name
    assert ReferenceAudio.objects.get().duration == pytest.approx(1.5, abs=0.1)


def test_same_name_twice_gets_unique_names(client, wav_file, tmp_path):
    from engines.testing.simple_media import write_tone_wav

    (tmp_path / "other").mkdir()
    another = write_tone_wav(tmp_path / "other" / wav_file.name, seconds=2.0)  # the same file again is the row it became
    first = post_file(client, "/api/upload-reference-audio", "audio", wav_file).json()
    second = post_file(client, "/api/upload-reference-audio", "audio", another).json()
    assert first["filename"] != second["filename"]
    assert ReferenceAudio.objects.count() == 2


def test_reference_audio_listing_has_documented_keys(client, wav_file, media_root):
    uploaded = post_file(client, "/api/upload-reference-audio", "audio", wav_file).json()
    body = client.get("/api/reference-audios").json()
    assert body["status"] == "success" and body["total_count"] == 1
    entry = body["files"][0]
    for key, kind in [("filename", str), ("size", int), ("size_mb", float), ("created_time", str),
                      ("modified_time", str), ("file_type", str), ("relative_path", str)]:
        assert isinstance(entry[key], kind), key
    assert (entry["filename"], entry["relative_path"]) == (uploaded["filename"], uploaded["relative_path"])
    assert entry["size"] == wav_file.stat().st_size and entry["size_mb"] == round(entry["size"] / 2**20, 2) > 0
    assert entry["file_type"] == "WAV"
    assert len(entry["created_time"]) == len("2025-01-01 12:00:00")


def test_vanished_file_is_not_listed(client, wav_file, media_root):
    body = post_file(client, "/api/upload-reference-audio", "audio", wav_file).json()
    (media_root / body["relative_path"].removeprefix("media/")).unlink()
    listing = client.get("/api/reference-audios").json()
    assert listing["files"] == [] and listing["total_count"] == 0


def test_upload_training_video_documented_json_and_listing(client, plain_video, media_root):
    response = post_file(client, "/api/upload-training-video", "video", plain_video)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "success" and body["message"] == "视频上传成功"
    assert body["relative_path"] == "media/videos/ref_videos/clip.mp4"
    assert body["original_name"] == "clip.mp4"
    video = TrainingVideo.objects.get()
    assert (video.width, video.height, video.has_audio) == (64, 48, True)
    listing = client.get("/api/training-videos").json()
    assert listing["status"] == "success" and listing["total_count"] == 1
    entry = listing["files"][0]
    assert entry["relative_path"] == body["relative_path"]
    assert entry["fps"] == 25.0 and entry["has_audio"] is True


def test_cloned_audios_empty_catalog(client):
    body = client.get("/api/cloned-audios").json()
    assert body == {"status": "success", "audios": [], "total_count": 0}


def test_list_endpoints_refuse_post(client):
    response = client.post("/api/reference-audios")
    assert response.status_code == 405
    assert response.json()["status"] == "error"


@pytest.mark.parametrize("url", ["/api/reference-audios", "/api/training-videos"])
def test_a_listing_that_fails_answers_the_documented_500(client, monkeypatch, url):
    """Spec §2: 500 with {"status": "error", "message", "files": [], "total_count": 0}."""
    from assets import catalog

    def broken(rows, describe):
        raise OSError(13, "Permission denied", "/srv/echofu/media/voices/ref_voices")

    monkeypatch.setattr(catalog, "listed", broken)
    client.cookies["django_language"] = "en"
    response = client.get(url)
    assert response.status_code == 500
    assert response.json() == {"status": "error", "message": f"文件列表读取失败: {SERVER_FAILURE}",
                               "localized_message": "the file list could not be read: internal server error, see the server's log",
                               "files": [], "total_count": 0}


# The exception's text names server paths and internals: the log keeps it, the client gets this.
SERVER_FAILURE = "服务器内部错误, 详情见服务器日志"


@pytest.mark.parametrize("failure, said, english", [
    (OSError(13, "Permission denied", "/srv/echofu/media/voices/ref_voices/x.wav"), SERVER_FAILURE,
     "internal server error, see the server's log"),
    (OSError(28, "No space left on device", "/srv/echofu/media/voices/ref_voices/x.wav"), "磁盘已满 (No space left on device)",
     "the disk is full (No space left on device)"),
], ids=["unexpected", "disk full"])
def test_an_upload_that_fails_on_our_side_answers_the_documented_500(client, wav_file, monkeypatch, caplog, failure, said, english):
    """Spec §1: 500 with {"status": "error", "message": "音频上传失败: ..."}; nothing is catalogued. A full
    disk is named (the user can act on it), the path never."""
    from assets import catalog

    def broken(upload, owner=None, **consent):
        raise failure

    monkeypatch.setattr(catalog, "save_reference_audio", broken)
    client.cookies["django_language"] = "en"
    response = post_file(client, "/api/upload-reference-audio", "audio", wav_file)
    assert response.status_code == 500
    assert response.json() == {"status": "error", "message": f"音频上传失败: {said}", "localized_message": f"audio upload failed: {english}"}
    assert "/srv/echofu/media/voices/ref_voices/x.wav" in caplog.text  # for whoever runs the server
    assert not ReferenceAudio.objects.exists()
