"""/audio_clone (clone, generate, one-shot) and /api/cloned-audios through the job system."""
import io

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from assets import speech
from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile
from assets.speech import get_synthesizer
from echofu import loaded_models
from engines import media
from engines.testing.simple_media import write_tone_wav
from engines.testing.voices import other_speaker
from engines.voice.denoise import GAIN_FLOOR_DB
from engines.voice.fitted import CONVERSION_VERSION
from engines.voice.room import RoomTone
from engines.voice.self_evaluation import EVALUATION_VERSION
from monitoring.models import Job

pytestmark = pytest.mark.django_db

CLONED = "说话人特征提取完成，可以用于后续音频生成"


@pytest.fixture(scope="module")
def speech_samples():
    return other_speaker("Please call Stella. Ask her to bring these things with her from the store. "
                         "Six spoons of fresh snow peas and a big toy frog.")


@pytest.fixture
def reference(client, tmp_path, speech_samples):
    path = tmp_path / "安娜 reference.wav"
    media.write_wav(path, np.concatenate([np.zeros(8000), speech_samples]), 16000)
    with open(path, "rb") as handle:
        body = client.post("/api/upload-reference-audio", {"audio": handle}).json()
    assert body["status"] == "success", body
    return body["relative_path"]


def clone(client, reference, speaker_id="anna"):
    return client.post("/audio_clone", {"original_audio_path": reference, "target_audio_id": speaker_id})


def test_a_silent_reference_is_refused_before_a_job_runs_on_it(client, tmp_path, media_root):
    """As a too short one is: it was refused only once a clone job had run on it, as a server fault (500)."""
    silence = tmp_path / "silence.wav"
    media.write_wav(silence, np.zeros(5 * 16000, np.float32), 16000)
    with open(silence, "rb") as handle:
        uploaded = client.post("/api/upload-reference-audio", {"audio": handle}).json()
    response = clone(client, uploaded["relative_path"], "quiet")
    assert response.status_code == 400 and "task_id" not in response.json(), response.content
    assert response.json()["message"].startswith("original_audio_path: 参考音频太安静: 最响处为 -120 dBFS"), response.json()
    assert not Job.objects.exists() and not SpeakerProfile.objects.exists()
    assert ReferenceAudio.objects.filter(file=uploaded["relative_path"].removeprefix("media/")).exists(), "the upload is kept"


def test_a_reference_with_no_voice_in_it_is_refused_as_the_users_to_change(client, tmp_path, media_root):
    """Noise loud enough to keep: it was answered 500, a server fault, with a traceback in the job's log."""
    noise = tmp_path / "noise.wav"
    media.write_wav(noise, (np.random.default_rng(0).standard_normal(5 * 16000) * 0.1).astype(np.float32), 16000)
    with open(noise, "rb") as handle:
        uploaded = client.post("/api/upload-reference-audio", {"audio": handle}).json()
    response = clone(client, uploaded["relative_path"], "noise")
    assert response.status_code == 422, response.content
    assert response.json()["message"] == "参考音频中没有找到浊音讲话", response.json()
    assert not SpeakerProfile.objects.filter(speaker_id="noise").exists()
    assert Job.objects.get(pk=response.json()["task_id"]).failed_on_input


def test_clone_then_generate_in_that_voice(client, reference, media_root):
    response = clone(client, reference)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success" and body["message"] == CLONED, body
    profile = SpeakerProfile.objects.get(speaker_id="anna")
    assert profile.version == 1 and 150 < profile.f0_mean < 260 and len(profile.features["embedding"]) == 256
    assert (media_root / profile.clean_clip.name).is_file()
    conversion = profile.features["conversion"]
    assert conversion["version"] == CONVERSION_VERSION and conversion["method"] == "parallel", conversion
    assert "bring these things" in conversion["transcript"].lower(), "the reference was transcribed offline to fit the voice"
    assert (media_root / conversion["file"]).is_file() and not conversion["file"].startswith("/")
    assert profile.features["prompt_text"] == conversion["transcript"]
    assert conversion["bases"]["piper"]["content_language"] == "en", "Whisper's encoder gave the reference's speech states"
    assert conversion["noise_reduced"] == {}, "a recording without an audible floor is fitted as it is"
    assert get_synthesizer("default")._own_speech_encoder is None, "the worker's encoder, not a second Whisper"
    evaluation = profile.self_evaluation
    assert set(evaluation["languages"]) == {"en", "zh"} and set(evaluation["similarity"]) == {"resemblyzer", "voicefilter"}
    for figures in evaluation["languages"].values():
        for kind in ("clone", "base"):
            assert all(-1 <= value <= 1 for value in figures[kind]["similarity"].values()) and figures[kind]["error_rate"] >= 0
    assert evaluation["languages"]["en"]["clone"]["error_rate"] <= 0.3, "the clone's English is read back"
    assert "self_evaluation" not in conversion
    loaded_fits = {file for file, _ in get_synthesizer("default")._fitted}
    assert not any("/tmp/jobs/" in file for file in loaded_fits), "the fit evaluated where it was made is let go"

    listing = client.get("/api/cloned-audios").json()
    assert listing["status"] == "success" and listing["total_count"] == 1
    entry = listing["audios"][0]
    assert {"id", "name", "created_at", "reference_audio", "status"} <= set(entry)
    assert entry["id"] == entry["name"] == "anna" and entry["reference_audio"] == reference and entry["status"] == "已提取特征"
    assert entry["self_evaluation"] == entry["versions"][0]["self_evaluation"] == evaluation

    response = client.post("/audio_clone", {"generate_text": "Hello, this is Anna. 今天天气很好。", "audio_id": "anna", "pitch": "2"})
    body = response.json()
    assert response.status_code == 200 and body["message"] == "音频生成成功", body
    path = body["cloned_audio_path"]
    assert path.startswith("media/voices/res_voices/anna_") and path.endswith(".wav")
    served = client.get("/" + path)
    assert served.status_code == 200
    info = media.probe(media_root / path.removeprefix("media/"))
    assert info.has_audio and info.duration > 2
    generated = GeneratedAudio.objects.get()
    assert generated.speaker == profile and generated.engine == "default" and generated.pitch == 2
    assert Job.objects.get(pk=body["task_id"]).kind == "synthesize"


def test_a_clone_whose_measurement_fails_is_kept_without_figures_and_says_why(client, reference, monkeypatch):
    def failing(*args, **kwargs):
        raise RuntimeError("the check sentence could not be spoken")

    monkeypatch.setattr(speech, "evaluate_clone", failing)
    body = clone(client, reference).json()
    assert body["status"] == "success", body
    profile = SpeakerProfile.objects.get(speaker_id="anna")
    assert profile.self_evaluation == {} and profile.features["conversion"]["method"] == "parallel"
    assert "the voice was not measured: the check sentence could not be spoken" in Job.objects.get(pk=body["task_id"]).log
    assert client.get("/api/cloned-audios").json()["audios"][0]["self_evaluation"] is None


def test_room_tone_lays_the_reference_recordings_background_under_the_speech(client, tmp_path, speech_samples, media_root, voice_unmeasured):
    noise = np.random.default_rng(0).standard_normal(len(speech_samples) + 8000).astype(np.float32) * 0.002
    path = tmp_path / "hall.wav"
    media.write_wav(path, np.concatenate([np.zeros(8000), speech_samples]) + noise, 16000)
    with open(path, "rb") as handle:
        reference = client.post("/api/upload-reference-audio", {"audio": handle}).json()["relative_path"]
    assert clone(client, reference, "hall").json()["status"] == "success"

    kept = SpeakerProfile.objects.get(speaker_id="hall").features["room_tone"]
    assert 25 < kept["speech_to_floor_db"] < 50, "measured on the upload at clone time"
    assert SpeakerProfile.objects.get(speaker_id="hall").features["conversion"]["noise_reduced"] == {
        "speech_to_floor_db": round(kept["speech_to_floor_db"], 1), "gain_floor_db": GAIN_FLOOR_DB}, "fitted on the copy with the hall's noise lowered"

    def spoken(room_tone: str) -> RoomTone:
        """The room tone of the speech as spoken (how far its quietest frames lie under it)."""
        body = client.post("/audio_clone", {"generate_text": "Hello from the hall.", "audio_id": "hall", "room_tone": room_tone}).json()
        assert body["status"] == "success" and body["message"] == "音频生成成功", body
        return RoomTone.measure(media.load_audio(media_root / body["cloned_audio_path"].removeprefix("media/"), 16000), 16000)

    clean, in_the_hall = spoken("false"), spoken("true")
    # Without it the floor is the voice's own quietest moments (Piper draws its prosody anew: 35 dB and more
    # under the speech in a short sentence), well under the hall's.
    assert clean.speech_to_floor_db > in_the_hall.speech_to_floor_db + 5, "cleaner without it"
    assert abs(in_the_hall.speech_to_floor_db - kept["speech_to_floor_db"]) < 3, "as far under the speech as in the hall"
    assert list(GeneratedAudio.objects.order_by("pk").values_list("room_tone", flat=True)) == [False, True]


def test_a_whisper_encoder_that_does_not_load_leaves_cloning_and_speaking_working(client, reference, monkeypatch, voice_unmeasured):
    def broken():
        raise OSError("the model cache is not writable")

    monkeypatch.setattr(loaded_models, "speech_encoder", broken)
    body = clone(client, reference, "bob").json()
    assert body["status"] == "success", body
    conversion = SpeakerProfile.objects.get(speaker_id="bob").features["conversion"]
    assert conversion["bases"]["piper"]["content_language"] == "", "no speech states: the nearest frames"
    response = client.post("/audio_clone", {"generate_text": "Hello, this is Bob.", "audio_id": "bob"})
    assert response.status_code == 200 and response.json()["message"] == "音频生成成功", response.json()


def test_cloning_the_same_id_again_makes_a_new_version(client, reference, media_root, voice_fit_reused):
    assert clone(client, reference).status_code == 200
    first = SpeakerProfile.objects.get(speaker_id="anna")
    body = clone(client, reference).json()
    assert body["status"] == "success" and body["version"] == 2
    versions = SpeakerProfile.objects.filter(speaker_id="anna").order_by("version")
    assert [profile.version for profile in versions] == [1, 2]
    assert (media_root / first.clean_clip.name).is_file(), "the first version's clip is kept"
    assert versions[0].clean_clip.name != versions[1].clean_clip.name
    files = [profile.features["conversion"]["file"] for profile in versions]
    assert files[0] != files[1] and all((media_root / name).is_file() for name in files), "each version keeps its own fit"
    listing = client.get("/api/cloned-audios").json()
    assert listing["total_count"] == 1 and listing["audios"][0]["version"] == 2


def test_speaker_id_defaults_to_the_file_name(client, reference, voice_fit_reused):
    body = client.post("/audio_clone", {"original_audio_path": reference}).json()
    assert body["status"] == "success" and body["speaker_id"] == "安娜_reference", body


def test_one_shot_generate_from_a_reference_file(client, reference, media_root, voice_fit_reused):
    body = client.post("/audio_clone", {"generate_text": "One shot.", "ref_audio_path": reference, "room_tone": "true"}).json()
    assert body["status"] == "success", body
    speaker = SpeakerProfile.objects.get(speaker_id__startswith="ref_")
    assert speaker.self_evaluation == {}, "the speech waits on the voice: it is not measured first"
    row = GeneratedAudio.objects.get()
    assert row.speaker == speaker and row.text == "One shot." and "media/" + row.file.name == body["cloned_audio_path"]
    assert not row.room_tone and "no room tone laid: its recording has no audible background" in Job.objects.get(pk=body["task_id"]).log, \
        "the reference's pauses are digital silence: nothing to lay, and the job says so"
    log_tail = client.get(f"/api/tasks/{body['task_id']}").json()["log_tail"]
    assert any(line.endswith("] 未铺设环境底噪: 参考录音没有可闻的背景") for line in log_tail), "in the page's language"
    info = media.probe(media_root / row.file.name)
    assert info.has_audio and 0.3 < info.duration < 5
    assert Job.objects.get(pk=body["task_id"]).status == "succeeded"


def test_measure_voices_gives_figures_to_a_voice_made_without_them(client, reference, media_root, voice_fit_reused):
    body = client.post("/audio_clone", {"generate_text": "One shot.", "ref_audio_path": reference}).json()
    assert body["status"] == "success", body
    one_shot = SpeakerProfile.objects.get(speaker_id__startswith="ref_")
    assert one_shot.self_evaluation == {}
    stale = SpeakerProfile.objects.create(speaker_id="stale", clean_clip=one_shot.clean_clip.name, reference=one_shot.reference,
                                          features={**one_shot.features, "conversion": {}}, owner=one_shot.owner)  # cloned before voices were fitted
    owner = one_shot.owner.username if one_shot.owner else "no account"

    out = io.StringIO()
    call_command("measure_voices", stdout=out)
    one_shot.refresh_from_db()
    evaluation = one_shot.self_evaluation
    assert evaluation["version"] == EVALUATION_VERSION and evaluation["engine"] == "default"
    assert set(evaluation["similarity"]) == {"resemblyzer", "voicefilter"} and set(evaluation["languages"]) == {"en", "zh"}
    assert evaluation["languages"]["en"]["clone"]["error_rate"] <= 0.3, "the clone's English is read back"
    resemblyzer = evaluation["similarity"]["resemblyzer"]
    assert out.getvalue().splitlines() == [
        f"measured  {one_shot} ({owner}): resemblyzer {resemblyzer['clone']:.2f} (base voices {resemblyzer['base']:.2f}), "
        f"voicefilter {evaluation['similarity']['voicefilter']['clone']:.2f} (base voices {evaluation['similarity']['voicefilter']['base']:.2f})",
        f"skipped   stale v1 ({owner}): it has no fit this release reads (an earlier release cloned it): clone it again",
        "1 measured, 1 skipped, 0 failed"]
    assert SpeakerProfile.objects.get(pk=stale.pk).self_evaluation == {}
    listed = {entry["id"]: entry for entry in client.get("/api/cloned-audios").json()["audios"]}
    assert listed[one_shot.speaker_id]["self_evaluation"] == evaluation, "the voice page shows them"

    out = io.StringIO()
    call_command("measure_voices", one_shot.speaker_id, stdout=out)
    assert out.getvalue().splitlines() == ["0 measured, 0 skipped, 0 failed"], "measured voices are left as they are"
    (media_root / one_shot.clean_clip.name).unlink()
    with pytest.raises(CommandError, match="0 measured, 0 skipped, 1 failed"):
        call_command("measure_voices", one_shot.speaker_id, "--again", stdout=io.StringIO(), stderr=io.StringIO())
    one_shot.refresh_from_db()
    assert one_shot.self_evaluation == evaluation, "a failed measurement keeps the figures there were"


def test_measure_voices_measures_the_voices_without_current_figures_only(client, reference, media_root, voice_fit_reused, monkeypatch):
    assert clone(client, reference, "current").json()["status"] == "success"
    current = SpeakerProfile.objects.get(speaker_id="current")
    # Which voices are measured, not how: each measurement is the same stand-in (the real one is tested above).
    monkeypatch.setattr(speech, "evaluate_clone", lambda *args, **kwargs: {"version": EVALUATION_VERSION, "similarity": {}})

    def voice(speaker_id, **fields):
        return SpeakerProfile.objects.create(**{"speaker_id": speaker_id, "clean_clip": current.clean_clip.name, "reference": current.reference,
                                                "features": current.features, "owner": current.owner, **fields})

    older = voice("older", self_evaluation={"version": EVALUATION_VERSION - 1, "similarity": {}})
    withdrawn = voice("withdrawn", reference=ReferenceAudio.objects.create(file="voices/ref_voices/gone.wav", size=1, revoked_at=timezone.now()))
    voice("lost", features={**current.features, "conversion": {**current.features["conversion"], "file": "voices/speakers/lost.conversion.npz"}})

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="^1 measured, 0 skipped, 1 failed$"):
        call_command("measure_voices", stdout=out, stderr=err)
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == [f"measured  older v1 ({older.owner.username if older.owner else 'no account'})"], \
        "the voice measured by this evaluation is left as it is, the withdrawn one is not spoken"
    assert err.getvalue().startswith("failed    lost v1") and "lost.conversion.npz is missing" in err.getvalue()
    assert SpeakerProfile.objects.get(pk=older.pk).self_evaluation["version"] == EVALUATION_VERSION
    assert SpeakerProfile.objects.get(pk=withdrawn.pk).self_evaluation == {}
    with pytest.raises(CommandError, match="no usable voice named typo, withdrawn"):
        call_command("measure_voices", "current", "typo", "withdrawn", stdout=io.StringIO())


@pytest.mark.parametrize("form, message", [
    ({}, "original_audio_path"),
    ({"generate_text": "", "audio_id": "anna"}, "请输入要生成的文本内容"),
    ({"generate_text": "   ", "audio_id": "anna"}, "请输入要生成的文本内容"),
    ({"generate_text": "x" * 31, "audio_id": "anna"}, "文本过长"),
    ({"generate_text": "?!。，", "audio_id": "anna"}, "generate_text: 文本中没有可朗读的文字"),
    ({"generate_text": "?!。，", "ref_audio_path": "REFERENCE"}, "generate_text: 文本中没有可朗读的文字"),
    ({"generate_text": "こんにちは", "audio_id": "anna"}, "generate_text: 暂不支持该语言的文字"),
    ({"generate_text": "Привет мир", "audio_id": "anna"}, "generate_text: 暂不支持该语言的文字"),
    ({"generate_text": "안녕하세요", "audio_id": "anna"}, "generate_text: 暂不支持该语言的文字"),
    ({"generate_text": "①②③", "audio_id": "anna"}, "generate_text: 暂不支持该语言的文字"),
    ({"generate_text": "hi", "audio_id": "nobody"}, "未知的说话人"),
    ({"generate_text": "hi"}, "audio_id"),
    ({"generate_text": "hi", "audio_id": "anna", "pitch": "high"}, "pitch"),
    ({"generate_text": "hi", "audio_id": "anna", "pitch": "40"}, "pitch"),
    ({"generate_text": "hi", "audio_id": "anna", "engine": "siri"}, "未知的语音引擎"),
    ({"generate_text": "hi", "audio_id": "anna", "room_tone": "maybe"}, "room_tone"),
    ({"generate_text": "hi", "audio_id": "anna", "engine": "xtts"}, "ECHOFU_XTTS_DIR"),
    ({"generate_text": "hi", "audio_id": "anna", "engine": "cosyvoice"}, "ECHOFU_COSYVOICE_URL"),
    ({"original_audio_path": "../../etc/passwd"}, "音频路径无效"),
    ({"original_audio_path": "/etc/passwd"}, "音频不在素材库中"),  # read as media/etc/passwd
    ({"original_audio_path": "REFERENCE", "room_tone": "true"}, "环境底噪只用于生成语音"),
    ({"original_audio_path": "media/voices/ref_voices/missing.wav"}, "音频不在素材库中"),
    ({"original_audio_path": "REFERENCE", "target_audio_id": "../evil"}, "说话人 ID"),
])
def test_bad_requests_get_400_and_change_nothing(client, reference, settings, form, message):
    settings.ECHOFU = {**settings.ECHOFU, "TTS_MAX_CHARS": 30}
    SpeakerProfile.objects.create(speaker_id="anna", reference_path=reference, features={})
    form = {key: reference if value == "REFERENCE" else value for key, value in form.items()}
    response = client.post("/audio_clone", form)
    body = response.json()
    assert response.status_code == 400 and body["status"] == "error" and message in body["message"], body
    assert SpeakerProfile.objects.count() == 1 and not GeneratedAudio.objects.exists() and not Job.objects.exists()


def test_too_short_reference_is_refused(client, tmp_path):
    path = write_tone_wav(tmp_path / "short.wav", seconds=1.0)
    with open(path, "rb") as handle:
        reference = client.post("/api/upload-reference-audio", {"audio": handle}).json()["relative_path"]
    body = clone(client, reference).json()
    assert body["status"] == "error" and "参考音频太短" in body["message"]


def test_engine_chosen_per_request(client, reference, settings, voice_fit_reused):
    from engines.testing.fake_cosyvoice import FakeCosyVoice

    assert clone(client, reference).status_code == 200
    with FakeCosyVoice() as server:
        settings.ECHOFU = {**settings.ECHOFU, "COSYVOICE_URL": server.url}
        body = client.post("/audio_clone", {"generate_text": "Hello from the server.", "audio_id": "anna", "engine": "cosyvoice"}).json()
        assert body["status"] == "success", body
        # The clone transcribed the reference, so CosyVoice gets its zero-shot call with that transcript.
        assert GeneratedAudio.objects.get().engine == "cosyvoice" and server.requests[0][0] == "/inference_zero_shot"
        refused = client.post("/audio_clone", {"generate_text": "hi", "audio_id": "anna", "engine": "cosyvoice", "pitch": "2"})
        assert refused.status_code == 400 and "pitch" in refused.json()["message"]


def test_a_speech_engine_failing_mid_stream_is_a_500_with_its_task_and_no_row(client, reference, settings, media_root, voice_fit_reused):
    from engines.testing.fake_cosyvoice import FakeCosyVoice

    assert clone(client, reference).status_code == 200
    with FakeCosyVoice(fail_after_chunks=1) as server:
        settings.ECHOFU = {**settings.ECHOFU, "COSYVOICE_URL": server.url}
        response = client.post("/audio_clone", {"generate_text": "Hello from a broken server.", "audio_id": "anna", "engine": "cosyvoice"})
    body = response.json()
    assert response.status_code == 500 and body["status"] == "error" and "中断了回答" in body["message"], body  # the contract's Chinese
    job = Job.objects.get(pk=body["task_id"])
    assert job.status == "failed" and "broke off its answer" in job.error
    assert GeneratedAudio.objects.count() == 0 and list((media_root / "voices/res_voices").iterdir()) == []


def test_clone_mode_with_every_documented_field_and_blank_text_clones(client, reference, settings, monkeypatch):
    """Generate mode is a non-blank generate_text (spec §11): a form sending all its fields clones with the text left blank."""
    from monitoring import runner

    monkeypatch.setattr(runner, "submit", lambda job: job)  # queued, not run
    settings.ECHOFU = {**settings.ECHOFU, "SYNC_WAIT_SECONDS": 0.0}
    response = client.post("/audio_clone", {"original_audio_path": reference, "target_audio_id": "spk1", "audio_id": "",
                                            "gen_audio_id": "", "generate_text": ""})
    body = response.json()
    assert response.status_code == 202 and body["status"] == "processing", body
    job = Job.objects.get(pk=body["task_id"])
    assert job.kind == Job.Kind.CLONE and job.params["speaker_id"] == "spk1"


@pytest.mark.django_db(transaction=True)  # the foreign keys are checked when the rows commit, as in a worker
def test_a_voice_deleted_while_it_speaks_answers_500_saying_so_and_keeps_no_file(client, reference, media_root, monkeypatch,
                                                                                  voice_fit_reused):
    """Its owner deletes the voice (another tab, the admin) while a worker speaks in it: the answer says
    which voice went, not the database's "FOREIGN KEY constraint failed", and no speech without its row stays."""
    assert clone(client, reference).status_code == 200
    speaking = speech.get_synthesizer

    class DeletedMeanwhile:
        def __init__(self, engine):
            self.engine = engine

        def __getattr__(self, name):
            return getattr(self.engine, name)

        def synthesize(self, *args, **kwargs):
            SpeakerProfile.objects.all().delete()
            return self.engine.synthesize(*args, **kwargs)

    monkeypatch.setattr(speech, "get_synthesizer", lambda engine=None: DeletedMeanwhile(speaking(engine)))
    response = client.post("/audio_clone", {"generate_text": "Hello there.", "audio_id": "anna"})
    body = response.json()
    assert response.status_code == 500 and body["status"] == "error", body
    assert body["message"] == "anna v1 在此任务使用期间被删除; 未保留任何结果"
    assert Job.objects.get(pk=body["task_id"]).status == "failed"
    assert not GeneratedAudio.objects.exists() and list((media_root / "voices/res_voices").iterdir()) == []


@pytest.mark.parametrize("path, chinese, english", [
    ("media/voices/ref_voices/missing.wav", "original_audio_path: 音频不在素材库中, 请先上传参考音频",
     "original_audio_path: the audio is not in the library: upload the reference audio first"),
    ("../../etc/passwd", "original_audio_path: 音频路径无效: 路径在媒体目录之外",
     "original_audio_path: invalid audio path: path is outside the media folder"),
])
def test_an_unknown_audio_path_is_refused_in_chinese_and_in_the_pages_language(client, path, chinese, english):
    """A reference that is not there read '音频路径无效: file does not exist' (English inside the contract's
    Chinese, and no localized_message for the English page), where an uncatalogued file said what to do.
    /video_generation's ref_audio is checked by the same function."""
    client.cookies["django_language"] = "en"
    response = client.post("/audio_clone", {"original_audio_path": path})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": chinese, "localized_message": english}
    assert not Job.objects.exists() and not SpeakerProfile.objects.exists()


@pytest.mark.parametrize("form, field", [
    ({"original_audio_path": "media/voices/ref_voices/missing.wav"}, "original_audio_path"),
    ({"generate_text": "hi", "ref_audio_path": "media/voices/ref_voices/missing.wav"}, "ref_audio_path"),
    ({"generate_text": "hi", "original_audio_path": "media/voices/ref_voices/missing.wav"}, "original_audio_path"),
])
def test_a_refused_reference_names_the_field_it_came_in(client, form, field):
    """As every other refusal of the form does; one-shot mode takes the reference in either field."""
    response = client.post("/audio_clone", form)
    assert response.status_code == 400
    assert response.json()["message"] == f"{field}: 音频不在素材库中, 请先上传参考音频"


@pytest.mark.parametrize("form, chinese, english", [
    ({}, "original_audio_path: 请选择参考音频", "original_audio_path: choose a reference audio"),
    ({"generate_text": "hi"}, "audio_id: 请指定说话人, 或在 ref_audio_path 中提供参考音频",
     "audio_id: name a speaker, or give a reference audio in ref_audio_path"),
])
def test_a_missing_voice_is_refused_naming_the_field_once(client, form, chinese, english):
    client.cookies["django_language"] = "en"
    response = client.post("/audio_clone", form)
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": chinese, "localized_message": english}
