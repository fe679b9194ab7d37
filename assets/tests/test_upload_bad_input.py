"""Bad uploads get a clear error JSON and leave stored files and rows untouched."""
import io
import json
import socket

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIRequest

from assets.models import ReferenceAudio, TrainingVideo
from engines import media
from engines.testing.simple_media import declare_matroska_duration, write_encoded_audio, write_matroska_video, write_plain_video
from engines.testing.memory import traced_peak
from assets.views import upload_reference_audio
from echofu.ownership import local_user
from accounts.tests.multipart import post_chunked

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored_audio(client, wav_file, media_root):
    """One good upload already in the catalog, to prove bad uploads do not touch it."""
    with open(wav_file, "rb") as handle:
        body = client.post("/api/upload-reference-audio", {"audio": handle}).json()
    stored = media_root / body["relative_path"].removeprefix("media/")
    return stored, stored.read_bytes()


def assert_untouched(stored_audio, media_root):
    stored, content = stored_audio
    assert stored.read_bytes() == content
    assert ReferenceAudio.objects.count() == 1
    assert sorted(p.name for p in (media_root / "voices/ref_voices").iterdir()) == [stored.name]
    assert list((media_root / "tmp/uploads").iterdir()) == []


def error_of(response, code=400):
    assert response.status_code == code, response.content
    body = json.loads(response.content)
    assert body["status"] == "error" and body["message"]
    return body["message"]


def test_no_file(client, stored_audio, media_root):
    assert "audio" in error_of(client.post("/api/upload-reference-audio", {}))
    assert_untouched(stored_audio, media_root)


@pytest.mark.parametrize("url", ["/api/upload-reference-audio", "/save_audio"])
@pytest.mark.parametrize("content_type, message", [
    # `curl --data-binary @voice.wav`: curl names it a urlencoded form
    ("application/x-www-form-urlencoded", "文件只从 multipart/form-data 上传的字段 'audio' 中读取 (curl -F audio=@file), 不从 application/x-www-form-urlencoded 读取"),
    ("audio/wav", "文件只从 multipart/form-data 上传的字段 'audio' 中读取 (curl -F audio=@file), 不从 audio/wav 读取"),
    ("", "请求没有 Content-Type: 请以 multipart/form-data 在字段 'audio' 中上传文件 (curl -F audio=@file)"),
])
def test_a_file_sent_as_the_body_itself_is_told_how_to_upload_it(client, stored_audio, media_root, wav_file, url, content_type, message):
    """It was answered that no file was sent, which the script had just sent."""
    response = client.generic("POST", url, wav_file.read_bytes(), content_type=content_type)
    assert error_of(response, 400) == message
    assert_untouched(stored_audio, media_root)


def test_wrong_field_name(client, stored_audio, media_root, wav_file):
    with open(wav_file, "rb") as handle:
        assert "audio" in error_of(client.post("/api/upload-reference-audio", {"file": handle}))
    assert_untouched(stored_audio, media_root)


def test_empty_file(client, stored_audio, media_root):
    message = error_of(client.post("/api/upload-reference-audio", {"audio": SimpleUploadedFile("a.wav", b"")}))
    assert "空" in message
    assert_untouched(stored_audio, media_root)


@pytest.mark.parametrize("url, field", [("/api/upload-reference-audio", "audio"), ("/api/upload-training-video", "video"),
                                        ("/save_audio", "audio"), ("/api/verify-media", "file")])
@pytest.mark.parametrize("extra", ["fields", "files"])
def test_more_parts_than_django_parses_answer_400(client, stored_audio, media_root, wav_file, settings, url, field, extra):
    """Past DATA_UPLOAD_MAX_NUMBER_FIELDS / _FILES Django stops parsing: the request is malformed, not our failure."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = settings.DATA_UPLOAD_MAX_NUMBER_FILES = 5
    parts = ({f"note{index}": "x" for index in range(10)} if extra == "fields"
             else {f"extra{index}": SimpleUploadedFile(f"{index}.wav", b"x") for index in range(10)})
    client.cookies["django_language"] = "en"
    with open(wav_file, "rb") as handle:
        response = client.post(url, {field: handle, **parts})
    assert response.status_code == 400
    assert response.json()["message"].startswith("请求无法解析: ")
    assert response.json()["localized_message"].startswith("the request cannot be parsed: ")
    assert_untouched(stored_audio, media_root)


def test_wrong_extension(client, stored_audio, media_root, wav_file):
    upload = SimpleUploadedFile("voice.exe", wav_file.read_bytes())
    assert "不支持的文件格式" in error_of(client.post("/api/upload-reference-audio", {"audio": upload}))
    assert_untouched(stored_audio, media_root)


def test_a_file_named_only_by_its_extension_is_stored(client, stored_audio, media_root, wav_file):
    """Some recorders and scripts name a file just ".wav"; it is a wav, not a hidden file without an extension."""
    body = client.post("/api/upload-reference-audio", {"audio": SimpleUploadedFile(".wav", wav_file.read_bytes())}).json()
    assert body["status"] == "success", body
    assert body["relative_path"].endswith("/audio.wav")
    assert (media_root / body["relative_path"].removeprefix("media/")).read_bytes() == wav_file.read_bytes()


def test_right_extension_wrong_content(client, stored_audio, media_root):
    upload = SimpleUploadedFile("voice.wav", b"this is plain text, not audio " * 100)
    assert "有效的音频" in error_of(client.post("/api/upload-reference-audio", {"audio": upload}))
    assert_untouched(stored_audio, media_root)


def test_video_instead_of_audio_is_fine_but_image_is_not(client, stored_audio, media_root, tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    assert error_of(client.post("/api/upload-reference-audio", {"audio": SimpleUploadedFile("x.mp3", png)}))
    assert_untouched(stored_audio, media_root)
    # A phone's MP4 recording renamed .m4a: the audio track inside is what counts.
    video = write_plain_video(tmp_path / "talk.mp4", seconds=2.0)
    body = client.post("/api/upload-reference-audio", {"audio": SimpleUploadedFile("talk.m4a", video.read_bytes())}).json()
    assert body["status"] == "success", body
    stored = media_root / body["relative_path"].removeprefix("media/")
    assert ReferenceAudio.objects.count() == 2 and media.probe(stored).has_audio


def test_truncated_wav(client, stored_audio, media_root, wav_file):
    data = wav_file.read_bytes()
    upload = SimpleUploadedFile("cut.wav", data[: len(data) // 2])
    assert "文件似乎不完整" in error_of(client.post("/api/upload-reference-audio", {"audio": upload}))
    assert_untouched(stored_audio, media_root)


def test_truncated_video(client, plain_video, media_root):
    data = plain_video.read_bytes()
    upload = SimpleUploadedFile("cut.mp4", data[: len(data) // 2])
    error_of(client.post("/api/upload-training-video", {"video": upload}))
    assert TrainingVideo.objects.count() == 0
    assert list((media_root / "videos/ref_videos").iterdir()) == []


def test_a_reference_holding_more_than_it_declares_is_refused(client, stored_audio, media_root, tmp_path):
    """The clone's length check reads the declared duration: a WebM declaring 10 s that holds 60 s would
    be cloned from all 60 s."""
    path = declare_matroska_duration(write_encoded_audio(tmp_path / "voice.webm", seconds=60.0, rate=16000), 10.0)
    client.cookies["django_language"] = "en"
    response = client.post("/api/upload-reference-audio", {"audio": SimpleUploadedFile("voice.webm", path.read_bytes())})
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "message": "文件内容不是有效的音频: 文件的实际内容比声明的长: 声明时长 10.0 秒, 但超过了 13.1 秒",
        "localized_message": "the file's content is not valid audio: the file holds more than it declares: it declares 10.0 s but runs past 13.1 s",
    }
    assert_untouched(stored_audio, media_root)


def test_a_training_video_whose_soundtrack_it_declares_runs_far_past_the_picture_is_stored(client, media_root, tmp_path):
    """A screen capture whose picture stopped early: its soundtrack declares its own length, so it holds no more
    than it declares."""
    path = write_plain_video(tmp_path / "capture.mp4", seconds=1.0, audio_seconds=60.0)
    response = client.post("/api/upload-training-video", {"video": SimpleUploadedFile("capture.mp4", path.read_bytes())})
    assert response.status_code == 200 and response.json()["status"] == "success", response.json()
    [video] = TrainingVideo.objects.all()
    assert (media_root / video.file.name).read_bytes() == path.read_bytes()


def test_a_reference_whose_soundtrack_runs_far_past_its_picture_is_refused(client, stored_audio, media_root, tmp_path):
    """Its length is its picture's, and cloning reads the sound only that far: 1 s of a 60 s recording."""
    path = write_plain_video(tmp_path / "capture.mp4", seconds=1.0, audio_seconds=60.0)
    response = client.post("/api/upload-reference-audio", {"audio": SimpleUploadedFile("capture.m4a", path.read_bytes())})  # an MP4 container
    assert response.status_code == 400 and response.json()["status"] == "error", response.json()
    assert response.json()["message"].startswith("文件内容不是有效的音频: 音轨比画面长 59.0 秒"), response.json()
    assert_untouched(stored_audio, media_root)


def test_a_training_video_holding_far_more_than_it_declares_is_refused(client, media_root, tmp_path):
    path = declare_matroska_duration(write_matroska_video(tmp_path / "talk.mkv", picture_seconds=1.0, sound_seconds=60.0), 1.0)
    message = error_of(client.post("/api/upload-training-video", {"video": SimpleUploadedFile("talk.mkv", path.read_bytes())}))
    assert message.startswith("文件内容不是有效的视频: 文件的实际内容比声明的长: 声明时长 1.0 秒")
    assert TrainingVideo.objects.count() == 0
    assert list((media_root / "videos/ref_videos").iterdir()) == []


@pytest.mark.parametrize("url, field, name", [("/api/upload-training-video", "video", "wide.mp4"),
                                              ("/api/upload-reference-audio", "audio", "wide.m4a"), ("/save_audio", "audio", "wide.mp4")])
def test_frames_wider_than_the_limit_are_refused(client, settings, media_root, plain_video, url, field, name):
    """ECHOFU_MAX_VIDEO_SIDE: the face check decodes every frame at full size, and a voice recording may be a video too."""
    settings.ECHOFU = {**settings.ECHOFU, "MAX_VIDEO_SIDE": 60}
    client.cookies["django_language"] = "en"
    response = client.post(url, {field: SimpleUploadedFile(name, plain_video.read_bytes())})
    assert response.status_code == 400
    assert "视频画面过大: 64 x 48 像素, 每边最多 60 像素" in response.json()["message"]
    assert "the video's frames are too large: 64 x 48 pixels, at most 60 on a side" in response.json()["localized_message"]
    assert not TrainingVideo.objects.exists() and not ReferenceAudio.objects.exists()
    assert not (media_root / "audios/input.wav").exists()

def test_audio_file_is_not_a_training_video(client, wav_file, media_root):
    upload = SimpleUploadedFile("talk.mp4", wav_file.read_bytes())
    assert "视频" in error_of(client.post("/api/upload-training-video", {"video": upload}))
    assert TrainingVideo.objects.count() == 0


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP", "BMP"])
def test_a_still_image_renamed_to_mp4_is_not_a_training_video(client, media_root, image_format):
    """FFmpeg reads a still image as a video of one frame: it was stored and catalogued as a 0.04 s video."""
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (64, 64), "gray").save(image, format=image_format)
    upload = SimpleUploadedFile("portrait.mp4", image.getvalue())
    assert "文件是静态图片" in error_of(client.post("/api/upload-training-video", {"video": upload}))
    assert list((media_root / "videos/ref_videos").iterdir()) == [] and not TrainingVideo.objects.exists()


def test_an_upload_whose_row_cannot_be_made_leaves_no_file(client, stored_audio, media_root, tmp_path, plain_video, monkeypatch):
    """Answered as failed, the upload keeps no file: one left unlisted would come back with the next
    scan_media, as a scanned file with no uploader and no consent statement."""
    from django.db import OperationalError

    from assets.scan import scan_media

    def locked(**fields):
        raise OperationalError("database is locked")

    from engines.testing.simple_media import write_tone_wav

    another_audio = write_tone_wav(tmp_path / "another.wav", seconds=2.0)  # stored_audio's file again would be its row
    monkeypatch.setattr(ReferenceAudio.objects, "create", locked)
    monkeypatch.setattr(TrainingVideo.objects, "create", locked)
    with open(another_audio, "rb") as audio, open(plain_video, "rb") as video:
        # As any request that meets a database busy past its timeout: 503, to be retried.
        assert "数据库繁忙" in error_of(client.post("/api/upload-reference-audio", {"audio": audio}), 503)
        assert "数据库繁忙" in error_of(client.post("/api/upload-training-video", {"video": video}), 503)
    monkeypatch.undo()
    assert_untouched(stored_audio, media_root)
    assert list((media_root / "videos/ref_videos").iterdir()) == []
    assert scan_media(probe=False).added == []


@pytest.mark.parametrize("interruption", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_an_import_cut_off_while_copying_leaves_no_placeholder_or_half_copy(plain_video, media_root, monkeypatch, interruption):
    """A command's import (train, batch_train, render) of a large local file that ends mid-copy: the disk
    full, or the operator's Ctrl-C. What was copied so far took the space that ran out, and the empty
    placeholder of its name came up in every scan_media as a video that does not decode."""
    from assets import catalog

    def half_copy(source, target):
        with open(source, "rb") as reading, open(target, "wb") as writing:
            writing.write(reading.read(1000))
        raise interruption

    monkeypatch.setattr("echofu.uploads.shutil.copyfile", half_copy)
    with pytest.raises(type(interruption)):
        catalog.import_training_video(plain_video, consent_name="operator")
    assert list((media_root / "videos/ref_videos").iterdir()) == [] and not TrainingVideo.objects.exists()
    assert plain_video.is_file()


@pytest.mark.parametrize("name", ["../../etc/passwd.wav", "/etc/cron.d/x.wav", "..\\..\\win.wav", "a/../../b.wav", "名字.WAV"])
def test_path_tricks_in_names_stay_inside_the_folder(client, wav_file, media_root, name):
    upload = SimpleUploadedFile(name, wav_file.read_bytes())
    body = client.post("/api/upload-reference-audio", {"audio": upload}).json()
    assert body["status"] == "success"
    stored = (media_root / body["relative_path"].removeprefix("media/")).resolve()
    assert stored.parent == (media_root / "voices/ref_voices").resolve()
    assert "/" not in body["filename"] and "\\" not in body["filename"] and not body["filename"].startswith(".")


def test_long_names_in_four_byte_characters_are_cut_to_a_file_name_linux_takes(client, wav_file, media_root, tmp_path):
    from engines.testing.simple_media import write_tone_wav

    name = "\U00020000" * 100 + ".wav"  # CJK Extension B: letters of 4 bytes each in UTF-8
    for audio in (wav_file, write_tone_wav(tmp_path / "another.wav", seconds=2.0)):  # the second gets claim_unique_path's suffix
        body = client.post("/api/upload-reference-audio", {"audio": SimpleUploadedFile(name, audio.read_bytes())}).json()
        assert body["status"] == "success", body
        assert body["filename"].startswith("\U00020000" * 60) and len(body["filename"].encode()) <= 255
    assert ReferenceAudio.objects.count() == 2


class GeneratedMultipart(io.RawIOBase):
    """A multipart body produced on the fly: the test itself never holds the file in memory."""

    def __init__(self, field: str, filename: str, payload_size: int, boundary: str):
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n"
        ).encode()
        self.parts = [(head, len(head)), (None, payload_size), (f"\r\n--{boundary}--\r\n".encode(), None)]
        self.length = len(head) + payload_size + len(self.parts[2][0])
        self.part, self.offset = 0, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while self.part < len(self.parts):
            data, size = self.parts[self.part]
            size = len(data) if data is not None else size
            if self.offset >= size:
                self.part, self.offset = self.part + 1, 0
                continue
            count = min(len(buffer), size - self.offset)
            if data is None:
                buffer[:count] = b"\x01" * count
            else:
                buffer[:count] = data[self.offset : self.offset + count]
            self.offset += count
            return count
        return 0


def streamed_request(size: int):
    boundary = "echofuboundary"
    body = GeneratedMultipart("audio", "huge.wav", size, boundary)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/upload-reference-audio",
        "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(body.length),
        "wsgi.input": io.BufferedReader(body, buffer_size=64 * 1024),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    return WSGIRequest(environ)


def test_over_the_limit_is_refused_while_streaming_with_flat_memory(settings, stored_audio, media_root):
    settings.ECHOFU = {**settings.ECHOFU, "MAX_AUDIO_BYTES": 8 * 1024 * 1024}
    # Just over the limit, inside the framing allowance: only the count while streaming catches it.
    request = streamed_request(8 * 1024 * 1024 + 32 * 1024)
    request.user = None
    response, peak = traced_peak(lambda: upload_reference_audio(request))
    assert "过大" in error_of(response)
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes: the upload was held in memory"
    assert_untouched(stored_audio, media_root)


def test_declared_length_over_the_limit_is_refused_before_reading(settings, stored_audio, media_root):
    settings.ECHOFU = {**settings.ECHOFU, "MAX_AUDIO_BYTES": 1024 * 1024}
    request = streamed_request(50 * 1024 * 1024)
    request.user = None
    assert "过大" in error_of(upload_reference_audio(request))
    body = request.environ["wsgi.input"].raw
    assert (body.part, body.offset) == (0, 0), "not one byte of the body was read"
    assert_untouched(stored_audio, media_root)


def test_under_the_limit_streams_to_disk_with_flat_memory(settings, media_root):
    """A 30 MB upload passes through the handler without being held in memory (then fails content check)."""
    request = streamed_request(30 * 1024 * 1024)
    request.user = local_user()  # single-user mode's user, whose consent is the test setting
    response, peak = traced_peak(lambda: upload_reference_audio(request))
    assert "有效的音频" in error_of(response)
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes"
    assert list((media_root / "voices/ref_voices").iterdir()) == []


@pytest.mark.parametrize("name, content, field, chinese, english", [
    ("notes.wav", b"these are notes, not a recording\n" * 40, "audio",
     "文件内容不是有效的音频: 无法读取为音频或视频 (FFmpeg 原文: Invalid data found when processing input)",
     "the file's content is not valid audio: not readable as audio or video (FFmpeg says: Invalid data found when processing input)"),
    ("talk.mp4", "WAV", "video", "文件内容不是有效的视频: 文件中没有视频流",
     "the file's content is not a valid video: the file contains no video stream"),
])
def test_a_file_that_is_not_media_is_refused_in_chinese_and_in_the_pages_language(client, wav_file, media_root, name, content, field, chinese, english):
    """The reason read in English inside the contract's Chinese: '文件内容不是有效的音频: not readable as audio or
    video (...)'; FFmpeg's own words stay as they came."""
    client.cookies["django_language"] = "en"
    upload = SimpleUploadedFile(name, wav_file.read_bytes() if content == "WAV" else content)
    path = "/api/upload-reference-audio" if field == "audio" else "/api/upload-training-video"
    response = client.post(path, {field: upload})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": chinese, "localized_message": english}
    assert not ReferenceAudio.objects.exists() and not TrainingVideo.objects.exists()


@pytest.mark.parametrize("url, field", [("/api/upload-reference-audio", "audio"), ("/save_audio", "audio")])
def test_a_field_not_in_utf8_beside_an_upload_is_refused_not_stored_as_replacement_characters(client, stored_audio, media_root, wav_file, url, field):
    """A multipart field that is not UTF-8 (a GBK client's consent name 你好) was stored as '���' on the consent record."""
    client.cookies["django_language"] = "en"
    parts = (b'--b\r\nContent-Disposition: form-data; name="consent"\r\n\r\ntrue\r\n'
             b'--b\r\nContent-Disposition: form-data; name="consent_name"\r\n\r\n' + "你好".encode("gbk") + b"\r\n"
             b'--b\r\nContent-Disposition: form-data; name="%s"; filename="voice.wav"\r\nContent-Type: audio/wav\r\n\r\n' % field.encode()
             + wav_file.read_bytes() + b"\r\n--b--\r\n")
    recording = media_root / "audios/input.wav"
    response = client.post(url, parts, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400, response.content
    assert response.json() == {"status": "error", "message": "consent_name: 文本不是 UTF-8 编码, 请以 UTF-8 发送表单",
                               "localized_message": "consent_name: the text is not UTF-8; send the form encoded in UTF-8"}
    assert_untouched(stored_audio, media_root)
    assert not recording.exists()


@pytest.mark.parametrize("name", ["参考音频.wav".encode("gbk"), "café.wav".encode("latin-1")])
def test_a_file_name_not_in_utf8_is_refused_saying_so(client, stored_audio, media_root, wav_file, name):
    """Django skipped the part, and answered that no file was sent (or, reading the body in chunks, that its headers
    were over 1024 bytes)."""
    client.cookies["django_language"] = "en"
    parts = (b'--b\r\nContent-Disposition: form-data; name="audio"; filename="' + name + b'"\r\nContent-Type: audio/wav\r\n\r\n'
             + wav_file.read_bytes() + b"\r\n--b--\r\n")
    response = client.post("/api/upload-reference-audio", parts, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400, response.content
    assert response.json() == {"status": "error", "message": "文件名不是 UTF-8 编码 (GBK 或 Latin-1?), 请以 UTF-8 发送表单",
                               "localized_message": "the file name is not UTF-8 (GBK or Latin-1?); send the form encoded in UTF-8"}
    assert_untouched(stored_audio, media_root)


def multipart_audio(content: bytes, name: str = "voice.wav") -> bytes:
    return (b'--b\r\nContent-Disposition: form-data; name="audio"; filename="' + name.encode() + b'"\r\n'
            b"Content-Type: audio/wav\r\n\r\n" + content + b"\r\n--b--\r\n")


def test_an_upload_sent_in_chunks_without_its_length_is_stored(client, media_root, wav_file):
    """Django reads a body only as far as its Content-Length: a chunked upload was answered 'no file'."""
    response = post_chunked(client, "/api/upload-reference-audio", multipart_audio(wav_file.read_bytes()), "multipart/form-data; boundary=b")
    assert response.status_code == 200, response.content
    stored = media_root / response.json()["relative_path"].removeprefix("media/")
    assert stored.read_bytes() == wav_file.read_bytes()
    assert ReferenceAudio.objects.get().original_name == "voice.wav"
    assert list((media_root / "tmp/uploads").iterdir()) == []


def test_a_form_sent_in_chunks_is_answered_as_with_its_length(client, stored_audio, media_root):
    form = b"generate_text=hello&audio_id=nobody"
    with_length = client.post("/audio_clone", form, content_type="application/x-www-form-urlencoded")
    chunked = post_chunked(client, "/audio_clone", form, "application/x-www-form-urlencoded")
    assert with_length.status_code == 400 and "nobody" in with_length.json()["message"], with_length.content  # the fields were read
    assert (chunked.status_code, chunked.json()) == (with_length.status_code, with_length.json())
    assert_untouched(stored_audio, media_root)


def test_an_upload_sent_in_chunks_keeps_its_endpoints_limit(client, settings, stored_audio, media_root):
    settings.ECHOFU = {**settings.ECHOFU, "MAX_AUDIO_BYTES": 1024}
    response = post_chunked(client, "/api/upload-reference-audio", multipart_audio(b"\0" * 4096), "multipart/form-data; boundary=b")
    assert "文件过大" in error_of(response)
    assert_untouched(stored_audio, media_root)


class ClientSocket:
    """The connection gunicorn names in the WSGI environ, as far as the answer to a refused body uses it."""

    def __init__(self):
        self.shut = []

    def shutdown(self, how: int) -> None:
        self.shut.append(how)


class EndlessBody(io.RawIOBase):
    """A client that never stops sending; counts what was read of it."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = b"\0" * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


@pytest.mark.parametrize("content_type, code, message", [
    ("multipart/form-data; boundary=b", 400, "上传过大: 本服务器最多接收 2 MB"),
    ("application/x-www-form-urlencoded", 400, "表单过大: 上限 87 KB"),
    # `curl -T voice.wav`: the file as the body itself, which no endpoint reads
    ("application/octet-stream", 415, "表单字段只从 application/x-www-form-urlencoded 或 multipart/form-data 读取, 不从 application/octet-stream 读取"),
])
def test_a_body_sent_in_chunks_is_read_no_further_than_any_endpoint_reads(client, settings, stored_audio, media_root, content_type, code, message):
    settings.ECHOFU = {**settings.ECHOFU, "MAX_VIDEO_BYTES": 2 * 1024 * 1024, "MAX_AUDIO_BYTES": 1024 * 1024}
    body, connection = EndlessBody(), ClientSocket()
    response = post_chunked(client, "/api/upload-reference-audio", body, content_type, **{"gunicorn.socket": connection})
    assert error_of(response, code) == message
    assert connection.shut == [socket.SHUT_RD], "gunicorn, which reads the rest of a body before the next request, meets its end"
    limit_bytes = 2 * 1024 * 1024 + 64 * 1024 if content_type.startswith("multipart") else 64 * 1024 + 12 * settings.ECHOFU["TTS_MAX_CHARS"]
    assert limit_bytes < body.read_bytes <= limit_bytes + 1
    assert_untouched(stored_audio, media_root)


def test_a_body_sent_in_chunks_to_an_address_nothing_answers_is_not_read(client, stored_audio, media_root):
    """It was stored whole (up to the largest upload any endpoint takes) before the 404."""
    body, connection = EndlessBody(), ClientSocket()
    response = post_chunked(client, "/api/upload-reference-audoi", body, "multipart/form-data; boundary=b", **{"gunicorn.socket": connection})
    assert error_of(response, 404) == "不存在"
    assert body.read_bytes == 0 and connection.shut == [socket.SHUT_RD]
    assert_untouched(stored_audio, media_root)


class MalformedChunks(io.BytesIO):
    def read(self, size=-1, /) -> bytes:
        raise OSError("Invalid chunk size: b'zz'")  # gunicorn's InvalidChunkSize is an IOError


def test_a_body_whose_chunks_are_malformed_is_refused_saying_so(client, stored_audio, media_root):
    response = post_chunked(client, "/api/upload-reference-audio", MalformedChunks(), "multipart/form-data; boundary=b")
    assert error_of(response) == "请求无法解析: Invalid chunk size: b'zz'"
    assert_untouched(stored_audio, media_root)


def test_an_upload_over_its_limit_is_refused_as_too_large_beside_a_part_whose_name_is_not_utf8(client, settings, stored_audio, media_root):
    settings.ECHOFU = {**settings.ECHOFU, "MAX_AUDIO_BYTES": 1024}
    parts = (b'--b\r\nContent-Disposition: form-data; name="note"; filename="' + "备注.txt".encode("gbk") + b'"\r\n\r\nhello\r\n'
             b'--b\r\nContent-Disposition: form-data; name="audio"; filename="voice.wav"\r\nContent-Type: audio/wav\r\n\r\n'
             + b"\0" * 4096 + b"\r\n--b--\r\n")
    response = client.post("/api/upload-reference-audio", parts, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400, response.content
    assert "文件过大" in response.json()["message"]
    assert_untouched(stored_audio, media_root)


@pytest.mark.parametrize("method, status", [("get", 200), ("head", 200), ("options", 405)])
def test_a_request_without_a_body_to_read_is_answered_whatever_its_transfer_encoding(client, method, status):
    response = getattr(client, method)("/api/reference-audios", HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == status  # as without the header
    assert response.status_code == getattr(client, method)("/api/reference-audios").status_code
