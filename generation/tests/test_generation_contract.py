"""/video_generation validation (the render path itself is tested with the EchoLite engine)."""
import json
import sqlite3
import threading
import time

import pytest
from django.db import connection

from assets.models import ReferenceAudio
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


def generation_error(client, code=400, **fields):
    response = client.post("/video_generation", fields)
    assert response.status_code == code, response.content
    body = response.json()
    assert body["status"] == "error" and body["message"]
    return body["message"]


def test_unknown_model_type(client, model, reference):
    assert "不支持的模型类型" in generation_error(client, model_name="Foo", model_param="models/EchoLite/m1", ref_audio="media/voices/ref_voices/ref.wav")


def test_model_param_missing_or_of_another_type(client, model, reference):
    audio = "media/voices/ref_voices/ref.wav"
    assert "模型不存在" in generation_error(client, model_name="EchoLite", model_param="models/EchoLite/none", ref_audio=audio)
    assert "模型不存在" in generation_error(client, model_name="EchoLite", model_param="/etc", ref_audio=audio)


def test_model_param_takes_the_models_bare_name_as_listed(client, model, reference, media_root):
    """/api/available-models lists each model's `name`, which model_param refused as 模型不存在 for its own owner."""
    from engines.talking_head.echolite_manifest import FORMAT_VERSION

    (media_root / "models/EchoLite/m1/echolite.json").write_text(json.dumps({"format": FORMAT_VERSION - 1}))
    audio = "media/voices/ref_voices/ref.wav"
    by_path = generation_error(client, model_name="EchoLite", model_param="models/EchoLite/m1", ref_audio=audio)
    assert "由较早版本的 EchoLite 训练" in by_path, "the model itself was found and judged"
    # ER-NeRF: what the original pages send as model_name for any model; the name says which model
    assert generation_error(client, model_name="ER-NeRF", model_param="m1", ref_audio=audio) == by_path
    assert generation_error(client, model_name="EchoLite", model_param="m2", ref_audio=audio) == "model_param: 模型不存在: m2"


def test_an_echolite_model_of_an_earlier_format_is_listed_unusable_and_refused_before_any_job(client, model, reference, media_root):
    """An upgraded installation keeps the EchoLite models it trained before the current format: they were
    listed as usable and their render failed only as a job (500, 请重新训练) after it had been queued."""
    from engines.talking_head.echolite_manifest import FORMAT_VERSION
    from monitoring.models import Job

    manifest = media_root / "models/EchoLite/m1/echolite.json"
    manifest.write_text(json.dumps({"format": FORMAT_VERSION - 1}))
    why = f"EchoLite 模型 m1 由较早版本的 EchoLite 训练 (格式 {FORMAT_VERSION - 1}), 当前版本无法读取其文件: 请重新训练"
    listed = client.get("/api/available-models").json()
    [entry] = listed["models"]
    assert listed["total_count"] == 1 and entry["name"] == "m1" and entry["path"] == "media/models/EchoLite/m1"
    assert entry["usable"] is False and entry["unusable_reason"] == why
    details = client.get("/api/model-details/EchoLite/m1").json()["model_details"]
    assert details["usable"] is False and details["unusable_reason"] == why
    render = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "ref_audio": "media/voices/ref_voices/ref.wav"}
    assert generation_error(client, **render) == f"model_param: {why}"
    chat = client.post("/chat_system", {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "voice_clone": "false", "text": "hi"})
    assert chat.status_code == 400 and chat.json()["message"] == f"model_param: {why}"
    client.cookies["django_language"] = "en"
    assert "trained by an earlier version of EchoLite" in client.get("/api/available-models").json()["models"][0]["unusable_reason"]
    assert not Job.objects.exists()

    manifest.write_text(json.dumps({"format": FORMAT_VERSION}))  # trained again: usable
    entry = client.get("/api/available-models").json()["models"][0]
    assert entry["usable"] is True and entry["unusable_reason"] is None


def test_an_earlier_echolite_format_is_told_without_importing_torch(tmp_path):
    import subprocess
    import sys

    from monitoring.tests.qcluster import ROOT

    (tmp_path / "old").mkdir()
    (tmp_path / "old/echolite.json").write_text(json.dumps({"format": 1}))
    script = ("import sys\nfrom pathlib import Path\nfrom engines.talking_head.echolite_manifest import earlier_format\n"
              f"print(earlier_format(Path({str(tmp_path / 'old')!r})) is not None, 'torch' in sys.modules)\n")
    output = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert output.split() == ["True", "False"]


def test_audio_outside_catalog(client, model, reference, media_root, wav_file):
    stray = media_root / "voices/res_voices/stray.wav"
    stray.write_bytes(wav_file.read_bytes())
    for audio in ("media/voices/res_voices/stray.wav", "/etc/passwd", "../../x.wav", ""):
        generation_error(client, model_name="EchoLite", model_param="models/EchoLite/m1", ref_audio=audio)


def test_bad_pitch_and_gpu(client, model, reference):
    base = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "ref_audio": "media/voices/ref_voices/ref.wav"}
    assert "pitch" in generation_error(client, **base, pitch="high")
    assert "pitch" in generation_error(client, **base, pitch="40")
    assert "gpu_choice" in generation_error(client, **base, gpu_choice="GPUX")


def test_room_tone_needs_a_speaker_to_take_it_from(client, model, reference):
    from monitoring.models import Job

    base = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1"}
    assert "room_tone" in generation_error(client, **base, ref_audio="media/voices/ref_voices/ref.wav", room_tone="true")
    assert "room_tone" in generation_error(client, **base, target_text="hello", room_tone="true")
    assert "room_tone" in generation_error(client, **base, target_text="hello", speaker_id="anna", room_tone="loud")
    assert not Job.objects.exists()


def test_text_with_nothing_to_speak_is_refused_before_any_job(client, model, reference, settings):
    from monitoring.models import Job

    settings.ECHOFU = {**settings.ECHOFU, "TTS_MAX_CHARS": 30}
    base = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1"}
    for text in ("?!。，", "… —— !!"):
        assert generation_error(client, **base, target_text=text) == "target_text: 文本中没有可朗读的文字 (只有标点或符号)"
    for text in ("こんにちは", "Привет мир", "①②③"):
        assert generation_error(client, **base, target_text=text) == "target_text: 暂不支持该语言的文字, 请输入中文或英文", text
    assert "文本过长" in generation_error(client, **base, target_text="x" * 31)
    assert not Job.objects.exists()


@pytest.mark.parametrize("endpoint, field", [("/video_generation", "target_text"), ("/chat_system", "text"), ("/audio_clone", "generate_text")])
@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_a_text_within_the_configured_limit_is_read_whatever_its_bytes(client, model, settings, endpoint, field, encoding):
    """The original frontend posts multipart FormData: a Chinese text as long as ECHOFU_TTS_MAX_CHARS
    allows (3 bytes a character; 9 once percent-encoded in a urlencoded body) reaches validation rather
    than being taken for a file upload or a form too large."""
    from urllib.parse import urlencode

    settings.ECHOFU = {**settings.ECHOFU, "TTS_MAX_CHARS": 30_000}
    form = {"model_name": "EchoLite", "model_param": "models/EchoLite/none", "audio_id": "nobody", field: "声" * 30_000}
    response = (client.post(endpoint, form) if encoding == "multipart" else
                client.post(endpoint, urlencode(form), content_type="application/x-www-form-urlencoded"))
    message = response.json()["message"]
    assert response.status_code == 400 and ("model_param" in message or "audio_id" in message), message


@pytest.mark.parametrize("engine, label, setting", [("xtts", "XTTS-v2", "ECHOFU_XTTS_DIR"), ("cosyvoice", "CosyVoice", "ECHOFU_COSYVOICE_URL")])
def test_text_the_servers_voice_engine_cannot_speak_here_is_refused_before_any_job(client, model, reference, settings, engine, label, setting):
    from monitoring.models import Job

    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": engine, "XTTS_DIR": "", "COSYVOICE_URL": ""}
    message = generation_error(client, model_name="EchoLite", model_param="models/EchoLite/m1", target_text="hello")
    assert message.startswith(f"target_text: 服务器的语音引擎 {label} (ECHOFU_TTS_ENGINE) 不可用: ") and setting in message, message
    assert not Job.objects.exists()
    # an uploaded recording needs no voice engine: the same server renders it
    accepted = client.post("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/m1",
                                                 "ref_audio": "media/voices/ref_voices/ref.wav"})
    assert "ECHOFU_TTS_ENGINE" not in accepted.content.decode()


def test_text_for_a_cloning_server_engine_needs_a_speaker_and_no_pitch(client, model, settings, monkeypatch):
    from types import SimpleNamespace

    from monitoring.models import Job

    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": "xtts"}
    monkeypatch.setattr("assets.speech.get_synthesizer", lambda name=None: SimpleNamespace(availability=lambda: (True, "")))
    base = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "target_text": "hello"}
    assert generation_error(client, **base) == "speaker_id: 服务器的语音引擎 XTTS-v2 (ECHOFU_TTS_ENGINE) 用说话人的参考录音克隆声音: 请指定说话人"
    assert generation_error(client, **base, pitch="2") == "pitch: 服务器的语音引擎 XTTS-v2 (ECHOFU_TTS_ENGINE) 不支持音高调整, 请设为 0"
    assert not Job.objects.exists()


@pytest.mark.parametrize("endpoint, field", [("/video_generation", "target_text"), ("/chat_system", "text"), ("/audio_clone", "generate_text")])
@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_a_form_over_the_size_limit_is_refused_as_too_large_with_the_limit(client, settings, endpoint, field, encoding):
    from urllib.parse import urlencode

    from monitoring.models import Job

    client.cookies["django_language"] = "en"
    settings.ECHOFU = {**settings.ECHOFU, "TTS_MAX_CHARS": 2000}  # forms of fields up to 64 KB + 12 × 2000 bytes: 87.4 KB, said as 87
    form = {"model_name": "EchoLite", "model_param": "models/EchoLite/none", field: "x" * 200_000}
    response = (client.post(endpoint, form) if encoding == "multipart" else
                client.post(endpoint, urlencode(form), content_type="application/x-www-form-urlencoded"))
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "表单过大: 上限 87 KB", "localized_message": "the form is too large: at most 87 KB"}
    assert not Job.objects.exists()


def test_a_file_sent_to_a_form_endpoint_is_still_refused_as_a_file(client, wav_file):
    client.cookies["django_language"] = "en"
    with open(wav_file, "rb") as handle:
        response = client.post("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/none", "ref_audio": handle})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "此接口只接收表单字段, 不接收文件",
                               "localized_message": "this endpoint takes form fields, not files"}


@pytest.mark.parametrize("endpoint", ["/video_generation", "/model_training", "/audio_clone", "/chat_system"])
@pytest.mark.parametrize("body, content_type, named", [
    ('{"model_name": "EchoLite", "target_text": "hello"}', "application/json", "application/json"),
    ("model_name=EchoLite&target_text=hello", "text/plain", "text/plain"),
])
def test_a_form_sent_as_json_or_text_is_refused_naming_the_encodings_read(client, endpoint, body, content_type, named):
    """Django reads no fields from such a body: each was answered as missing ('model_name: 该字段是必填项。')."""
    from monitoring.models import Job

    client.cookies["django_language"] = "en"
    response = client.post(endpoint, body, content_type=content_type)
    assert response.status_code == 415
    assert response.json()["localized_message"] == ("the form's fields are read only from application/x-www-form-urlencoded or "
                                                     f"multipart/form-data, not from {named}")
    assert response.json()["message"].startswith("表单字段只从 application/x-www-form-urlencoded 或 multipart/form-data 读取")
    assert not Job.objects.exists()


def test_a_form_that_names_no_content_type_is_refused_saying_which_to_name(client):
    client.cookies["django_language"] = "en"
    response = client.post("/audio_clone", b"generate_text=hello", content_type="")
    assert response.status_code == 415
    assert response.json() == {"status": "error", "message": "请求没有 Content-Type: 请以 application/x-www-form-urlencoded 或 multipart/form-data 发送表单",
                               "localized_message": "the request names no Content-Type: send the form as application/x-www-form-urlencoded or multipart/form-data"}


def test_a_multipart_form_without_its_boundary_is_called_unreadable_not_a_file(client):
    client.cookies["django_language"] = "en"
    response = client.post("/audio_clone", b"generate_text=hello", content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.json()["localized_message"] == "the request cannot be parsed: Invalid boundary in multipart: None"


@pytest.mark.parametrize("endpoint", ["/video_generation", "/model_training", "/audio_clone", "/chat_system"])
def test_more_fields_than_django_parses_say_which_limit(client, settings, endpoint):
    """As on the upload endpoints: Django's own words follow ours, naming the limit that was passed."""
    from urllib.parse import urlencode

    from monitoring.models import Job

    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    client.cookies["django_language"] = "en"
    form = {"model_name": "EchoLite", "model_param": "models/EchoLite/none", **{f"note{index}": "x" for index in range(10)}}
    response = client.post(endpoint, urlencode(form), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json()["message"].startswith("请求无法解析: ") and "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["message"]
    assert response.json()["localized_message"].startswith("the request cannot be parsed: ")
    assert not Job.objects.exists()


@pytest.mark.django_db(transaction=True)  # the foreign keys are checked when the rows commit
def test_a_model_deleted_while_it_renders_leaves_no_video_without_its_row(model, reference, media_root, monkeypatch):
    from chat.tests.conftest import QuickRenderer
    from generation import jobs
    from generation.models import GeneratedVideo
    from monitoring import runner
    from provenance.models import ProvenanceRecord

    class DeletedMeanwhile(QuickRenderer):
        def render(self, model_dir, audio_path, out_path, progress, device="cpu"):
            TalkingHeadModel.objects.all().delete()  # by its owner, in another tab
            return super().render(model_dir, audio_path, out_path, progress, device)

    monkeypatch.setattr(jobs, "get_engine", lambda model_type: DeletedMeanwhile())
    job = jobs.prepare_render(model, "cpu", audio_path=reference.file.name)
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.error == "m1 v1 (EchoLite) was deleted while this job used it; nothing was kept"
    assert list((media_root / "videos/res_videos").iterdir()) == []
    assert not GeneratedVideo.objects.exists() and not ProvenanceRecord.objects.exists()


@pytest.mark.django_db(transaction=True)  # the foreign keys are checked when the rows commit, as in a worker
def test_the_voice_of_a_renders_speech_deleted_while_the_video_is_labelled_is_named_in_its_error(model, reference, media_root,
                                                                                                  monkeypatch):
    """Speech made by a cloned voice drives the render; its owner deletes that voice while the video is
    labelled (minutes for a long one, outside any transaction). The video's provenance row names the
    voice, so it cannot be kept: the error says which voice went, not "FOREIGN KEY constraint failed"."""
    from assets.models import GeneratedAudio, SpeakerProfile
    from chat.tests.conftest import QuickRenderer
    from generation import jobs
    from generation.models import GeneratedVideo
    from monitoring import runner
    from provenance import stamping

    voice = SpeakerProfile.objects.create(speaker_id="anna", reference_path=reference.file.name)
    speech = GeneratedAudio.objects.create(file=reference.file.name, size=reference.size, speaker=voice)
    labelling = stamping.provenance.finish_video

    def voice_deleted_meanwhile(*args, **kwargs):
        SpeakerProfile.objects.all().delete()
        return labelling(*args, **kwargs)

    monkeypatch.setattr(jobs, "get_engine", lambda model_type: QuickRenderer())
    monkeypatch.setattr(stamping.provenance, "finish_video", voice_deleted_meanwhile)
    job = jobs.prepare_render(model, "cpu", audio_path=speech.file.name)
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and job.error == "anna v1 was deleted while this job used it; nothing was kept"
    assert list((media_root / "videos/res_videos").iterdir()) == [] and not GeneratedVideo.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_model_deleted_while_its_render_waits_in_the_queue_fails_it_saying_so(client, model, reference, media_root, monkeypatch):
    """The request waits for its render; its owner deletes the model in another tab before a worker
    takes the job: the answer says the model was deleted (in the contract's language), not the ORM's words."""
    from generation.models import GeneratedVideo
    from monitoring import runner
    from monitoring.models import Job

    deleted = threading.Event()
    worker_threads = []

    def worker(job_id):
        deleted.wait(20)
        try:
            runner.execute(job_id)
        finally:
            connection.close()

    def queued(job):
        worker_threads.append(threading.Thread(target=worker, args=(job.pk,)))
        worker_threads[-1].start()
        return job

    monkeypatch.setattr(runner, "submit", queued)
    answers = []

    def request():
        try:
            answers.append(client.post("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/m1",
                                                             "ref_audio": "media/voices/ref_voices/ref.wav"}))
        finally:
            connection.close()

    waiting = threading.Thread(target=request)
    waiting.start()
    deadline = time.monotonic() + 20
    while not Job.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    TalkingHeadModel.objects.all().delete()
    deleted.set()
    waiting.join(30)
    for thread in worker_threads:
        thread.join(30)
    assert len(answers) == 1 and answers[0].status_code == 500, answers
    body = answers[0].json()
    job = Job.objects.get()
    assert (body["status"], body["message"], body["task_id"]) == ("error", "此任务要用的数字人模型在任务开始前已被删除, 未生成任何内容", job.pk)
    assert job.status == Job.Status.FAILED
    assert not GeneratedVideo.objects.exists() and list((media_root / "videos/res_videos").iterdir()) == []


@pytest.mark.parametrize("model_name, model_param, rendered_as", [
    ("ER_NeRF", "media/models/ER-NeRF/m2", "ER-NeRF"),  # the original backend's spelling
    # The original frontend lists EchoLite models but offers only ER-NeRF and SyncTalk as model_name.
    ("ER-NeRF", "models/EchoLite/m1", "EchoLite"),
])
def test_the_original_frontends_model_choices_render_the_model_named(client, model, reference, media_root, settings, monkeypatch,
                                                                      model_name, model_param, rendered_as):
    from monitoring import runner
    from monitoring.models import Job

    (media_root / "models/ER-NeRF/m2").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="ER-NeRF", name="m2")
    monkeypatch.setattr(runner, "submit", lambda job: job)  # queued, not rendered
    monkeypatch.setattr("generation.forms.engine_availability", lambda model_type: (True, "a machine that runs ER-NeRF"))
    settings.ECHOFU = {**settings.ECHOFU, "SYNC_WAIT_SECONDS": 0.0}
    response = client.post("/video_generation", {"model_name": model_name, "model_param": model_param,
                                                 "ref_audio": "media/voices/ref_voices/ref.wav"})
    body = response.json()
    assert response.status_code == 202 and body["status"] == "processing", body
    assert Job.objects.get(pk=body["task_id"]).params["model_type"] == rendered_as


@pytest.mark.parametrize("endpoint, question", [("/video_generation", {"ref_audio": "media/voices/ref_voices/ref.wav"}),
                                                ("/chat_system", {"text": "Hello"})])
def test_a_model_whose_engine_cannot_run_here_is_refused_before_any_job(client, media_root, reference, settings, endpoint, question):
    """An ER-NeRF model left from when the checkout was configured: the render (for a chat turn, after
    its transcription, reply and voice) would fail in the job."""
    from chat.models import Turn
    from monitoring.models import Job

    (media_root / "models/ER-NeRF/m2").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="ER-NeRF", name="m2")
    settings.ECHOFU = {**settings.ECHOFU, "ERNERF_DIR": None}
    response = client.post(endpoint, {"model_name": "ER-NeRF", "model_param": "models/ER-NeRF/m2", **question})
    assert response.status_code == 400, response.content
    assert response.json()["message"] == "model_param: ER-NeRF 不可用: 未配置 ER-NeRF 代码目录 (请设置 ECHOFU_ERNERF_DIR)"
    assert not Job.objects.exists() and not Turn.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_other_writers_are_not_locked_out_while_a_render_labels_its_frames(model, reference, media_root, monkeypatch, settings):
    """Labelling an engine's unlabelled frames re-encodes the whole video (a long one for minutes). SQLite
    has one write lock: held through that, every upload, new job and heartbeat of every process waited,
    and after the busy timeout failed with "database is locked"."""
    from chat.tests.conftest import QuickRenderer
    from generation import jobs
    from generation.models import GeneratedVideo
    from monitoring import runner
    from provenance import stamping
    from provenance.models import ProvenanceRecord

    settings.ECHOFU = {**settings.ECHOFU, "VIDEO_LABEL": True}
    monkeypatch.setattr(jobs, "get_engine", lambda model_type: QuickRenderer())
    encoding, probed = threading.Event(), threading.Event()
    labelling = stamping.provenance.finish_video

    def slow_labelling(*args, **kwargs):
        finished = labelling(*args, **kwargs)
        encoding.set()
        probed.wait(20)  # a long video is still being encoded
        return finished

    monkeypatch.setattr(stamping.provenance, "finish_video", slow_labelling)
    job = jobs.prepare_render(model, "cpu", audio_path=reference.file.name)

    def work():
        try:
            runner.execute(job.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        assert encoding.wait(60)
        other_process = sqlite3.connect(connection.settings_dict["NAME"], timeout=1.0)
        try:
            other_process.execute("BEGIN IMMEDIATE")  # an upload's or another job's write
            other_process.rollback()
            locked_out = ""
        except sqlite3.OperationalError as exc:
            locked_out = str(exc)
        finally:
            other_process.close()
    finally:
        probed.set()
        worker.join(60)
    assert locked_out == ""
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    video = GeneratedVideo.objects.get()
    assert (media_root / video.file.name).is_file() and ProvenanceRecord.objects.filter(file=video.file.name, label=True).exists()


def test_speech_longer_than_a_render_may_last_is_refused_before_any_job(client, model, media_root, settings):
    # A render decodes its whole speech into memory and makes 25 frames for each of its seconds: a reference
    # upload under the 50 MB limit (a low-bitrate MP3) lasts 14 hours.
    import wave

    from monitoring.models import Job

    settings.ECHOFU = {**settings.ECHOFU, "MAX_RENDER_SECONDS": 60}
    with wave.open(str(media_root / "voices/ref_voices/long.wav"), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x10\x00\xf0\xff" * 4000 * 90)
    ReferenceAudio.objects.create(file="voices/ref_voices/long.wav", size=(media_root / "voices/ref_voices/long.wav").stat().st_size)
    message = generation_error(client, model_name="EchoLite", model_param="models/EchoLite/m1", ref_audio="media/voices/ref_voices/long.wav")
    assert message == "ref_audio: 音频太长, 无法生成视频: 1.5 分钟, 最多 1 分钟", message
    assert not Job.objects.filter(kind=Job.Kind.RENDER).exists()


def test_neither_audio_nor_text_is_refused_naming_the_field_once(client, model):
    client.cookies["django_language"] = "en"
    response = client.post("/video_generation", {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}"})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "ref_audio: 请提供参考音频, 或在 target_text 中提供要说的文本",
                               "localized_message": "ref_audio: give a reference audio, or a text to speak in target_text"}


def test_a_bad_gpu_choice_is_refused_in_chinese_and_in_the_pages_language(client, model, reference):
    client.cookies["django_language"] = "en"
    response = client.post("/video_generation", {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}",
                                                  "ref_audio": "media/voices/ref_voices/ref.wav", "gpu_choice": "GPU"})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "gpu_choice: 'GPU' 无效: 使用 GPU0, GPU1, ... 或 CPU",
                               "localized_message": "gpu_choice: 'GPU' is not valid: use GPU0, GPU1, ... or CPU"}


GBK_HELLO = "你好".encode("gbk")  # b"\xc4\xe3\xba\xc3", not UTF-8


@pytest.mark.parametrize("endpoint, field", [("/video_generation", "target_text"), ("/chat_system", "text"), ("/audio_clone", "generate_text"),
                                             ("/model_training", "custom_params")])
@pytest.mark.parametrize("encoding", ["raw bytes", "percent-encoded", "multipart"])
def test_a_form_field_not_in_utf8_is_refused_instead_of_read_as_other_text(client, model, reference, endpoint, field, encoding):
    """Django reads a urlencoded body that is not UTF-8 as Latin-1, and an undecodable percent-encoded or multipart
    field with U+FFFD, without a word: a client sending GBK had 'ÄãºÃ' spoken (and rendered) as its text."""
    from urllib.parse import quote_from_bytes

    from monitoring.models import Job

    client.cookies["django_language"] = "en"
    fields = [(b"model_name", b"EchoLite"), (b"model_param", b"models/EchoLite/m1"), (b"audio_id", b"anna"), (field.encode(), GBK_HELLO)]
    if encoding == "multipart":
        body = b"".join(b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % pair for pair in fields) + b"--b--\r\n"
        response = client.post(endpoint, body, content_type="multipart/form-data; boundary=b")
    else:
        sent = (lambda value: value) if encoding == "raw bytes" else (lambda value: quote_from_bytes(value).encode())
        body = b"&".join(name + b"=" + sent(value) for name, value in fields)
        response = client.post(endpoint, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400, response.content
    assert response.json() == {"status": "error", "message": f"{field}: 文本不是 UTF-8 编码, 请以 UTF-8 发送表单",
                               "localized_message": f"{field}: the text is not UTF-8; send the form encoded in UTF-8"}
    assert not Job.objects.exists()


def test_a_form_in_utf8_with_chinese_is_read_as_sent(client, model, reference):
    """The refusal above is only for bytes that are not UTF-8: the same text in UTF-8, raw or percent-encoded, goes through."""
    from urllib.parse import quote

    for body in ("model_name=EchoLite&model_param=models/EchoLite/none&target_text=你好".encode(),
                 f"model_name=EchoLite&model_param=models/EchoLite/none&target_text={quote('你好')}".encode()):
        response = client.post("/video_generation", body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400 and response.json()["message"] == "model_param: 模型不存在: models/EchoLite/none"
