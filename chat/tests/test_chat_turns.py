"""/chat_system end to end on the real ASR, TTS and LLM client; every stage's failure; streaming segments."""
from urllib.parse import quote

import numpy as np
import pytest
from django.utils import timezone

from chat.models import Conversation, KnowledgeEntry, Persona, Turn
from engines import media, provenance
from engines.voice.default import espeak
from monitoring.models import Job
from provenance.models import ProvenanceRecord
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


def ask(client, model, code=200, **fields):
    form = {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}", "voice_clone": "false", "api_choice": "fake", **fields}
    response = client.post("/chat_system", form)
    assert response.status_code == code, response.content.decode()
    return response.json()


def save_speech(client, tmp_path, text, language="en"):
    wav = tmp_path / "question.wav"
    media.write_wav(wav, espeak(text, language, "m3"), 16000)
    with open(wav, "rb") as handle:
        assert client.post("/save_audio", {"audio": handle}).status_code == 200


def stored(media_root, public_path):
    return media_root / public_path.removeprefix("media/")


def test_typed_question_streams_sentences_and_answers_one_joined_video(client, model, renderer, llm_server, media_root):
    body = ask(client, model, text="Hello, who are you?")
    assert body["status"] == "success" and body["message"] == "对话生成成功"
    assert body["response"].startswith("/media/videos/res_videos/chat_guide_") and body["task_id"].startswith("chat_")
    assert body["transcript"] == "Hello, who are you?" and body["provider"] == "fake"
    assert body["reply"] == "Welcome to the studio. I can answer your questions!"
    assert {"llm", "tts", "render", "total", "first_segment", "llm_first_sentence"} <= set(body["timings"])
    assert "asr" not in body["timings"]  # typed: nothing was recognised, so the page shows no 0.0 s for it
    assert 0 < body["timings"]["first_segment"] <= body["timings"]["total"]

    # One MP4 per sentence, each playable, spoken and rendered as soon as its text existed.
    assert [segment["text"] for segment in body["segments"]] == ["Welcome to the studio.", "I can answer your questions!"]
    assert len(renderer.calls) == 2
    durations = []
    for segment in body["segments"]:
        info = media.verify(stored(media_root, segment["video_path"]), "video")
        assert info.video_codec == "h264" and info.audio_codec == "aac"
        durations.append(segment["duration"])
        assert client.get("/" + segment["video_path"]).status_code == 200
    joined = media.verify(stored(media_root, body["response"].removeprefix("/")), "video")
    assert joined.has_audio and joined.duration == pytest.approx(sum(durations), abs=0.15)
    assert body["duration"] == pytest.approx(sum(durations), abs=0.05)
    assert client.get(body["response"]).status_code == 200

    turn = Turn.objects.get(pk=body["turn_id"])
    assert turn.status == "succeeded" and turn.reply_video.name == body["response"].removeprefix("/media/")
    assert turn.reply_audio and turn.timings == body["timings"] and turn.job.kind == Job.Kind.CHAT
    listed = client.get(f"/api/chat/turns/{turn.pk}").json()
    assert listed["turn_status"] == "succeeded" and listed["segments"] == body["segments"]
    assert client.get("/api/chat/turns/99999").status_code == 404
    # Every published file says what made it: a provenance row and an embedded record (answer video, audio, segments).
    assert set(ProvenanceRecord.objects.filter(request_id=turn.job_id).values_list("kind", flat=True)) == {"video", "audio"}
    for published in (body["response"].removeprefix("/"), "media/" + turn.reply_audio.name, *(segment["video_path"] for segment in body["segments"])):
        assert provenance.read_record(stored(media_root, published)).request_id == turn.job_id
    # The persona reaches the model as the system prompt.
    assert llm_server.requests[0]["body"]["messages"][0] == {"role": "system", "content": Persona.current().prompt}


def test_the_first_sentence_is_spoken_and_rendered_while_the_model_waits_to_write_on(client, model, renderer, monkeypatch):
    from engines import llm

    class StillWriting:
        """Ends its first sentence, then waits while held before it writes on, as the packaged model does."""

        held = rendered_meanwhile = False

        def stream(self, messages, max_tokens=200, hold=None):
            yield "Welcome to the studio. I"
            self.held = not hold.is_set()
            llm.wait_while_held(hold, limit_seconds=10.0)
            self.rendered_meanwhile = bool(renderer.calls)
            yield " can answer your questions!"

    writing = StillWriting()
    monkeypatch.setattr("chat.pipeline.providers.chat_model", lambda provider: writing)
    body = ask(client, model, text="Hello, who are you?", api_choice="")
    assert [segment["text"] for segment in body["segments"]] == ["Welcome to the studio.", "I can answer your questions!"]
    # On two cores a model writing beside the first segment's voice and video halves their speed.
    assert writing.held, "the model wrote on while the first sentence was spoken"
    assert writing.rendered_meanwhile, "the first sentence waited for the whole reply"


def test_later_turns_reuse_the_loaded_model_until_it_is_trained_again(client, model, kept_renderer, llm_server, media_root):
    first = ask(client, model, text="Hello, who are you?")
    ask(client, model, text="And what can you do?", conversation_id=first["conversation_id"])
    # Two turns of two sentences each: four renders, one model load, one Whisper encoder throughout.
    assert len(kept_renderer.calls) == 4 and len(kept_renderer.loads) == 1
    assert kept_renderer.encoders[0] is not None and all(encoder is kept_renderer.encoders[0] for encoder in kept_renderer.encoders)

    (media_root / "models/EchoLite/guide/weights.pt").write_bytes(b"trained again")
    ask(client, model, text="Hello again")
    assert len(kept_renderer.calls) == 6 and len(kept_renderer.loads) == 2


def test_an_answer_downloads_under_the_models_person_version_and_time(client, model, renderer, llm_server):
    """Not as chat_guide_<conversation>_<turn>.mp4, its stored name: the page's link and ?download=1 say whose answer and when."""
    TalkingHeadModel.objects.filter(pk=model.pk).update(person="小明", version=2)
    body = ask(client, model, text="Hello, who are you?")
    answer = ProvenanceRecord.objects.get(file=body["response"].removeprefix("/media/"))
    expected = f"小明-v2-{timezone.localtime(answer.created_at):%Y-%m-%d-%H%M}.mp4"
    assert body["download_name"] == expected and not body["response"].endswith(expected)
    assert client.get(f"/api/chat/turns/{body['turn_id']}").json()["download_name"] == expected
    assert [entry["download_name"] for entry in client.get("/api/history/chat").json()] == [expected]
    served = client.get(body["response"] + "?download=1")
    assert served["Content-Disposition"] == f'attachment; filename="{expected.replace("小明", "Xiaoming")}"; filename*=utf-8\'\'{quote(expected)}'


def test_not_waiting_answers_at_once_with_the_turn_to_poll(client, model, renderer, llm_server):
    body = ask(client, model, code=202, text="Hi there", wait="false")
    assert body["status"] == "processing" and body["turn_url"] == f"/api/chat/turns/{body['turn_id']}"
    # Jobs run inline in tests, so the turn is complete by now.
    assert client.get(body["turn_url"]).json()["turn_status"] == "succeeded"
    assert ask(client, model, code=202, text="Hi again", wait="No")["status"] == "processing"  # any switch word


def test_a_wait_that_is_no_switch_word_is_refused_before_any_turn(client, model, renderer, llm_server):
    """A typo is neither waiting nor not: the client would get a 202 it did not ask for, or block."""
    body = ask(client, model, code=400, text="Hi there", wait="maybe")
    assert body["status"] == "error" and body["message"] == "wait: 必须是 true 或 false (也可写 1/0, yes/no, on/off)", body
    assert not Turn.objects.exists() and not Job.objects.exists()


def test_earlier_turns_reach_the_llm_and_the_admin_persona_is_used(client, model, renderer, llm_server):
    Persona.objects.create(name="Mia", prompt="You are Mia, a museum guide.")
    first = ask(client, model, text="My name is Li.")
    second = ask(client, model, text="What is my name?", conversation_id=first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"] and Conversation.objects.count() == 1
    sent = llm_server.requests[-1]["body"]["messages"]
    assert sent == [
        {"role": "system", "content": "You are Mia, a museum guide."},
        {"role": "user", "content": "My name is Li."},
        {"role": "assistant", "content": first["reply"]},
        {"role": "user", "content": "What is my name?"},
    ]
    assert ask(client, model, code=400, text="x", conversation_id=12345)["status"] == "error"


def test_spoken_question_is_transcribed_and_answered_from_the_knowledge_base(client, model, renderer, llm_server, tmp_path):
    KnowledgeEntry.objects.create(question="What time does the exhibition close?", answer="We close at six in the evening.", language="en")
    KnowledgeEntry.objects.create(question="洗手间在哪里？", answer="洗手间在一楼大厅的左边。", language="zh")
    save_speech(client, tmp_path, "What time does the exhibition close?")
    body = ask(client, model)
    assert "exhibition" in body["transcript"].lower() and body["language"] == "en"
    assert body["provider"] == "knowledge" and body["reply"] == "We close at six in the evening."
    assert body["timings"]["asr"] > 0 and llm_server.requests == []
    turn = Turn.objects.get(pk=body["turn_id"])
    assert turn.user_audio.name.endswith("question.wav") and turn.knowledge.answer == body["reply"]


def test_fallback_provider_says_the_persona_fallback(client, model, renderer):
    body = ask(client, model, text="你知道今天的天气吗？", api_choice="fallback")
    assert body["provider"] == "fallback" and body["reply"] == Persona.current().fallback_reply_zh


def test_a_question_in_a_language_the_packaged_model_does_not_speak_gets_the_fallback_reply(client, model, renderer, settings,
                                                                                             monkeypatch):
    settings.ECHOFU = {**settings.ECHOFU, "LLM_LOCAL_MODEL": "smollm2-135m"}  # English only
    asked = []

    def local_model(provider):
        class Answering:
            def stream(self, messages, max_tokens=200, hold=None):
                asked.append(messages[-1]["content"])
                yield "Welcome to the studio!"

        asked.append(f"loaded for {provider}")
        return Answering()

    monkeypatch.setattr("chat.pipeline.providers.chat_model", local_model)
    body = ask(client, model, text="请用一句话介绍一下你自己。", api_choice="local")
    assert body["provider"] == "fallback" and body["reply"] == Persona.current().fallback_reply_zh
    assert asked == [], "the model was loaded or asked for what it would only garble"
    client.cookies["django_language"] = "zh-hans"
    log = [line.split("] ", 1)[1] for line in client.get(f"/api/tasks/{body['task_id']}").json()["log_tail"]]
    assert ("离线模型 smollm2-135m 不会用中文回答: 由兜底回复回答 (要用中文回答, 请配置一个会中文的大模型服务 "
            "ECHOFU_LLM_PROVIDERS, 或在知识库中添加此问题)") in log

    body = ask(client, model, text="Who are you?", api_choice="local", conversation_id=body["conversation_id"])
    assert body["provider"] == "local" and body["reply"] == "Welcome to the studio!"
    assert asked == ["loaded for local", "Who are you?"]


def assert_failed(body, media_root, stage):
    from echofu.messages import in_contract_language
    from engines.progress import stage_name

    assert body["status"] == "error" and body["stage"] == stage
    assert body["message"].startswith(in_contract_language(stage_name(stage)) + "阶段失败: "), body["message"]
    turn = Turn.objects.get(pk=body["turn_id"])
    assert turn.status == "failed" and turn.error_stage == stage and turn.error
    assert turn.segments == [] and not turn.reply_video and body["segments"] == []
    assert not list((media_root / "videos/res_videos").glob("chat_*"))
    assert not list((media_root / "chat").glob("*/*/segments/*"))
    return turn


def test_no_recording(client, model, renderer, media_root):
    assert_failed(ask(client, model, code=400), media_root, "input")


def test_silence_only(client, model, renderer, media_root, tmp_path):
    wav = tmp_path / "silence.wav"
    media.write_wav(wav, np.zeros(32000, dtype=np.float32), 16000)
    with open(wav, "rb") as handle:
        client.post("/save_audio", {"audio": handle})
    body = ask(client, model, code=422)
    turn = assert_failed(body, media_root, "asr")
    assert turn.user_audio  # the recording that failed is kept with the turn
    # Said once, in the reader's language: it read '录音中没有检测到语音: no speech was found in the recording ...'
    assert body["message"] == "语音识别阶段失败: 录音中没有检测到语音 (只有静音或噪声)", body["message"]
    job = Job.objects.get(pk=body["task_id"])  # the user's to change, not a fault: no traceback in its log
    assert job.failed_on_input and "Traceback" not in job.log
    client.cookies["django_language"] = "en"
    english = ask(client, model, code=422)["localized_message"]
    assert english == "speech recognition stage failed: no speech was found in the recording (silence or noise only)", english


def test_llm_server_error_and_timeout(client, model, renderer, llm_server, media_root):
    llm_server.status = 503
    assert "503" in assert_failed(ask(client, model, code=502, text="Hello"), media_root, "llm").error
    llm_server.status, llm_server.delay = 200, 5.0
    assert "在超时时间内没有回答" in assert_failed(ask(client, model, code=502, text="Hello"), media_root, "llm").error  # the turn keeps it in Chinese


def test_tts_failure(client, model, renderer, llm_server, monkeypatch, media_root):
    """The voice engine could run when the turn was accepted (an engine that cannot is refused up front), then failed."""
    def broken(*args, **kwargs):
        raise RuntimeError("espeak-ng died")

    monkeypatch.setattr("engines.voice.default.DefaultSynthesizer.synthesize", broken)
    assert "espeak-ng died" in assert_failed(ask(client, model, code=500, text="Hello"), media_root, "tts").error


def test_render_failure_with_the_real_engine(client, model, llm_server, media_root):
    # The model folder holds no weights: the real EchoLite engine cannot render it.
    assert_failed(ask(client, model, code=500, text="Hello"), media_root, "render")


def test_form_errors(client, model):
    assert ask(client, model, code=400, model_param="models/EchoLite/nope")["status"] == "error"
    assert "speaker" in ask(client, model, code=400, text="hi", voice_clone="true")["message"]
    assert "speaker_id" in ask(client, model, code=400, text="hi", voice_clone="true", speaker_id="nobody")["message"]


def test_a_turn_cancelled_while_queued_reads_failed_not_running(client, model):
    from monitoring import runner

    turn = Turn.objects.create(conversation=Conversation.objects.create(), input_text="Hello")
    turn.job = runner.new_job(Job.Kind.CHAT, {"turn_id": turn.pk, "model_id": model.pk}, prefix="chat")
    turn.save()
    runner.request_cancel(turn.job)  # never reaches a worker, so no stage of the turn ran
    body = client.get(f"/api/chat/turns/{turn.pk}").json()
    assert body["turn_status"] == "failed" and body["error"] == "cancelled"
    assert [entry["status"] for entry in client.get("/api/history/chat").json()] == ["failed"]


def test_a_model_deleted_before_the_turn_runs_fails_the_turn(client, model, renderer, media_root):
    from monitoring import runner

    KnowledgeEntry.objects.create(question="When does it close?", answer="At six.", language="en")
    turn = Turn.objects.create(conversation=Conversation.objects.create(), input_text="When does it close?")
    turn.job = runner.new_job(Job.Kind.CHAT, {"turn_id": turn.pk, "model_id": model.pk}, prefix="chat")
    turn.save()
    model.delete()
    runner.execute(turn.job.pk)
    turn.refresh_from_db()
    assert turn.job.status == "failed" and turn.status == "failed" and turn.error == "此任务要用的数字人模型在任务开始前已被删除, 未生成任何内容"
    assert client.get(f"/api/chat/turns/{turn.pk}").json()["turn_status"] == "failed"


@pytest.mark.django_db(transaction=True)  # as in a worker: no test transaction for the failed update to spoil
@pytest.mark.parametrize("deleted_after", ["the first sentence", "the joined answer"])
def test_a_turn_deleted_while_it_runs_stays_deleted_and_keeps_no_files(monkeypatch, model, renderer, llm_server, media_root, deleted_after):
    """Deleted in the admin (or with its conversation) as it answers: the failure is not written back as
    a new row, and the answer published meanwhile is not left in the media folders without one."""
    from chat import pipeline
    from monitoring import runner

    published = []

    def delete_the_turn_once_published(temp, target, *args, **kwargs):
        record = finish_video(temp, target, *args, **kwargs)
        published.append(target)
        if deleted_after == ("the joined answer" if "res_videos" in str(target) else "the first sentence"):
            Turn.objects.filter(pk=turn.pk).delete()
        return record

    finish_video = pipeline.finish_video
    monkeypatch.setattr(pipeline, "finish_video", delete_the_turn_once_published)
    turn = Turn.objects.create(conversation=Conversation.objects.create(), input_text="Hello, who are you?")
    turn.job = runner.new_job(Job.Kind.CHAT, {"turn_id": turn.pk, "model_id": model.pk, "api_choice": "fake"}, prefix="chat")
    turn.save()
    runner.execute(turn.job.pk)
    assert Job.objects.get(pk=turn.job.pk).status == "failed" and published
    assert not Turn.objects.exists()
    assert [path for path in media_root.rglob("*") if path.is_file()] == []


def test_a_turn_cancelled_at_its_first_sentence_lets_the_model_go(monkeypatch, model, renderer):
    import threading
    import time

    from engines import llm
    from engines.progress import Cancelled
    from monitoring import runner

    class OneAtATime:
        """Like the packaged local model: one reply at a time, and writing waits while held."""

        def __init__(self):
            self.lock = threading.Lock()

        def stream(self, messages, max_tokens=200, hold=None):
            with self.lock:
                for token in ["Hello there, friend. ", "This ", "is ", "the ", "second ", "sentence ", "of ", "it. "]:
                    llm.wait_while_held(hold, limit_seconds=30.0)
                    yield token

    local = OneAtATime()
    monkeypatch.setattr("chat.pipeline.providers.chat_model", lambda provider: local)
    report = runner._Reporter.__call__

    def cancel_at_speech(reporter, stage, fraction, message=""):  # the user presses cancel as speaking begins
        report(reporter, stage, fraction, message)  # recorded first, as the real report sees a cancel after it
        if stage == "tts":
            raise Cancelled("cancelled")

    monkeypatch.setattr(runner._Reporter, "__call__", cancel_at_speech)
    turn = Turn.objects.create(conversation=Conversation.objects.create(), input_text="Tell me something")
    turn.job = runner.new_job(Job.Kind.CHAT, {"turn_id": turn.pk, "model_id": model.pk}, prefix="chat")
    turn.save()
    runner.execute(turn.job.pk)
    deadline = time.monotonic() + 5
    while local.lock.locked() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not local.lock.locked(), "the next turn would wait for a reply nobody reads"
    turn.refresh_from_db()
    assert turn.status == "failed" and turn.error == "cancelled" and turn.error_stage == "tts"


def test_a_turn_cancelled_while_the_request_waits_answers_409(client, model, renderer, llm_server, monkeypatch):
    """As /video_generation and /audio_clone answer a cancel: not a 502 from the llm stage it never failed in."""
    from engines.progress import Cancelled
    from monitoring import runner

    report = runner._Reporter.__call__

    def cancel_at_speech(reporter, stage, fraction, message=""):
        report(reporter, stage, fraction, message)
        if stage == "tts":
            raise Cancelled("cancelled")

    monkeypatch.setattr(runner._Reporter, "__call__", cancel_at_speech)
    body = ask(client, model, code=409, text="Hello, who are you?")
    assert body["status"] == "error" and body["message"] == "任务已取消"
    assert body["turn_status"] == "failed" and body["stage"] == "tts" and body["task_id"].startswith("chat_")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("end, left", [
    (Job.delete, "failed"),  # the turn stays, failed: no page polls it for ever
    (lambda job: Turn.objects.filter(job=job).delete(), None),
], ids=["job row deleted", "turn row deleted"])
def test_a_turn_whose_row_is_deleted_while_the_request_waits_answers_410(client, model, settings, end, left):
    """Deleted in the admin while queued: the same error as for the other waiting endpoints, not a 500."""
    from monitoring.tests.waiting import end_while_waiting

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}  # no cluster runs: the job stays queued
    settings.ECHOFU = {**settings.ECHOFU, "SYNC_WAIT_SECONDS": 3.0}  # a turn deleted alone leaves its queued job to wait out
    watcher = end_while_waiting(Job.Kind.CHAT, end)
    body = ask(client, model, code=410, text="Hello, who are you?")
    watcher.join(10)
    assert body["status"] == "error" and body["message"] == "任务已被删除" and body["task_id"].startswith("chat_"), body
    assert list(Turn.objects.values_list("status", flat=True)) == ([left] if left else [])


def test_a_conversation_deleted_after_the_form_was_checked_answers_400(client, model, monkeypatch):
    """Deleted (in the admin, or with its owner) between the check and the new turn: no 500, no turn."""
    from chat.forms import ChatRequest

    conversation = Conversation.objects.create()
    checked = ChatRequest.validate

    def check_then_delete(form, data):
        data = checked(form, data)
        Conversation.objects.filter(pk=data["conversation_id"]).delete()
        return data

    monkeypatch.setattr(ChatRequest, "validate", check_then_delete)
    body = ask(client, model, code=400, text="Hello", conversation_id=conversation.pk)
    assert body["message"] == f"conversation_id: 对话不存在: {conversation.pk}" and not Turn.objects.exists()


def test_a_failed_stage_names_no_server_path(client, model, renderer, llm_server, media_root, monkeypatch):
    weights = model.directory() / "weights.pt"

    def damaged(*args, **kwargs):
        raise OSError(f"cannot read {weights}")

    monkeypatch.setattr("chat.pipeline.render", damaged)
    body = ask(client, model, code=500, text="Hello")
    turn = Turn.objects.get(pk=body["turn_id"])
    assert f"media/models/EchoLite/{model.name}/weights.pt" in turn.error, turn.error
    for shown in (body["message"], turn.error, client.get(f"/api/chat/turns/{turn.pk}").content.decode()):
        assert str(media_root) not in shown, shown


def test_the_turns_own_log_lines_are_shown_in_the_pages_language(client, model, renderer):
    body = ask(client, model, text="Hello.", api_choice="nobody")
    client.cookies["django_language"] = "zh-hans"
    log = [line.split("] ", 1)[1] for line in client.get(f"/api/tasks/{body['task_id']}").json()["log_tail"]]
    assert log[0].startswith("api_choice 'nobody' 未配置 (可用: ") and log[0].endswith(f"); 由 '{body['provider']}' 回答")
    assert f"第 1 句: {body['segments'][0]['text']}" in log


def test_a_double_clicked_send_makes_one_turn_and_both_answers_carry_its_video(client, model, renderer, llm_server, tmp_path, monkeypatch):
    """The contract rereads input.wav on every /chat_system: Send clicked twice on one recording is one
    utterance, answered once (one LLM call, one render), and both answers carry that turn's video."""
    from monitoring import repeats

    monkeypatch.setattr(repeats, "REPEATED_REQUEST_SECONDS", 300.0)  # a slow test machine's two clicks are still moments apart
    save_speech(client, tmp_path, "Hello, who are you?")
    first = ask(client, model)
    again = ask(client, model)
    assert first["status"] == again["status"] == "success" and again["message"] == "对话生成成功"
    assert (again["response"], again["turn_id"], again["task_id"]) == (first["response"], first["turn_id"], first["task_id"])
    assert Turn.objects.count() == 1 and Conversation.objects.count() == 1 and len(llm_server.requests) == 1
    assert Job.objects.filter(kind=Job.Kind.CHAT).count() == 1

    save_speech(client, tmp_path, "What can you do?")  # a new utterance is a turn of its own
    new = ask(client, model)
    assert new["status"] == "success" and new["turn_id"] != first["turn_id"] and new["response"] != first["response"]
    assert Turn.objects.count() == 2 and len(llm_server.requests) == 2
    assert ask(client, model, pitch="2")["turn_id"] not in (first["turn_id"], new["turn_id"])  # so is the same one asked another way


@pytest.mark.django_db(transaction=True)
def test_send_clicked_twice_at_once_waits_for_the_one_turn(model, renderer, llm_server, tmp_path):
    """The second click arrives while the first turn runs: it waits for that turn and answers with it."""
    from django.test import Client

    from echofu.tests.at_once import at_once

    save_speech(Client(), tmp_path, "Hello, who are you?")
    answers = at_once([lambda: ask(Client(), model)] * 2, timeout=120)
    assert all(isinstance(body, dict) and body["status"] == "success" for body in answers), answers
    assert answers[0]["response"] == answers[1]["response"] and answers[0]["turn_id"] == answers[1]["turn_id"]
    assert Turn.objects.count() == 1 and len(llm_server.requests) == 1 and len(renderer.calls) == 2


def test_an_answer_is_labelled_in_the_language_of_the_page_that_asked(client, model, renderer, llm_server, media_root, settings,
                                                                      monkeypatch):
    from generation.tests.test_label_language import counted_font_lookups, nearer

    settings.ECHOFU = {**settings.ECHOFU, "VIDEO_LABEL": True, "LABEL_FONT": ""}
    lookups = counted_font_lookups(monkeypatch)
    answers = {}
    for language in ("en", "zh-hans"):  # the same question from each page: two answers, not one repeated
        client.cookies["django_language"] = language
        body = ask(client, model, text="Hello, who are you?")
        assert Job.objects.get(pk=body["task_id"]).params["label_language"] == language
        assert len(client.get(f"/api/chat/turns/{body['turn_id']}").json()["segments"]) == 2
        answers[language] = next(media.iter_video_frames(media_root / body["response"].removeprefix("/media/"))).astype(int)
    # once for the Chinese turn, not once per sentence and again for the joined answer ("AI generated" needs no font)
    assert lookups == ["AI 生成"]
    assert np.abs(answers["en"] - answers["zh-hans"]).max() > 100
    assert nearer(answers["en"]) == "en" and nearer(answers["zh-hans"]) == "zh-hans"
