"""The API's own messages: `message` in the contract's Chinese whatever the page's language, and, for
messages with a template, `localized_message` in the request's language, which the pages show."""
import ast
from pathlib import Path

import pytest
from django.utils import translation
from rest_framework import serializers

from echofu import responses
from echofu.messages import CONTRACT_LANGUAGE, in_contract_language

pytestmark = pytest.mark.django_db


def refused_upload(client, tmp_path, language=None, **fields):
    if language:
        client.cookies["django_language"] = language
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_bytes(b"this is not a video" * 100)
    with open(not_a_video, "rb") as handle:
        response = client.post("/api/upload-training-video", {"video": handle, **fields})
    assert response.status_code == 400
    return response.json()


def test_a_refused_upload_says_why_in_chinese_and_in_the_pages_language(client, tmp_path):
    english = refused_upload(client, tmp_path, "en")
    assert english["status"] == "error" and english["message"].startswith("文件内容不是有效的视频: ")
    assert english["localized_message"].startswith("the file's content is not a valid video: ")
    chinese = refused_upload(client, tmp_path, "zh-hans")
    assert chinese["localized_message"] == chinese["message"] == english["message"]


def test_ffmpegs_own_words_are_kept_marked_as_its_own_inside_a_sentence_in_the_readers_language(client, tmp_path):
    """FFmpeg's detail helps whoever knows it, but it is English and not ours: the sentence around it
    is in the reader's language, the detail is marked as FFmpeg's, and it names no server path."""
    english = refused_upload(client, tmp_path, "en")
    assert english["message"] == "文件内容不是有效的视频: 无法读取为音频或视频 (FFmpeg 原文: Invalid data found when processing input)"
    assert english["localized_message"] == ("the file's content is not a valid video: not readable as audio or video "
                                            "(FFmpeg says: Invalid data found when processing input)")
    assert "/" not in english["message"] + english["localized_message"]


def test_consent_refusals_keep_the_contracts_exact_chinese(client, tmp_path, settings):
    body = refused_upload(client, tmp_path, "en", consent="maybe")
    assert body["message"] == "consent 必须为 true: 上传者需声明本人就是文件中的人/声音, 或已获其本人同意"
    assert body["localized_message"].startswith("consent must be true")
    body = refused_upload(client, tmp_path, "en", consent="true", consent_name="")
    assert body["message"] == "consent_name: 请填写文件中出现的人的姓名 (1-200 个字符, 不含控制字符)"
    assert body["localized_message"] == "consent_name: enter the name of the person in the file (1-200 characters, no control characters)"


def test_an_upload_without_a_file_keeps_its_chinese_message(client):
    client.cookies["django_language"] = "en"
    body = client.post("/api/upload-training-video", {}).json()
    assert body["message"] == "没有文件: 请在字段 'video' 中上传文件"
    assert body["localized_message"] == "no file: upload one in the field 'video'"


def test_messages_without_a_template_stay_as_they_were():
    assert responses.message_fields("服务器说: 无法处理") == {"message": "服务器说: 无法处理"}


def test_a_missing_task_is_named_in_the_pages_language(client):
    client.cookies["django_language"] = "en"
    for response in (client.get("/api/tasks/nothing"), client.post("/api/tasks/nothing/cancel")):
        assert response.status_code == 404
        assert response.json() == {"status": "error", "message": "任务不存在", "localized_message": "no such task"}
    missing_training = client.get("/api/train-status/nothing").json()
    assert (missing_training["message"], missing_training["localized_message"]) == ("训练任务不存在", "no such training task")


def refused_clone(client, language, **fields):
    client.cookies["django_language"] = language
    response = client.post("/audio_clone", fields)
    assert response.status_code == 400, response.content
    return response.json()


def test_form_refusals_keep_the_contracts_chinese_and_come_in_the_pages_language(client, settings):
    settings.ECHOFU = {**settings.ECHOFU, "TTS_MAX_CHARS": 10}
    body = refused_clone(client, "en", generate_text="Hello there, studio.", audio_id="anna")
    assert body["message"] == "generate_text: 文本过长: 20 个字符, 上限 10"
    assert body["localized_message"] == "generate_text: the text is too long: 20 characters, at most 10"
    body = refused_clone(client, "en", generate_text="Hello.", audio_id="anna")
    assert body["message"] == "audio_id: 未知的说话人 'anna', 请先提取说话人特征"
    assert body["localized_message"] == "audio_id: unknown speaker 'anna': extract the speaker's features first"
    chinese = refused_clone(client, "zh-hans", generate_text="Hello.", audio_id="anna")
    assert chinese["localized_message"] == chinese["message"] == body["message"]


@pytest.mark.parametrize("path, fields, chinese, english", [
    ("/model_training", {"ref_video": "clip.mp4"}, "model_choice: 该字段是必填项。", "model_choice: This field is required."),
    ("/chat_system", {"model_name": "EchoLite", "model_param": "anna", "conversation_id": "two"},
     "conversation_id: 请填写合法的整数值。", "conversation_id: A valid integer is required."),
    ("/audio_clone", {"generate_text": "Hello.", "audio_id": "anna", "pitch": "99"},
     "pitch: 请确保该值小于或者等于 12。", "pitch: Ensure this value is less than or equal to 12."),
    ("/video_generation", {"model_name": "EchoLite", "model_param": "anna", "pitch": "high"},
     "pitch: 请填写合法的数字。", "pitch: A valid number is required."),
])
def test_the_frameworks_field_errors_keep_the_contracts_chinese_in_either_language(client, path, fields, chinese, english):
    client.cookies["django_language"] = "en"
    in_english = client.post(path, fields)
    assert in_english.status_code == 400, in_english.content
    assert in_english.json() == {"status": "error", "message": chinese, "localized_message": english}
    client.cookies["django_language"] = "zh-hans"
    assert client.post(path, fields).json() == {"status": "error", "message": chinese, "localized_message": chinese}


def test_an_english_browser_still_reads_the_frameworks_field_errors_in_chinese(client):
    # the studio's language is the switch's cookie, not Accept-Language (echofu.i18n): Chinese throughout
    body = client.post("/model_training", {"ref_video": "clip.mp4"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body == {"status": "error", "message": "model_choice: 该字段是必填项。", "localized_message": "model_choice: 该字段是必填项。"}


class NamedRequest(serializers.Serializer):
    name = serializers.CharField(max_length=3)
    note = serializers.CharField(required=False, error_messages={"blank": "write something"})

    def validate_name(self, value):
        if value == "bad":
            raise serializers.ValidationError("not this one", code="max_length")
        return value


@pytest.mark.parametrize("data, chinese, english", [
    ({"name": "Annabel"}, "name: 请确保这个字段不能超过 3 个字符。", "name: Ensure this field has no more than 3 characters."),
    (["a", "list"], "无效数据。期待为字典类型，得到的是 list 。", "Invalid data. Expected a dictionary, but got list."),
    # texts that are not the template their code names stay as they are, in the language they were written in
    ({"name": "bad"}, "name: not this one", "name: not this one"),
    ({"name": "Ann", "note": ""}, "note: write something", "note: write something"),
])
def test_the_frameworks_refusals_keep_their_template_for_either_language(data, chinese, english):
    with translation.override("en"):
        form = NamedRequest(data=data)
        assert not form.is_valid()
        reason = responses.first_error(form)
    assert (in_contract_language(reason), str(reason)) == (chinese, english)


ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["engines", "assets", "training", "generation", "chat", "monitoring", "echofu", "accounts", "provenance", "limits"]


def templates_written() -> dict[str, str]:
    """Every `gettext_noop("...")` template in the code people's messages come from, with where it is."""
    found = {}
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            if {"tests", "testing", "migrations"} & set(path.parts):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                called = getattr(node, "func", None)
                if (isinstance(node, ast.Call) and getattr(called, "id", getattr(called, "attr", None)) == "gettext_noop"
                        and node.args and isinstance(node.args[0], ast.Constant)):
                    found[node.args[0].value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_template_has_its_chinese_translation():
    templates = templates_written()
    assert "{stage}: {fraction:.0%}, eta {seconds:.0f}s" in templates and "loading XTTS-v2" in templates
    with translation.override(CONTRACT_LANGUAGE):
        untranslated = {template: where for template, where in templates.items() if translation.gettext(template) == template}
    assert untranslated == {}


def test_echolites_training_log_lines_come_in_the_readers_language():
    """The audio delay found and the self-evaluation close a training's log; the job card showed them
    in English on the Chinese page."""
    from echofu.messages import localized
    from engines.talking_head.echolite import evaluate, holdout
    from engines.talking_head.echolite.sync import AudioDelay

    def figures(lmd, opening_r, sharpness, shimmer):
        return evaluate.LipFigures(0.75, 23.0, lmd, opening_r, 0, sharpness, shimmer, 75, None)

    beats, verdict = evaluate.verdict(figures(17.9, 0.66, 0.36, 1.8), figures(27.0, -0.02, 1.03, 1.0))
    metrics = {"holdout_frames": 75, "mouth_ssim": 0.749, "loop_mouth_ssim": 0.653, "mouth_psnr": 23.0,
               "loop_mouth_psnr": 22.1, "verdict": verdict}
    lines = [AudioDelay(2, 0.21, True, "speech content").note(), AudioDelay(0, 0.0, False).note(),
             holdout.summary(metrics), holdout.summary({"holdout_frames": 4})]
    assert beats and lines[0] == "audio delay +2 frames (by speech content; lip/loudness r 0.21)"
    assert lines[2].startswith("self-evaluation on 75 held-out frames: mouth SSIM 0.749 (loop 0.653)")
    assert "the mouth shimmers from frame to frame (1.8x" in lines[2]
    with translation.override(CONTRACT_LANGUAGE):
        chinese = [localized(line) for line in lines]
    assert chinese[0] == "声音延迟 +2 帧 (依据语音内容; 口型/响度 r 0.21)"
    assert chinese[1].startswith("警告: 无法将声音与嘴部动作对齐")
    assert chinese[2].startswith("自我评估 (75 个留出帧): 口型 SSIM 0.749 (循环 0.653)") and "口型逐帧闪烁 (为真实帧抖动的 1.8 倍)" in chinese[2]
    assert chinese[3] == "跳过自我评估: 留出帧只有 4 个, 少于 10 个"
