"""Faults a studio meets: the web server dies during an upload, the disk fills while a job writes
its result, a model directory is damaged, the database is locked by a long write."""
import gc
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from assets.models import GeneratedAudio, ReferenceAudio, TrainingVideo
from engines.testing.simple_media import write_plain_video
from monitoring import runner
from monitoring.models import Job
from monitoring.tests.qcluster import ROOT, wait_until
from monitoring.tests.servers import free_port
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db(transaction=True)


# --- the web server restarted during an upload ---------------------------------------------


class Gunicorn:
    def __init__(self, media_root: Path, log: Path):
        self.port = free_port()
        self.media_root, self.log = media_root, log
        self.process = None

    def start(self) -> "Gunicorn":
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "echofu.settings", "ECHOFU_MEDIA_ROOT": str(self.media_root),
               "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}", "ECHOFU_Q_SYNC": "1",
               "ECHOFU_SINGLE_USER": "true", "ECHOFU_SINGLE_USER_CONSENT": "Test Person"}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "echofu.wsgi:application", "--bind", f"127.0.0.1:{self.port}", "--workers", "1"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self.listening, 60, what="gunicorn: " + self.log.read_text(errors="replace")[-2000:])
        return self

    def listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def get(self, path: str) -> dict:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as response:
            return json.loads(response.read())


@pytest.mark.slow
def test_server_killed_mid_upload_lists_no_partial_file(media_root, tmp_path):
    server = Gunicorn(media_root, tmp_path / "gunicorn.log").start()
    video = write_plain_video(tmp_path / "talk.mp4", seconds=1.0).read_bytes()
    boundary = "fault-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"talk.mp4\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode() + video
    padding = 40 * 1024 * 1024
    total = len(head) + padding + len(f"\r\n--{boundary}--\r\n")
    upload = socket.create_connection(("127.0.0.1", server.port))
    upload.sendall((f"POST /api/upload-training-video HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                    f"boundary={boundary}\r\nContent-Length: {total}\r\n\r\n").encode() + head + b"\0" * (8 * 1024 * 1024))
    partial = media_root / "tmp/uploads"
    wait_until(lambda: any(path.stat().st_size > 1024 * 1024 for path in partial.iterdir()), 60, what="the upload to stream to disk")
    server.kill()  # the machine restarts the web server mid-upload
    upload.close()
    restarted = Gunicorn(media_root, tmp_path / "gunicorn.log").start()
    try:
        listed = restarted.get("/api/training-videos")
        assert listed["status"] == "success" and listed["total_count"] == 0 and listed["files"] == []
        assert not any((media_root / "videos/ref_videos").iterdir()), "nothing half-uploaded reached the catalog folder"
        assert TrainingVideo.objects.count() == 0
    finally:
        restarted.kill()


def test_partial_uploads_of_a_killed_web_server_are_deleted_once_abandoned(settings):
    """A web server killed mid-upload leaves its temp file: nothing listed it, yet up to ECHOFU_MAX_VIDEO_MB
    stayed on the media volume for good with every such restart."""
    uploads = Path(settings.FILE_UPLOAD_TEMP_DIR)
    abandoned = uploads / "tmpabandoned.upload.mp4"
    abandoned.write_bytes(b"\0" * 4096)
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    in_flight = uploads / "tmpinflight.upload.mp4"  # an upload still streaming writes to its file all along
    in_flight.write_bytes(b"\0" * 4096)

    runner.recover_stale_jobs()  # what the clusters run at start, before each job and every minute
    assert not abandoned.exists()
    assert in_flight.read_bytes() == b"\0" * 4096


# --- disk full while a job writes its result ------------------------------------------------


@pytest.fixture
def small_media_volume(settings, tmp_path):
    """A 4 MB tmpfs as the media root; needs the right to mount (root in a container that allows it)."""
    mount_point = tmp_path / "volume"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill a disk ({mounted.stderr.strip() or 'mount failed'})")
    settings.MEDIA_ROOT = mount_point
    settings.FILE_UPLOAD_TEMP_DIR = str(mount_point / "tmp" / "uploads")
    from echofu import paths

    paths.ensure_media_tree()
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(volume: Path) -> Path:
    filler = volume / "filler.bin"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_disk_full_while_writing_speech_fails_the_job_clearly(small_media_volume):
    earlier = small_media_volume / "voices/res_voices/earlier.wav"
    earlier.write_bytes(b"RIFF" + os.urandom(20000))
    kept = earlier.read_bytes()
    GeneratedAudio.objects.create(file="voices/res_voices/earlier.wav", size=len(kept), text="before")
    filler = fill(small_media_volume)

    job = runner.submit(runner.new_job(Job.Kind.SYNTHESIZE, {"text": "hello there, the disk is full", "speaker_id": "", "pitch": 0.0,
                                                             "engine": "default", "reference_path": "", "filename": ""}, prefix="tts"))
    job.refresh_from_db()
    assert job.status == "failed"
    assert "disk full" in job.error and "media" in job.error, job.error
    assert earlier.read_bytes() == kept, "what was stored before is untouched"
    assert [path.name for path in (small_media_volume / "voices/res_voices").iterdir()] == ["earlier.wav"]
    assert GeneratedAudio.objects.count() == 1
    assert not runner.job_workdir(job.pk).exists()

    filler.unlink()  # space freed: the same request works again
    again = runner.submit(runner.new_job(Job.Kind.SYNTHESIZE, dict(job.params), prefix="tts"))
    again.refresh_from_db()
    assert again.status == "succeeded", again.error


def test_upload_that_fills_the_disk_leaves_no_partial_file_behind(client, small_media_volume, tmp_path):
    from engines.testing.simple_media import write_tone_wav

    filler = fill(small_media_volume)
    os.truncate(filler, filler.stat().st_size - 300_000)  # room for a small upload, not for a large one
    large = write_tone_wav(tmp_path / "large.wav", seconds=40)  # 1.3 MB
    gc.disable()  # the partial file must go with the failed request, not whenever the collector runs
    try:
        refused = client.post("/api/upload-reference-audio", {"audio": large.open("rb")})
    finally:
        gc.enable()
    assert refused.status_code == 500, refused.content
    assert refused.json()["message"].startswith("音频上传失败: ") and "No space left" in refused.json()["message"]
    assert not any((small_media_volume / "tmp" / "uploads").iterdir()), "the partial upload was removed"
    assert not ReferenceAudio.objects.exists()

    small = write_tone_wav(tmp_path / "small.wav", seconds=2)  # 64 kB: fits in the space left
    stored = client.post("/api/upload-reference-audio", {"audio": small.open("rb")})
    assert stored.status_code == 200, stored.content
    assert (small_media_volume / "voices/ref_voices/small.wav").read_bytes() == small.read_bytes()


def test_a_body_sent_in_chunks_that_fills_the_disk_is_refused_and_its_copy_removed(client, small_media_volume, tmp_path):
    """Such a body is read into a temp file before any view reads it (Django would read it as empty)."""
    from accounts.tests.multipart import encode, post_chunked
    from engines.testing.simple_media import write_tone_wav

    filler = fill(small_media_volume)
    os.truncate(filler, filler.stat().st_size - 300_000)

    def upload_chunked(path: Path):
        return post_chunked(client, "/api/upload-reference-audio", *encode({}, {"audio": (path.name, path.read_bytes())}))

    refused = upload_chunked(write_tone_wav(tmp_path / "large.wav", seconds=40))  # 1.3 MB
    assert refused.status_code == 500, refused.content
    assert refused.json()["message"] == "请求体无法保存: 磁盘已满 (No space left on device)"
    assert not any((small_media_volume / "tmp" / "uploads").iterdir())
    assert not ReferenceAudio.objects.exists()

    small = write_tone_wav(tmp_path / "small.wav", seconds=2)  # 64 kB, stored beside its copy: the large one's space was freed
    stored = upload_chunked(small)
    assert stored.status_code == 200, stored.content
    assert (small_media_volume / "voices/ref_voices/small.wav").read_bytes() == small.read_bytes()

def test_disk_full_while_torch_saves_a_model_fails_the_job_clearly(small_media_volume, monkeypatch):
    """torch reports a short write as "[enforce fail at inline_container.cc] unexpected pos ...", with no
    errno: a training that filled the disk failed with that line alone."""
    import torch

    def save_weights(job, ctx):
        torch.save({"weights": torch.zeros(1_000_000)}, ctx.workdir / "model.pt")  # 4 MB, more than is left
        return {}

    monkeypatch.setitem(runner._handlers, Job.Kind.TRAIN, save_weights)
    filler = fill(small_media_volume)
    os.truncate(filler, filler.stat().st_size - 1_000_000)
    job = runner.submit(runner.new_job(Job.Kind.TRAIN, {}, prefix="train"))
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith("disk full: no space left on the media volume"), job.error
    assert not runner.job_workdir(job.pk).exists()


# --- a damaged model directory ---------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated weights", "missing weights"])
def test_damaged_model_gives_a_clear_render_error(client, media_root, wav_file, damage):
    from assets.models import ReferenceAudio
    from engines.talking_head.echolite import model as model_files

    directory = media_root / "models/EchoLite/anna_v1"
    directory.mkdir(parents=True)
    for name in model_files.REQUIRED_FILES:
        (directory / name).write_bytes(b"\x89PK\x03\x04 cut off here")
    (directory / model_files.MANIFEST).write_text(json.dumps({"format": model_files.FORMAT_VERSION}))
    if damage == "missing weights":
        (directory / model_files.WEIGHTS).unlink()
    TalkingHeadModel.objects.create(model_type="EchoLite", name="anna_v1", person="anna")
    reference = media_root / "voices/ref_voices/ref.wav"
    reference.write_bytes(wav_file.read_bytes())
    ReferenceAudio.objects.create(file="voices/ref_voices/ref.wav", size=reference.stat().st_size)

    response = client.post("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/anna_v1",
                                                 "ref_audio": "media/voices/ref_voices/ref.wav"})
    body = response.json()
    assert response.status_code in (400, 500) and body["status"] == "error", body
    assert "anna_v1" in body["message"] and ("已损坏" in body["message"] or "不存在" in body["message"]), body["message"]
    assert not any((media_root / "videos/res_videos").iterdir())


# --- the database locked by a long write ------------------------------------------------------


def hold_write_lock(seconds: float) -> threading.Thread:
    """Another process-like connection takes SQLite's write lock and keeps it for `seconds`."""
    ready = threading.Event()

    def hold():
        other = sqlite3.connect(connection.settings_dict["NAME"], timeout=30)
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE monitoring_job SET log = log || 'x'")
        ready.set()
        time.sleep(seconds)
        other.commit()
        other.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    ready.wait(10)
    return thread


def test_requests_wait_out_a_short_lock_and_fail_cleanly_on_a_long_one(client, settings):
    queued = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    # A short write lock: the request waits (SQLite busy timeout) and succeeds.
    holder = hold_write_lock(1.0)
    assert client.get(f"/api/tasks/{queued.pk}").json()["state"] == "queued"  # WAL: reads never wait
    response = client.post(f"/api/tasks/{queued.pk}/cancel")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    holder.join()

    # A lock longer than the busy timeout: a clean error JSON with 503, nothing half-written.
    other = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    connection.close()
    settings.DATABASES["default"]["OPTIONS"]["timeout"] = 0.3
    connection.settings_dict["OPTIONS"]["timeout"] = 0.3
    try:
        holder = hold_write_lock(3.0)
        response = client.post(f"/api/tasks/{other.pk}/cancel")
        assert response.status_code == 503, response.content
        body = response.json()
        assert body["status"] == "error" and "数据库繁忙" in body["message"]
        assert response["Retry-After"]
        holder.join()
        assert Job.objects.get(pk=other.pk).status == "queued"
        assert client.post(f"/api/tasks/{other.pk}/cancel").json()["state"] == "cancelled"  # and it works once free
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"]["timeout"] = 30
