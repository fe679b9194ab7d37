"""The studio pages without a browser: language choice, CSRF cookie, and the recent-jobs list."""
import pytest

from monitoring.models import Job

pytestmark = pytest.mark.django_db

PAGES = ["/", "/voice/", "/training/", "/generate/", "/chat/"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_speak_chinese_unless_english_was_chosen(client, path):
    chinese = client.get(path, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert chinese.status_code == 200
    text = chinese.content.decode()
    assert '<html lang="zh-CN">' in text and "首页" in text and "Switch to English" in text
    assert "csrftoken" in chinese.cookies  # the scripts send it back on their POSTs

    client.cookies["django_language"] = "en"
    english = client.get(path).content.decode()
    assert '<html lang="en">' in english and ">Home<" in english and "切换到中文" in english


def test_language_switch_sets_the_cookie_and_returns_to_the_page(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/training/"})
    assert response.status_code == 302 and response["Location"] == "/training/"
    assert response.cookies["django_language"].value == "en"
    assert ">Training<" in client.get("/training/").content.decode()


def test_every_script_string_is_translated():
    from django.utils import translation

    from echofu.pages import UI_STRINGS

    with translation.override("en"):
        english = {key: str(text) for key, text in UI_STRINGS.items()}
    with translation.override("zh-hans"):
        chinese = {key: str(text) for key, text in UI_STRINGS.items()}
    same_in_both = {"cpu", "cpu_device"}  # "CPU"
    assert [key for key in UI_STRINGS if chinese[key] == english[key] and key not in same_in_both] == []


def test_the_job_cards_name_stages_in_the_pages_language(client):
    import json
    import re

    def stage_names(language):
        client.cookies["django_language"] = language
        page = client.get("/training/").content.decode()
        return json.loads(re.search(r'<script id="ui-strings" type="application/json">(.*?)</script>', page, re.DOTALL)[1])

    assert stage_names("zh-hans")["stage:train_head"] == "训练头部"
    assert stage_names("en")["stage:train_head"] == "training the head"


def _job(job_id, kind, status=Job.Status.QUEUED, **fields):
    return Job.objects.create(id=job_id, kind=kind, status=status, **fields)


def test_task_list_filters_by_kind_and_activity(client):
    _job("render_1", Job.Kind.RENDER, Job.Status.SUCCEEDED)
    _job("render_2", Job.Kind.RENDER, Job.Status.RUNNING, stage="rendering", progress=0.5)
    _job("train_1", Job.Kind.TRAIN, log="[1] queued\n[2] waiting for a CPU slot\n")
    everything = client.get("/api/tasks").json()
    assert everything["status"] == "success" and everything["total_count"] == 3
    assert [task["task_id"] for task in everything["tasks"]] == ["train_1", "render_2", "render_1"]  # newest first
    assert {"state", "stage", "progress", "eta_seconds", "queue_position", "log_tail"} <= set(everything["tasks"][0])
    assert everything["tasks"][0]["queue_position"] == 1
    assert everything["tasks"][0]["log_tail"] == ["[2] waiting for a CPU slot"]  # the latest line only

    renders = client.get("/api/tasks?kind=render&active=1").json()["tasks"]
    assert [(task["task_id"], task["state"], task["progress"]) for task in renders] == [("render_2", "running", 0.5)]
    assert len(client.get("/api/tasks?limit=1").json()["tasks"]) == 1
    # The switch takes the words every other switch takes, not only 1 and true.
    for spelled in ("yes", "on", "True"):
        assert [task["task_id"] for task in client.get(f"/api/tasks?active={spelled}").json()["tasks"]] == ["train_1", "render_2"], spelled
    assert client.get("/api/tasks?active=0").json()["total_count"] == 3


@pytest.mark.parametrize("query, message, english", [("kind=bogus", "未知的任务类型: bogus; 可选: ", "unknown task kind: bogus; choose from: "),
                                                     ("limit=x", "limit 必须是整数", "limit must be a whole number"),
                                                     ("active=maybe", "active 必须是 1 或 0", "active must be 1 or 0")])
def test_task_list_rejects_bad_queries(client, query, message, english):
    client.cookies["django_language"] = "en"
    response = client.get(f"/api/tasks?{query}")
    assert response.status_code == 400 and response.json()["status"] == "error"
    assert response.json()["message"].startswith(message) and response.json()["localized_message"].startswith(english)
    assert client.post("/api/tasks").status_code == 405


def test_the_voice_pages_default_engine_names_the_voices_it_speaks_with(client):
    """The option read 'Default (offline espeak-ng + WORLD)' while English is spoken by Piper and
    Chinese by Kokoro (its tooltip, /api/engines' reason, said so)."""
    chinese = client.get("/voice/").content.decode()
    assert '<option value="default">默认 (离线: Piper, Kokoro, espeak-ng + WORLD)</option>' in chinese
    client.cookies["django_language"] = "en"
    english = client.get("/voice/").content.decode()
    assert '<option value="default">Default (offline: Piper, Kokoro, espeak-ng + WORLD)</option>' in english



def test_the_footer_offers_the_admin_in_single_user_mode(client):
    assert 'href="/admin/"' in client.get("/").content.decode()  # where the operator signs in to curate


@pytest.mark.parametrize("path", ["/voice/", "/training/", "/generate/"])
def test_upload_forms_say_the_operators_statement_covers_an_unticked_upload(client, settings, path):
    """With ECHOFU_SINGLE_USER_CONSENT set, an upload without the box ticked is stored under the
    operator's statement, but the form asked for the box and a name as if they were required."""
    chinese = client.get(path).content.decode()
    assert "不勾选时, 此次上传使用运营者为“the test operator”所作的同意声明 (ECHOFU_SINGLE_USER_CONSENT)。" in chinese
    client.cookies["django_language"] = "en"
    english = client.get(path).content.decode()
    assert "Left unticked, this upload is covered by the operator's statement for “the test operator”" in english

    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER_CONSENT": ""}
    assert "ECHOFU_SINGLE_USER_CONSENT)" not in client.get(path).content.decode()


@pytest.mark.parametrize("path, select", [("/generate/", "gen-model"), ("/chat/", "chat-model")])
def test_pages_that_need_a_model_point_a_first_visit_to_training(client, path, select):
    """With no model trained the model list said only "暂无已训练的模型。" and Generate/Send answered
    "请选择模型。", with nothing saying that a model is trained first, or where."""
    import json
    import re

    page = client.get(path).content.decode()
    hint = re.search(rf'<p class="hint" id="{select}-none" hidden>(.*?)</p>', page, re.DOTALL)
    assert hint and '<a href="/training/">模型训练</a>' in hint[1] and "还没有已训练的模型" in hint[1]
    assert f'aria-describedby="{select}-none"' in page
    strings = json.loads(re.search(r'<script id="ui-strings" type="application/json">(.*?)</script>', page, re.DOTALL)[1])
    assert strings["train_first"] == "还没有已训练的模型: 请先在“模型训练”页面用一段视频训练一个。"
