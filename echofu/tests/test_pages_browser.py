"""The studio pages in a real browser: Debian's Chromium driven by Playwright against a live server.

Jobs run on a real `manage.py qcluster`, so the pages see what a user sees: queued, running with
progress, done. Screenshots of every page land in artifacts/screenshots/ (git-ignored).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

# Playwright's sync API keeps an event loop on this thread; the ORM calls here are plain sync code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from django.core.management import call_command  # noqa: E402

from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile  # noqa: E402
from engines import media  # noqa: E402
from engines.testing.face_video import make_talking_face_video, write_speech_wav  # noqa: E402
from generation.models import GeneratedVideo  # noqa: E402
from monitoring.models import Job  # noqa: E402
from monitoring.tests.qcluster import QCluster, wait_until  # noqa: E402
from training import registry  # noqa: E402
from training.models import TalkingHeadModel  # noqa: E402

CHROMIUM = Path(os.environ.get("ECHOFU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PAGES = {  # path -> (Chinese heading, English heading)
    "/": ("EchOfU 数字人工作室", "EchOfU digital-human studio"),
    "/voice/": ("声音", "Voice"),
    "/training/": ("模型训练", "Training"),
    "/generate/": ("视频生成", "Video generation"),
    "/chat/": ("对话", "Chat"),
}
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
LONG = 600_000  # ms: training and rendering on 2 cores shared with other work

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(scope="session", autouse=True)
def media_through_the_app():
    """Django's live server answers MEDIA_URL itself, without HTTP Range (browsers then cannot seek).
    A MEDIA_URL with a host turns that off, so /media/ reaches the app's own view, as in production.
    Autouse at session scope: it must run before the (session-scoped) live server starts."""
    from django.conf import settings

    original = settings.MEDIA_URL
    settings.MEDIA_URL = "http://media.invalid/media/"
    yield
    settings.MEDIA_URL = original


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `./run.sh test` installs Debian's chromium and fonts-noto-cjk")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def studio(chromium, live_server, media_root):
    """Opens pages of the live server and records every console error and uncaught exception."""
    contexts = []

    class Studio:
        url = live_server.url
        errors: list[str] = []

        def context(self, language="zh-hans", theme="light", viewport=LAPTOP, timezone_id=None):
            context = chromium.new_context(viewport=viewport, color_scheme=theme, locale="en-US" if language == "en" else "zh-CN",
                                           timezone_id=timezone_id)
            context.add_cookies([{"name": "django_language", "value": language, "url": self.url}])
            context.set_default_timeout(60_000)  # the machine's cores are shared with the worker and others
            context.set_default_navigation_timeout(120_000)
            contexts.append(context)
            return context

        def open(self, path, context=None, **options):
            page = (context or self.context(**options)).new_page()
            page.on("console", lambda message: message.type == "error" and self.errors.append(f"{path}: {message.text}"))
            page.on("pageerror", lambda error: self.errors.append(f"{path}: {error}"))
            page.goto(self.url + path, wait_until="networkidle")
            return page

    yield Studio()
    for context in contexts:
        context.close()


@pytest.fixture
def workers(settings, media_root, tmp_path):
    """Starts real worker processes: one qcluster per job queue when the settings declare queues, else one."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    clusters = []

    def start(**env):
        queues = getattr(settings, "JOB_QUEUES", None) or [None]
        for queue in queues:
            log = tmp_path / f"qcluster-{queue or 'default'}.log"
            clusters.append((QCluster(media_root, log, queue, **env) if queue else QCluster(media_root, log, **env)).start())

    yield start
    for cluster in clusters:
        cluster.kill()  # the test is over: no need to wait for the workers to wind down


# A model trained by one test is kept here for the next (training is the slow part of these tests).
_trained_models: dict[str, Path] = {}


def keep_trained_model(model: TalkingHeadModel, tmp_path_factory) -> None:
    kept = tmp_path_factory.mktemp("trained") / model.name
    shutil.copytree(model.directory(), kept)
    _trained_models["EchoLite"] = kept


@pytest.fixture
def trained_model(media_root, tmp_path_factory, tmp_path) -> TalkingHeadModel:
    """An EchoLite model in the catalog: the one an earlier test trained, else trained here."""
    if "EchoLite" not in _trained_models:
        video = make_talking_face_video(tmp_path / "讲解员.mp4", seconds=12, size=256, seed=6)
        call_command("train", str(video), "--gpu", "CPU", "--epochs", "1")
        keep_trained_model(TalkingHeadModel.objects.get(), tmp_path_factory)
        return TalkingHeadModel.objects.get()
    kept = _trained_models["EchoLite"]
    shutil.copytree(kept, media_root / "models" / "EchoLite" / kept.name)
    return registry.discover("EchoLite", kept.name)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def watched_in_a_card(page, task_id):
    """The job card the page's own job watcher draws for `task_id`, put at the top of the page."""
    page.evaluate("""(taskId) => {
        const box = document.createElement("div");
        box.id = "waiting-card";
        document.querySelector("main").prepend(box);
        Studio.watchJob(taskId, new Studio.JobView(box));
    }""", task_id)
    return page.locator("#waiting-card .job")


def state_consent(page, prefix: str, name: str) -> None:
    """Tick the upload form's consent statement (required for faces and voices once accounts are on)."""
    page.locator(f"#{prefix}-consent").check()
    page.locator(f"#{prefix}-consent-name").fill(name)


def unlabelled_controls(page) -> list[str]:
    return page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter((node) => !node.closest('[hidden]'))
        .filter((node) => !(node.labels && node.labels.length) && !node.getAttribute('aria-label') && !node.textContent.trim())
        .map((node) => node.outerHTML.slice(0, 120))""")


def media_duration(page, selector: str) -> float:
    """Seconds of the audio/video element once the browser has loaded its metadata (it decoded the file)."""
    state = f"(() => {{ const m = document.querySelector('{selector}'); return m && {{ready: m.readyState, network: m.networkState, " \
            f"duration: m.duration, error: m.error && (m.error.code + ' ' + m.error.message), src: m.currentSrc }}; }})()"
    try:
        page.wait_for_function(f"() => {{ const s = {state}; return s && s.ready >= 1 && s.duration > 0; }}", polling=250)
    except Exception as exc:
        raise AssertionError(f"{selector} did not load: {page.evaluate(state)}") from exc
    return page.evaluate(state)["duration"]


def overflows_horizontally(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")


def test_every_page_loads_clean_in_both_languages_and_themes(studio):
    # Both languages in both themes, each combination once at laptop and once at phone width.
    combinations = [("zh-hans", "light", "laptop"), ("zh-hans", "dark", "phone"), ("en", "dark", "laptop"), ("en", "light", "phone")]
    for language, theme, width in combinations:
        index = 0 if language == "zh-hans" else 1
        context = studio.context(language=language, theme=theme, viewport=LAPTOP if width == "laptop" else PHONE)
        for path, headings in PAGES.items():
            page = studio.open(path, context)
            expect(page.locator("h1")).to_have_text(headings[index])
            assert page.evaluate("document.documentElement.dataset.theme") == theme
            assert page.locator("html").get_attribute("lang") == ("zh-CN" if index == 0 else "en")
            assert unlabelled_controls(page) == [], path
            assert not overflows_horizontally(page), f"{path} scrolls sideways at {width} width"
            page.wait_for_timeout(300)  # the first refresh of live panels has landed
            screenshot(page, f"{path.strip('/') or 'home'}-{language}-{theme}-{width}")
            page.close()
    assert studio.errors == []


def test_language_switch_and_theme_toggle_stick(studio):
    page = studio.open("/voice/")
    expect(page.locator("h1")).to_have_text("声音")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("h1")).to_have_text("Voice")
    expect(page.get_by_role("link", name="Training")).to_be_visible()
    theme = page.locator("#theme-toggle")
    expect(theme).to_have_attribute("aria-pressed", "false")
    theme.click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("link", name="Training").click()
    expect(page.locator("h1")).to_have_text("Training")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("button", name="切换到中文").click()
    expect(page.locator("h1")).to_have_text("模型训练")
    assert studio.errors == []


def test_home_shows_status_queue_and_empty_results(studio):
    page = studio.open("/")
    expect(page.locator("#status-meters progress")).to_have_count(3)
    expect(page.locator("#status-gpus li").first).to_be_visible()
    expect(page.locator("#queue-list")).to_contain_text("暂无任务")
    expect(page.locator("#recent-results")).to_contain_text("暂无视频")
    expect(page.locator("main table")).to_contain_text("取消任务")  # the endpoint list is in the page's language too
    Job.objects.create(id="train_20250101_000000", kind=Job.Kind.TRAIN, stage="epoch 3/10", progress=0.3, status=Job.Status.RUNNING)
    queued = page.locator('[data-task="train_20250101_000000"]')
    expect(queued).to_contain_text("进行中", timeout=10_000)
    expect(queued).to_contain_text("epoch 3/10")
    expect(queued.locator("progress")).to_have_attribute("value", "30")
    queued.get_by_role("button").click()
    wait_until(lambda: Job.objects.get(pk="train_20250101_000000").cancel_requested, 10, what="cancel from the queue")
    # A stage the engines report in English is named in the page's language.
    Job.objects.create(id="clone_20250101_000000", kind=Job.Kind.CLONE, stage="align with the base voice", progress=0.5,
                       status=Job.Status.RUNNING)
    expect(page.locator('[data-task="clone_20250101_000000"]')).to_contain_text("阶段: 与基础声音对齐", timeout=10_000)
    screenshot(page, "home-with-job")
    assert studio.errors == []


def test_the_home_page_says_where_to_start_until_a_model_is_trained(studio):
    """A first visit found four equal tools and empty panels, with nothing saying that Video generation and Chat
    need a model trained first."""
    page = studio.open("/")
    steps = page.locator("#first-steps")
    expect(steps).to_be_visible()
    expect(steps.locator("li").first).to_contain_text("上传一段单人说话的视频")
    expect(steps.locator("li").first.get_by_role("link")).to_have_attribute("href", "/training/")
    context = studio.context()
    answer_with(context, {"/api/available-models": ONE_MODEL})
    page = studio.open("/", context)
    expect(page.locator("#shortcuts")).to_be_visible()
    expect(page.locator("#first-steps")).to_be_hidden()
    assert studio.errors == []


@pytest.mark.parametrize("language, starts, ends", [("zh-hans", "约 1 小时 0 分 后开始", "约 1 小时 30 分 后完成"),
                                                    ("en", "Starts in about 1h 0m", "Done in about 1h 30m")])
def test_a_queued_job_says_when_it_should_start_and_be_done(studio, settings, language, starts, ends):
    from datetime import timedelta

    from django.utils import timezone

    clusters = settings.Q_CLUSTER["ALT_CLUSTERS"]
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {**clusters, "cpu": {**clusters["cpu"], "workers": 1}}}
    # Half done after 3630 s: 3630 s left (shown as 1h 0m for the next 30 s), then the waiting one's 1800 s.
    Job.objects.create(id="train_running", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.RUNNING, progress=0.5,
                       started_at=timezone.now() - timedelta(seconds=3630), created_at=timezone.now() - timedelta(seconds=3700))
    Job.objects.create(id="train_waiting", kind=Job.Kind.TRAIN, queue="cpu", eta_seconds=1800)
    page = studio.open("/", language=language)
    waiting = page.locator('[data-task="train_waiting"]')
    expect(waiting).to_contain_text(starts, timeout=10_000)
    expect(waiting).to_contain_text(ends)
    screenshot(page, f"home-queued-job-{language}")
    card = studio.open("/training/", language=language)
    waiting_card = watched_in_a_card(card, "train_waiting")
    expect(waiting_card).to_contain_text(starts, timeout=10_000)
    expect(waiting_card).to_contain_text(ends)
    screenshot(card, f"training-queued-job-{language}")
    assert studio.errors == []


@pytest.mark.parametrize("language, starts, ends, learned, first_guess", [
    ("zh-hans", "约 1 小时 0 分 后开始", "约 1 小时 30 分 后完成", "按本机最近 3 个同类任务估算", "初步估算, 本机完成同类任务后会更准"),
    ("en", "Starts in about 1h 0m", "Done in about 1h 30m", "Estimated from the last 3 jobs like it",
     "First estimate, until jobs like it have finished here")])
def test_a_render_queued_behind_another_says_when_and_what_its_estimate_rests_on(studio, settings, language, starts, ends, learned,
                                                                                   first_guess):
    from datetime import timedelta

    from django.utils import timezone

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 1}
    now = timezone.now()
    # Queued with a 3700 s estimate, 70 s ago begun and no progress yet: 3630 s left (1h 0m for the next 30 s).
    Job.objects.create(id="render_running", kind=Job.Kind.RENDER, status=Job.Status.RUNNING, params={"estimated_seconds": 3700},
                       started_at=now - timedelta(seconds=70), created_at=now - timedelta(seconds=80))
    Job.objects.create(id="render_waiting", kind=Job.Kind.RENDER, eta_seconds=1800, created_at=now - timedelta(seconds=20),
                       params={"estimated_seconds": 1800, "estimate_learned_from": 3})
    Job.objects.create(id="chat_waiting", kind=Job.Kind.CHAT, eta_seconds=60, created_at=now - timedelta(seconds=10),
                       params={"estimated_seconds": 60, "estimate_learned_from": 0})
    page = studio.open("/", language=language)
    waiting = page.locator('[data-task="render_waiting"]')
    expect(waiting).to_contain_text(starts, timeout=10_000)
    expect(waiting).to_contain_text(ends)
    expect(waiting).to_contain_text(learned)
    expect(page.locator('[data-task="chat_waiting"]')).to_contain_text(first_guess)
    screenshot(page, f"home-queued-render-{language}")
    card = studio.open("/generate/", language=language)
    waiting_card = watched_in_a_card(card, "render_waiting")
    expect(waiting_card).to_contain_text(starts, timeout=10_000)
    expect(waiting_card).to_contain_text(learned)
    screenshot(card, f"generate-queued-render-{language}")
    assert studio.errors == []


@pytest.mark.parametrize("language, engines_figure", [("zh-hans", "训练引擎的估算, 本机完成 3 次同类训练后改用本机记录"),
                                                     ("en", "The training engine's estimate, until 3 trainings like it have finished here")])
def test_a_training_queued_before_any_like_it_finished_says_its_estimate_is_the_engines(studio, media_root, language, engines_figure):
    from assets.models import TrainingVideo
    from training import jobs

    video = TrainingVideo.objects.create(file="videos/ref_videos/person.mp4", original_name="person.mp4", size=1, duration=60.0,
                                         probe_status=TrainingVideo.ProbeStatus.OK)
    waiting = jobs.prepare_training("EchoLite", video, "cpu", None, {})
    page = studio.open("/", language=language)
    expect(page.locator(f'[data-task="{waiting.pk}"]')).to_contain_text(engines_figure, timeout=10_000)
    screenshot(page, f"home-queued-training-{language}")
    assert studio.errors == []


@pytest.mark.parametrize("language, unknown_start", [("zh-hans", "开始时间暂不确定 (前面的任务比预计用时更长)"),
                                                    ("en", "Start not known yet (the job ahead is taking longer than estimated)")])
def test_a_job_waiting_behind_one_that_overran_says_its_start_is_not_known_yet(studio, settings, language, unknown_start):
    from datetime import timedelta

    from django.utils import timezone

    clusters = settings.Q_CLUSTER["ALT_CLUSTERS"]
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {**clusters, "cpu": {**clusters["cpu"], "workers": 1}}}
    Job.objects.create(id="train_late", kind=Job.Kind.TRAIN, queue="cpu", status=Job.Status.RUNNING, progress=0.2,
                       params={"estimated_seconds": 60}, started_at=timezone.now() - timedelta(seconds=100))
    Job.objects.create(id="train_behind", kind=Job.Kind.TRAIN, queue="cpu", eta_seconds=300, params={"estimated_seconds": 300})
    page = studio.open("/", language=language)
    expect(page.locator('[data-task="train_behind"]')).to_contain_text(unknown_start, timeout=10_000)
    screenshot(page, f"home-behind-overrun-{language}")
    card = studio.open("/training/", language=language)
    expect(watched_in_a_card(card, "train_behind")).to_contain_text(unknown_start, timeout=10_000)
    assert studio.errors == []


@pytest.mark.parametrize("language, past, left", [("zh-hans", "比预计多用了 1 分 21 秒", "剩余时间"),
                                                 ("en", "Taking 1m 21s longer than estimated", "Time left")])
def test_a_job_past_its_estimate_says_so_instead_of_a_time_left(studio, language, past, left):
    from datetime import timedelta

    from django.utils import timezone

    # Estimated at 39 s, stalled at 10 % for 2 min: its pace alone said 18 min left, and growing.
    Job.objects.create(id="probe_stalled", kind=Job.Kind.PROBE, status=Job.Status.RUNNING, progress=0.1, stage="check",
                       params={"estimated_seconds": 39}, started_at=timezone.now() - timedelta(seconds=120))
    page = studio.open("/", language=language)
    stalled = page.locator('[data-task="probe_stalled"]')
    expect(stalled).to_contain_text(re.compile(re.sub(r"21(s| 秒)", r"2\\d\1", past)), timeout=10_000)
    expect(stalled).not_to_contain_text(left)
    expect(stalled).not_to_contain_text(re.compile("training engine|训练引擎"))  # a probe's estimate is none of an engine's
    screenshot(page, f"home-past-estimate-{language}")
    assert studio.errors == []


def test_the_endpoint_list_reads_at_phone_width(studio):
    page = studio.open("/", viewport=PHONE)
    page.locator("main details summary").click()
    # Its rows wrap inside the card, no sideways scrolling; a method keeps to one line.
    fits = "(() => { const table = document.querySelector('main table'); return table.scrollWidth <= table.parentElement.clientWidth; })()"
    assert page.evaluate(fits)
    lines = "(cell) => { const range = document.createRange(); range.selectNodeContents(cell); return range.getClientRects().length; }"
    assert page.locator("main tbody td").first.evaluate(lines) == 1
    assert studio.errors == []

def test_times_are_shown_in_the_browsers_time_zone(studio, media_root, wav_file, settings):
    # The legacy listings give the server's wall clock without an offset; a browser elsewhere must
    # still see each row at its own local time, as the history rows (ISO with an offset) are shown.
    from datetime import datetime, timezone

    from django.test import Client

    from accounts.tests.conftest import upload_audio

    assert settings.TIME_ZONE == "Asia/Shanghai"
    moment = datetime(2025, 1, 1, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai, 05:00 in Berlin
    assert upload_audio(Client(), wav_file).status_code == 200
    ReferenceAudio.objects.update(created_at=moment)
    reference = ReferenceAudio.objects.get()
    SpeakerProfile.objects.create(speaker_id="anna", reference=reference, reference_path=reference.file.name, features={}, created_at=moment)
    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="m1", created_at=moment)
    context = studio.context(language="en", timezone_id="Europe/Berlin")
    for path, row in (("/voice/", ".reference-item"), ("/voice/", ".profile-item"), ("/training/", ".model-item")):
        page = studio.open(path, context)
        berlin = page.evaluate("new Date('2025-01-01T04:00:00Z').toLocaleString('en')")
        assert "5:00:00" in berlin
        expect(page.locator(row).first).to_contain_text(berlin)
        # Nor a status the legacy listing gives in Chinese whatever the language ("已提取特征").
        expect(page.locator(row).first).not_to_contain_text("已提取特征")
        if row == ".profile-item":
            expect(page.locator(row).first).to_contain_text("Not measured: voices made by a chat turn or one-shot speech skip it")
    assert studio.errors == []


def test_a_failing_request_shows_the_server_message(studio, tmp_path):
    page = studio.open("/training/")
    not_a_video = tmp_path / "notes.mp4"
    not_a_video.write_bytes(b"this is not a video" * 100)
    page.locator("#video-file").set_input_files(str(not_a_video))
    state_consent(page, "video", "小明")
    page.get_by_role("button", name="上传并检查").click()
    expect(page.locator("#video-message")).to_contain_text("文件内容不是有效的视频")
    expect(page.locator("#video-message")).to_have_class(re.compile("error"))
    # An engine this machine cannot run is listed, disabled, with the reason.
    expect(page.locator("#train-model option[value='ER-NeRF']")).to_be_disabled()
    expect(page.locator("#engine-notes")).to_contain_text("ER-NeRF")
    screenshot(page, "training-error")
    # The browser logs the 400 itself; nothing else may fail.
    assert [error for error in studio.errors if "status of 400" not in error] == []


def test_a_refused_reference_upload_keeps_the_chosen_file_to_send_again(studio, tmp_path):
    # Refused for want of the consent statement, say: the user ticks it and presses Upload again,
    # which answered "Choose a file first." once the field had been emptied.
    page = studio.open("/voice/", studio.context(language="en"))
    not_audio = tmp_path / "notes.wav"
    not_audio.write_bytes(b"this is not audio" * 100)
    page.locator("#reference-file").set_input_files(str(not_audio))
    state_consent(page, "reference", "Anna")
    page.locator("#reference-upload").click()
    expect(page.locator("#reference-message")).to_have_class(re.compile("error"))
    expect(page.locator("#reference-upload")).to_be_enabled()
    assert page.evaluate("document.getElementById('reference-file').files.length") == 1
    assert [error for error in studio.errors if "status of 400" not in error] == []


def test_an_upload_without_consent_asks_for_the_box_and_the_name_in_the_pages_words(studio, tmp_path, settings):
    """The API's refusal says "send consent=true and consent_name=...", which a page user cannot do:
    the page asks for what its own form lacks, in its language."""
    from engines.testing.simple_media import write_tone_wav

    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER_CONSENT": ""}  # no operator's statement to stand in
    tone = write_tone_wav(tmp_path / "tone.wav", seconds=1.5)
    for language, unticked, unnamed in (
        ("en", "Tick the consent box and enter the name of the person shown or heard", "Enter the name of the person shown or heard"),
        ("zh-hans", "请勾选“同意声明”并填写文件中出现的人的姓名", "请填写文件中出现的人的姓名"),
    ):
        page = studio.open("/voice/", studio.context(language=language))
        page.locator("#reference-file").set_input_files(str(tone))
        page.locator("#reference-upload").click()
        message = page.locator("#reference-message")
        expect(message).to_contain_text(unticked)
        expect(message).to_contain_text("ECHOFU_SINGLE_USER_CONSENT")  # single-user mode: the operator may state it once
        assert "consent=true" not in message.inner_text()
        screenshot(page, f"consent-missing-{language}")
        page.locator("#reference-consent").check()
        page.locator("#reference-upload").click()
        expect(message).to_contain_text(unnamed)
        assert "consent_name" not in message.inner_text()
    assert ReferenceAudio.objects.count() == 0
    assert [error for error in studio.errors if "status of 400" not in error] == []


def test_the_voice_page_offers_only_the_engines_this_machine_can_run(studio, settings):
    from engines.testing.fake_cosyvoice import FakeCosyVoice

    settings.ECHOFU = {**settings.ECHOFU, "XTTS_DIR": None}
    with FakeCosyVoice() as server:
        settings.ECHOFU = {**settings.ECHOFU, "COSYVOICE_URL": server.url}
        page = studio.open("/voice/")
        expect(page.locator("#speak-engine option[value='xtts']")).to_be_disabled()
        expect(page.locator("#speak-engine option[value='xtts']")).to_have_text("XTTS-v2 (不可用)")
        expect(page.locator("#speak-engine option[value='cosyvoice']")).to_be_enabled()
        expect(page.locator("#speak-engine")).to_have_value("default")
        expect(page.locator("#speak-engine-notes")).to_have_text("XTTS-v2 在本机不可用: 未配置 XTTS-v2 模型目录 (请设置 ECHOFU_XTTS_DIR)")
        screenshot(page, "voice-engines")
    english = studio.open("/voice/", language="en")
    expect(english.locator("#speak-engine option[value='xtts']")).to_have_text("XTTS-v2 (unavailable)")
    expect(english.locator("#speak-engine option[value='default']")).to_have_text("Default (offline: Piper, Kokoro, espeak-ng + WORLD)")
    expect(english.locator("#speak-engine-notes")).to_contain_text("XTTS-v2 cannot run here: XTTS-v2 model directory is not configured")
    screenshot(english, "voice-engines-en")
    assert studio.errors == []


def test_a_model_whose_engine_cannot_run_here_is_offered_disabled(studio):
    for model_type, name in (("EchoLite", "anna"), ("ER-NeRF", "anna_nerf")):  # ER-NeRF's: trained elsewhere, no checkout here
        TalkingHeadModel.objects.create(model_type=model_type, name=name).directory().mkdir(parents=True)
    generate = studio.open("/generate/", language="en")
    disabled = generate.locator("#gen-model option[disabled]")
    expect(disabled).to_have_text(re.compile(r"^anna_nerf .*\(unavailable\)$"))
    expect(disabled).to_have_attribute("title", re.compile("ECHOFU_ERNERF_DIR"))
    expect(generate.locator("#gen-model")).to_have_value(re.compile(r"EchoLite/anna$"))  # listed after it, chosen
    screenshot(generate, "generate-models-en")
    chat = studio.open("/chat/")
    expect(chat.locator("#chat-model option[disabled]")).to_have_text(re.compile(r"^anna_nerf .*\(不可用\)$"))
    expect(chat.locator("#chat-model")).to_have_value(re.compile(r"EchoLite/anna$"))
    assert studio.errors == []


def test_the_chat_page_offers_only_the_providers_that_can_answer_here(studio, settings):
    hosted_without_key = {"base_url": "https://open.bigmodel.cn/api/paas/v4", "api_key": "", "model": "glm-4-flash"}
    settings.ECHOFU = {**settings.ECHOFU, "LLM_PROVIDERS": {"glm": hosted_without_key}}
    chat = studio.open("/chat/")
    expect(chat.locator("#chat-provider option[value='glm']")).to_be_disabled()
    expect(chat.locator("#chat-provider option[value='glm']")).to_have_text("glm (不可用)")
    expect(chat.locator("#chat-provider option[value='fallback']")).to_be_enabled()
    expect(chat.locator("#chat-provider option[value='fallback']")).to_have_text("不用大模型 (知识库)")
    expect(chat.locator("#chat-provider")).to_have_value("")  # the server's default, named as the page names it, not by its id
    expect(chat.locator("#chat-provider option[value='']")).to_have_text(f"服务器默认 (离线模型 {settings.ECHOFU['LLM_LOCAL_MODEL']})")
    expect(chat.locator("#chat-provider-notes")).to_contain_text("glm 在本机不可用: open.bigmodel.cn 是托管服务器, 但没有 API 密钥")
    expect(chat.locator("#chat-provider-notes")).to_contain_text("ECHOFU_LLM_GLM_API_KEY")
    # the packaged model garbles Chinese, so Chinese questions get the fallback reply, and the page says so
    expect(chat.locator("#chat-provider-notes")).to_contain_text("离线模型 smollm2-135m 只用英文回答: 其他语言的问题由兜底回复 (或知识库的答案) 回答。")
    screenshot(chat, "chat-providers")
    english = studio.open("/chat/", language="en")
    expect(english.locator("#chat-provider option[value='']")).to_have_text(f"server default (offline model {settings.ECHOFU['LLM_LOCAL_MODEL']})")
    expect(english.locator("#chat-provider-notes")).to_contain_text(
        "offline model smollm2-135m answers only in English: questions in other languages get the fallback reply (or the knowledge base's answer).")
    screenshot(english, "chat-providers-en")
    assert studio.errors == []


@pytest.mark.worker
def test_voice_upload_record_profile_and_synthesis(studio, workers, tmp_path, settings):
    workers()
    page = studio.open("/voice/")
    expect(page.locator("#reference-list")).to_contain_text("暂无参考音频")
    expect(page.locator("#profile-list")).to_contain_text("暂无说话人特征")

    speech = write_speech_wav(tmp_path / "小明的声音.wav", seconds=6.0, seed=8)
    in_a_room = media.load_audio(speech, 16000) + np.random.default_rng(0).standard_normal(6 * 16000).astype(np.float32) * 0.002
    media.write_wav(speech, in_a_room, 16000)  # a background for the room tone to take
    page.locator("#reference-file").set_input_files(str(speech))
    state_consent(page, "reference", "小明")
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator("#reference-message")).to_contain_text("参考音频已保存: 小明的声音.wav")
    expect(page.locator("#reference-list .reference-item")).to_have_count(1)

    # Record two seconds from the (fake) microphone, consent not stated: refused, and the recording
    # kept to be sent again once it is; stored as a WAV reference.
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER_CONSENT": ""}  # no operator's statement to stand in
    page.locator("#reference-consent").uncheck()
    record = page.locator("#reference-record")
    record.click()
    expect(record).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(2000)
    record.click()
    expect(page.locator("#reference-message")).to_contain_text("录音已保留在文件框中", timeout=20_000)
    state_consent(page, "reference", "小明")
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator("#reference-list .reference-item")).to_have_count(2, timeout=20_000)
    recorded = ReferenceAudio.objects.get(original_name__startswith="recording_")
    assert recorded.file.name.endswith(".wav") and recorded.duration == pytest.approx(2.0, abs=0.6)

    page.locator("#profile-reference").select_option(ReferenceAudio.objects.get(original_name="小明的声音.wav").relative_path)
    page.locator("#profile-id").fill("xiaoming")
    page.get_by_role("button", name="提取特征").click()
    expect(page.locator("#profile-job .job")).to_be_visible()
    expect(page.locator("#profile-message")).to_contain_text("说话人特征 xiaoming 已就绪", timeout=LONG)
    expect(page.locator("#profile-list .profile-item")).to_contain_text("xiaoming")
    # The clone measured itself: its likeness to the recording beside its base voice's, and what Whisper misheard.
    figures = page.locator("#profile-list .profile-item .voice-figures")
    expect(figures).to_contain_text("与录音的相似度: resemblyzer")
    expect(figures).to_contain_text("voicefilter")
    expect(figures).to_contain_text("听错: 英文词")
    assert SpeakerProfile.objects.get().speaker_id == "xiaoming"

    # A request the server refuses: its reason is shown.
    settings.ECHOFU = {**settings.ECHOFU, "TTS_MAX_CHARS": 5}
    page.locator("#speak-text").fill("你好，我是小明。Nice to meet you!")
    page.get_by_role("button", name="合成语音").click()
    # said by the box's label, not the contract's field name generate_text
    expect(page.locator("#speak-message")).to_contain_text("文本 (中文、英文或混合): 文本过长", timeout=30_000)
    expect(page.locator("#speak-job .job")).to_have_count(0)  # refused before any job: no card left "queued"
    settings.ECHOFU = {**settings.ECHOFU, "TTS_MAX_CHARS": 2000}

    page.locator("#speak-pitch").fill("2")
    page.get_by_label("加入参考录音的环境底噪").check()
    page.get_by_role("button", name="合成语音").click()
    expect(page.locator("#speak-message")).to_contain_text("语音已生成", timeout=LONG)
    spoken = GeneratedAudio.objects.get()
    assert spoken.pitch == 2 and spoken.room_tone, "the form's pitch and room tone reached the job"
    audio = page.locator("#speak-audio")
    expect(audio).to_have_attribute("src", re.compile(r"^/media/voices/res_voices/.+\.wav$"))
    assert media_duration(page, "#speak-audio") > 1.0
    download = page.locator("#speak-result a[download]")
    assert download.get_attribute("href") == audio.get_attribute("src")
    expect(page.locator("#speech-list li").first).to_contain_text("你好")
    screenshot(page, "voice-done")
    assert [error for error in studio.errors if "status of 400" not in error] == []


@pytest.mark.worker
@pytest.mark.timeout(1500)
def test_train_on_a_tiny_video_then_render_it(studio, workers, tmp_path, tmp_path_factory):
    workers()
    video = make_talking_face_video(tmp_path / "小明.mp4", seconds=12, size=256, seed=4)
    page = studio.open("/training/")
    expect(page.locator("#model-list")).to_contain_text("暂无已训练的模型")
    page.locator("#video-file").set_input_files(str(video))
    state_consent(page, "video", "小明")
    page.get_by_role("button", name="上传并检查").click()
    expect(page.locator("#video-progress")).to_have_attribute("value", "100", timeout=30_000)
    check = page.locator("#video-check")
    expect(check).to_contain_text("视频可用于训练", timeout=LONG)
    expect(check.locator(".check-duration")).to_have_text("12 秒")
    expect(check.locator(".check-fps")).to_have_text("25.00")
    expect(check.locator(".check-resolution")).to_have_text("256 × 256")
    expect(check.locator(".check-face")).to_have_text(re.compile(r"^(9\d|100)%$"))
    expect(check.locator(".check-audio")).to_have_text("有")
    screenshot(page, "training-checked")

    page.locator("#train-model").select_option("EchoLite")
    page.locator("#train-device").select_option("CPU")
    page.locator("#train-epochs").fill("1")
    page.locator("#train-params").fill("lr=0.003,batch_size=16")
    page.get_by_role("button", name="开始训练").click()
    expect(page.locator("#train-message")).to_contain_text("训练已开始")
    job = page.locator("#train-job .job")
    expect(job).to_contain_text("进行中", timeout=60_000)
    expect(job.locator(".job-percent")).not_to_have_text("0%", timeout=LONG)
    screenshot(page, "training-running")
    expect(page.locator("#train-message")).to_contain_text("训练完成", timeout=LONG)
    model = TalkingHeadModel.objects.get()
    keep_trained_model(model, tmp_path_factory)
    card = page.locator(f'.model-item[data-model="{model.public_dir}"]')
    expect(card).to_contain_text("PSNR")
    expect(card).to_contain_text("SSIM")
    expect(card).to_contain_text(re.compile(r"口型清晰度 \d\.\d\d"))  # mouth detail of the self-evaluation
    expect(card).to_contain_text(re.compile(r"口型闪烁 \d\.\d\d"))  # its mouth shimmer
    expect(card).to_contain_text(re.compile(r"LMD \d+\.\d \(循环 \d+\.\d\)"))  # each figure beside the plain loop's
    expect(card).to_contain_text(re.compile(r"声音延迟 [+-]\d+ 帧"))  # the delay training corrected
    expect(card).to_contain_text("循环播放的训练帧")  # the verdict, as a line or among the warnings
    screenshot(page, "training-done")

    speech = write_speech_wav(tmp_path / "answer.wav", seconds=3.0, seed=5)
    page = studio.open("/generate/")
    expect(page.locator("#gen-model optgroup[label='EchoLite'] option")).to_have_count(1)
    expect(page.locator("#gen-model option:checked")).to_contain_text("PSNR")  # the model's figures are in its label
    page.get_by_label("上传音频").check()
    page.locator("#gen-upload").set_input_files(str(speech))
    state_consent(page, "gen", "小明")
    page.locator("#gen-device").select_option("CPU")
    page.get_by_role("button", name="生成视频").click()
    expect(page.locator("#gen-job .job")).to_be_visible()
    expect(page.locator("#gen-message")).to_contain_text("视频已生成", timeout=LONG)
    player = page.locator("#gen-video")
    expect(player).to_have_attribute("src", re.compile(r"^/media/videos/res_videos/.+\.mp4$"))
    assert media_duration(page, "#gen-video") == pytest.approx(3.0, abs=0.2)
    page.evaluate("document.querySelector('#gen-video').currentTime = 2.0")
    page.wait_for_function("() => { const v = document.querySelector('#gen-video'); return !v.seeking && v.currentTime >= 1.9; }", polling=250)
    expect(page.locator("#gen-result a[download]")).to_have_attribute("href", player.get_attribute("src"))
    expect(page.locator("#gen-history .history-item")).to_have_count(1)
    assert GeneratedVideo.objects.get().model == model
    screenshot(page, "generate-done")

    home = studio.open("/")
    expect(home.locator("#recent-results video")).to_have_count(1)
    expect(home.locator("#recent-results figcaption")).to_contain_text("answer")  # named after its speech
    assert media_duration(home, "#recent-results video") == pytest.approx(3.0, abs=0.2)
    expect(home.locator("#queue-list")).to_contain_text("已完成")
    screenshot(home, "home-with-results")
    assert studio.errors == []


@pytest.mark.worker
@pytest.mark.timeout(1500)
def test_chat_turn_plays_its_first_sentence_and_continues(studio, workers, trained_model, settings):
    from chat.models import Turn
    from engines.testing.fake_openai import FakeOpenAIServer

    with FakeOpenAIServer(reply="你好，我是数字人讲解员。很高兴认识你！") as llm:
        workers(ECHOFU_LLM_PROVIDERS="fake", ECHOFU_LLM_FAKE_BASE_URL=llm.base_url, ECHOFU_LLM_FAKE_API_KEY="test",
                ECHOFU_LLM_FAKE_MODEL="guide")
        settings.ECHOFU = {**settings.ECHOFU, "LLM_PROVIDERS": {"fake": {"base_url": llm.base_url, "api_key": "test", "model": "guide"}}}
        page = studio.open("/chat/")
        expect(page.locator("#chat-model option")).to_have_count(1)
        page.locator("#chat-provider").select_option("fake")
        page.locator("#chat-text").fill("你好，你是谁？")
        page.get_by_role("button", name="发送").click()
        expect(page.locator(".bubble.user").first).to_contain_text("你好，你是谁？")
        expect(page.locator("#chat-job .job")).to_be_visible()
        # The first sentence plays while the rest is still being made.
        expect(page.locator("#chat-segment-status")).to_contain_text("第 1 句", timeout=LONG)
        expect(page.locator("#chat-video")).to_have_attribute("src", re.compile(r"^/media/.+\.mp4$"))
        assert media_duration(page, "#chat-video") > 0.5
        reply = page.locator(".bubble.assistant .chat-reply").first
        expect(reply).to_have_text("你好，我是数字人讲解员。很高兴认识你！", timeout=LONG)
        expect(page.locator(".chat-timings").first).to_contain_text("共")
        expect(page.locator(".chat-timings").first).to_contain_text("fake")
        screenshot(page, "chat-answered")

        page.locator("#chat-text").fill("再说一遍")
        page.locator("#chat-text").press("Enter")
        expect(page.locator(".bubble.assistant .chat-reply")).to_have_count(2, timeout=LONG)
        assert Turn.objects.values("conversation").distinct().count() == 1  # the second turn continued the first
        assert len(llm.requests) == 2 and "你好，你是谁？" in str(llm.requests[1]["body"]["messages"])  # it saw the first turn
        page.get_by_role("button", name="新对话").click()
        expect(page.locator("#chat-log")).to_contain_text("已开始新对话")
        screenshot(page, "chat-new-conversation")
    assert studio.errors == []


def test_a_tap_on_the_talk_button_asks_to_hold_it(studio):
    page = studio.open("/chat/")
    talk = page.locator("#chat-talk")
    talk.press("Space")  # keydown starts recording, keyup at once stops it: no speech to send
    expect(page.locator("#chat-message")).to_contain_text("请按住按钮说话")
    expect(talk).to_have_attribute("aria-pressed", "false")
    assert studio.errors == []


def test_a_render_started_before_a_reload_is_followed_to_its_video(studio):
    # A render running while its page was reloaded (or switched language): the new page picks it up.
    Job.objects.create(id="render_20250101_000000", kind=Job.Kind.RENDER, stage="render", progress=0.4, status=Job.Status.RUNNING)
    page = studio.open("/generate/")
    expect(page.locator("#gen-job .job")).to_contain_text("render_20250101_000000")
    expect(page.locator("#gen-job progress")).to_have_attribute("value", "40")
    Job.objects.filter(pk="render_20250101_000000").update(
        status=Job.Status.SUCCEEDED, stage="done", progress=1.0,
        result={"video_path": "media/videos/res_videos/m1_20250101_000000.mp4", "timings": {"total": 7.0}})
    expect(page.locator("#gen-video")).to_have_attribute("src", "/media/videos/res_videos/m1_20250101_000000.mp4")
    expect(page.locator("#gen-result")).to_contain_text("已用时间: 7 秒")  # how long it took, said so: not the video's length
    assert [error for error in studio.errors if "status of 404" not in error] == []  # no such file: only its job is made here

def answer_with(context, answers: dict[str, tuple[int, dict]]) -> None:
    """The server's answers, by path, to the page's requests in `context`."""
    for path, (status, body) in answers.items():
        context.route(f"**{path}", lambda route, request, status=status, body=body:
                      route.fulfill(status=status, content_type="application/json", body=json.dumps(body)))


ONE_MODEL = (200, {"status": "success", "models": [{"name": "m1", "type": "EchoLite", "path": "media/models/EchoLite/m1", "metrics": {}}],
                   "engines": [{"type": "EchoLite", "available": True, "reason": "embedded model"}]})

ONE_USABLE_VIDEO = (200, {"status": "success", "files": [
    {"id": 1, "relative_path": "media/videos/ref_videos/anna.mp4", "original_name": "anna.mp4", "duration": 20.0, "width": 450,
     "height": 450, "probe_status": "ok", "probe": {"usable": True, "errors": [], "warnings": []}}]})


def test_generate_with_only_models_that_cannot_be_used_says_to_train_again(studio):
    # An installation upgraded with EchoLite models of an earlier format lists them, disabled with their reason.
    context = studio.context()
    old = {"name": "m1", "type": "EchoLite", "path": "media/models/EchoLite/m1", "metrics": {}, "usable": False,
           "unusable_reason": "由较早版本的 EchoLite 训练: 请重新训练"}
    answer_with(context, {"/api/available-models": (200, {**ONE_MODEL[1], "models": [old]})})
    page = context.new_page()
    page.goto(studio.url + "/generate/")
    expect(page.locator("#gen-model option[disabled]")).to_have_count(1)
    page.get_by_role("button", name="生成视频").click()
    expect(page.locator("#gen-message")).to_have_text("已训练的模型在这里都不能使用 (列表中写明了各自的原因): 请在“模型训练”页面重新训练一个。")


def test_a_cancelled_chat_turn_says_so_instead_of_a_failure(studio):
    # The server's answers to a turn whose job was cancelled from its card, as /chat_system gives them.
    context = studio.context()
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/chat_system": (200, {"status": "processing", "task_id": "chat_1", "turn_id": 1, "conversation_id": 1, "turn_status": "running"}),
        "/api/chat/turns/1": (200, {"status": "success", "task_id": "chat_1", "turn_id": 1, "turn_status": "failed", "stage": "tts",
                                    "error": "cancelled"}),
        "/api/tasks/chat_1": (200, {"status": "success", "task_id": "chat_1", "kind": "chat", "state": "cancelled", "stage": "cancelled",
                                    "progress": 0.25}),
    })
    page = studio.open("/chat/", context)
    page.locator("#chat-text").fill("你好")
    page.get_by_role("button", name="发送").click()
    expect(page.locator(".bubble.assistant.warn")).to_contain_text("本次回答已取消。")
    expect(page.locator("#chat-job .badge")).to_have_text("已取消")
    expect(page.locator(".bubble.error")).to_have_count(0)
    # a cancelled turn is a failed one: it can be deleted from there
    expect(page.locator(".bubble.assistant.warn").get_by_role("button", name="删除 你好")).to_be_visible()
    assert studio.errors == []


CANCELLED_RENDER = (409, {"status": "error", "message": "任务已取消", "task_id": "render_1"}), \
    (200, {"status": "success", "task_id": "render_1", "kind": "render", "state": "cancelled", "stage": "cancelled", "progress": 0.4})
# a curator deleted the job in the admin while the request waited: nothing left to look up
DELETED_RENDER = (410, {"status": "error", "message": "任务已被删除", "task_id": "render_1"}), (404, {"status": "error", "message": "任务不存在"})


@pytest.mark.parametrize("answer, task, notice, card", [(*CANCELLED_RENDER, "The job was cancelled.", "cancelled"),
                                                        (*DELETED_RENDER, "The job was deleted.", "")], ids=["cancelled", "deleted"])
def test_a_render_ended_while_it_waited_says_so_in_the_pages_language(studio, answer, task, notice, card):
    # /video_generation's answer to a render whose job ended from outside while it waited
    context = studio.context(language="en")
    answer_with(context, {"/api/available-models": ONE_MODEL, "/video_generation": answer, "/api/tasks/render_1": task})
    page = studio.open("/generate/", context)
    page.get_by_label("Text", exact=True).check()
    page.locator("#gen-text").fill("Hello.")
    page.get_by_role("button", name="Generate video").click()
    expect(page.locator("#gen-message")).to_have_text(notice)
    expect(page.locator("#gen-message")).to_have_class("alert warn")
    if card:
        expect(page.locator("#gen-job .job")).to_contain_text(card)
    assert [error for error in studio.errors if f"status of {answer[0]}" not in error and f"status of {task[0]}" not in error] == []


def test_a_job_card_says_when_the_server_cannot_be_reached(studio):
    page = studio.open("/voice/")
    page.route("**/api/tasks/**", lambda route: route.abort())  # the server restarting, the network gone
    page.evaluate("""() => {
        const view = new Studio.JobView(document.getElementById("speak-job"));
        view.update({ task_id: "tts_1", kind: "synthesize", state: "running", stage: "tts", progress: 0.5 });
        Studio.watchJob("tts_1", view, 20);
    }""")
    expect(page.locator("#speak-job .job")).to_contain_text("暂时无法连接服务器，正在重试")
    expect(page.locator("#speak-job .job")).to_contain_text("50%")  # what was known stays shown


def test_the_generate_page_warns_when_the_servers_voice_engine_cannot_speak_here(studio, settings):
    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": "xtts", "XTTS_DIR": None}
    page = studio.open("/generate/")
    text = page.locator("input[name='source'][value='text']")
    expect(text).to_be_disabled()
    expect(page.locator("#gen-text-state")).to_have_text("(不可用)")
    expect(page.locator("input[name='source'][value='catalog']")).to_be_checked()
    expect(page.locator("#gen-text-notes")).to_contain_text("文本由服务器的语音引擎 XTTS-v2 朗读, 它在本机不可用: 未配置 XTTS-v2 模型目录")
    screenshot(page, "generate-voice-engine-unavailable")
    english = studio.open("/generate/", language="en")
    expect(english.locator("#gen-text-notes")).to_contain_text("Text is spoken by the server's voice engine XTTS-v2, which cannot run here")
    screenshot(english, "generate-voice-engine-unavailable-en")
    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": "default"}
    usable = studio.open("/generate/")
    expect(usable.locator("input[name='source'][value='text']")).to_be_enabled()
    expect(usable.locator("#gen-text-state")).to_have_text("")
    expect(usable.locator("#gen-text-notes")).to_be_empty()
    assert studio.errors == []


def test_the_chat_page_sends_nothing_when_the_servers_voice_engine_cannot_speak_here(studio, settings):
    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": "xtts", "XTTS_DIR": None}
    chat = studio.open("/chat/")
    expect(chat.locator("#chat-voice-notes")).to_contain_text("回答由服务器的语音引擎 XTTS-v2 朗读, 它在本机不可用: 未配置 XTTS-v2 模型目录")
    for control in ("#chat-send", "#chat-talk"):
        expect(chat.locator(control)).to_be_disabled()
        expect(chat.locator(control)).to_have_attribute("title", re.compile("ECHOFU_XTTS_DIR"))
    chat.locator("#chat-text").fill("你好")
    chat.locator("#chat-text").press("Enter")  # submits the form without the button
    expect(chat.locator("#chat-log .bubble")).to_have_count(0)
    screenshot(chat, "chat-voice-engine-unavailable")
    english = studio.open("/chat/", language="en")
    expect(english.locator("#chat-voice-notes")).to_contain_text("Answers are spoken by the server's voice engine XTTS-v2, which cannot run here")
    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": "default"}
    usable = studio.open("/chat/")
    expect(usable.locator("#chat-send")).to_be_enabled()
    expect(usable.locator("#chat-talk")).to_be_enabled()
    expect(usable.locator("#chat-voice-notes")).to_be_empty()
    assert studio.errors == []


def test_the_chat_page_marks_the_server_default_provider_when_it_cannot_answer_here(studio, settings):
    hosted_without_key = {"base_url": "https://open.bigmodel.cn/api/paas/v4", "api_key": "", "model": "glm-4-flash"}
    settings.ECHOFU = {**settings.ECHOFU, "LLM_PROVIDERS": {"glm": hosted_without_key}, "LLM_DEFAULT": "glm"}
    chat = studio.open("/chat/")
    default = chat.locator("#chat-provider option[value='']")
    expect(default).to_be_disabled()
    expect(default).to_have_text("服务器默认 (glm) (不可用)")
    expect(default).to_have_attribute("title", re.compile("ECHOFU_LLM_GLM_API_KEY"))
    expect(chat.locator("#chat-provider")).not_to_have_value("")  # moved to a provider that can answer
    expect(chat.locator("#chat-provider option:checked")).to_be_enabled()
    screenshot(chat, "chat-default-provider-unavailable")
    assert studio.errors == []


def test_a_job_card_cancelling_a_deleted_job_says_so_in_the_pages_language(studio):
    context = studio.context(language="en")
    answer_with(context, {"/api/tasks/tts_1/cancel": (410, {"status": "error", "message": "任务已被删除", "task_id": "tts_1"})})
    page = studio.open("/voice/", context)
    page.evaluate("""() => {
        const view = new Studio.JobView(document.getElementById("speak-job"));
        view.update({ task_id: "tts_1", kind: "synthesize", state: "running", stage: "tts", progress: 0.5 });
    }""")
    page.locator("#speak-job .job-cancel").click()
    expect(page.locator("#speak-job .job .alert")).to_have_text("The job was deleted.")


def test_an_upload_is_listed_by_the_name_its_owner_knows_it_by(studio, media_root, wav_file):
    # Stored as anna_3.wav since other accounts uploaded an anna.wav before: that name hints at them.
    from django.test import Client

    from accounts.tests.conftest import upload_audio

    assert upload_audio(Client(), wav_file).status_code == 200
    reference = ReferenceAudio.objects.get()
    (media_root / reference.file.name).rename(media_root / "voices/ref_voices/anna_3.wav")
    ReferenceAudio.objects.filter(pk=reference.pk).update(file="voices/ref_voices/anna_3.wav", name="anna", original_name="anna.wav")
    page = studio.open("/voice/", studio.context(language="en"))
    expect(page.locator(".reference-item").first).to_contain_text("anna.wav")
    expect(page.locator(".reference-item").first).not_to_contain_text("anna_3")
    assert studio.errors == []


def test_a_message_refused_for_want_of_a_model_stays_in_the_box(studio):
    """Send with no model trained cleared the typed message and showed no bubble: the text was gone."""
    page = studio.open("/chat/")
    expect(page.locator("#chat-model-none")).to_be_visible()
    page.locator("#chat-text").fill("你好，你是谁？")
    page.get_by_role("button", name="发送").click()
    expect(page.locator("#chat-message")).to_have_text("还没有已训练的模型: 请先在“模型训练”页面用一段视频训练一个。")
    expect(page.locator("#chat-text")).to_have_value("你好，你是谁？")
    assert studio.errors == []


def test_the_chat_page_shows_and_continues_the_latest_conversation_after_a_reload(studio):
    """After a reload (or a visit to another page) the log said 打个招呼开始对话吧 and the next message
    started a new conversation: the answers so far, and the LLM's memory of them, were gone from the page."""
    context = studio.context()
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/api/history/chat": (200, [
            {"type": "chat", "turn_id": 8, "conversation_id": 4, "turn_status": "succeeded", "question": "你叫什么名字？",
             "reply": "我是数字人。", "provider": "local", "timings": {"total": 9.0}, "video_path": "media/videos/res_videos/chat_4_8.mp4"},
            {"type": "chat", "turn_id": 7, "conversation_id": 4, "turn_status": "succeeded", "question": "你好",
             "reply": "你好！", "provider": "local", "timings": {"total": 8.0}, "video_path": "media/videos/res_videos/chat_4_7.mp4"},
            {"type": "chat", "turn_id": 3, "conversation_id": 2, "turn_status": "succeeded", "question": "更早的对话",
             "reply": "旧的回答", "provider": "local", "timings": {}, "video_path": ""},
        ]),
        "/chat_system": (400, {"status": "error", "message": "stop here"}),
    })
    page = studio.open("/chat/", context)
    expect(page.locator(".bubble .chat-user-text")).to_have_text(["你好", "你叫什么名字？"])  # oldest first, this conversation only
    expect(page.locator(".bubble .chat-reply")).to_have_text(["你好！", "我是数字人。"])
    expect(page.locator(".bubble a[download]").last).to_have_attribute("href", "/media/videos/res_videos/chat_4_8.mp4")
    page.locator("#chat-text").fill("继续")
    with page.expect_request("**/chat_system") as sent:
        page.get_by_role("button", name="发送").click()
    assert "conversation_id=4" in sent.value.post_data or 'name="conversation_id"\r\n\r\n4' in sent.value.post_data

    page.get_by_role("button", name="新对话").click()
    expect(page.locator(".bubble")).to_have_count(0)
    assert [error for error in studio.errors if "status of 400" not in error] == []


@pytest.mark.parametrize("language, spoken, typed", [
    ("zh-hans", "识别 2.0 秒 · 回复 4.7 秒 · 语音 9.8 秒 · 视频 8.4 秒 · 共 24.9 秒", "回复 4.7 秒 · 语音 59.8 秒 · 视频 18.4 秒 · 共 85.7 秒 · 第一句用时 20.2 秒"),
    ("en", "recognition 2.0 s · reply 4.7 s · voice 9.8 s · video 8.4 s · total 24.9 s",
     "reply 4.7 s · voice 59.8 s · video 18.4 s · total 85.7 s · first sentence after 20.2 s"),
])
def test_a_typed_questions_answer_times_only_the_stages_it_went_through(studio, language, spoken, typed):
    """A typed question is not recognised: its answer said "识别 — 秒" (Recognition — s) before the times it had."""
    context = studio.context(language=language)
    turn = {"type": "chat", "conversation_id": 4, "turn_status": "succeeded", "reply": "你好！", "video_path": ""}
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/api/history/chat": (200, [
            {**turn, "turn_id": 8, "question": "你好", "timings": {"llm": 4.7, "tts": 59.8, "render": 18.4, "total": 85.7, "first_segment": 20.2}},
            {**turn, "turn_id": 7, "question": "", "timings": {"asr": 2.0, "llm": 4.7, "tts": 9.8, "render": 8.4, "total": 24.9}},
        ]),
    })
    page = studio.open("/chat/", context)
    expect(page.locator(".bubble .chat-timings")).to_have_text([spoken, typed])


@pytest.mark.parametrize("language, refusal", [
    ("zh-hans", "特征名称只能包含字母、数字、汉字、_ . -, 最长 64 个字符。"),
    ("en", "A profile name holds only letters, digits, Chinese characters, _ . - and at most 64 characters."),
])
def test_a_profile_name_the_server_would_refuse_is_said_by_the_fields_own_name(studio, language, refusal):
    """The server's refusal names its form field: the page said "target_audio_id: ..." of the box it calls 特征名称 (Profile name)."""
    context = studio.context(language=language)
    answer_with(context, {"/api/reference-audios": (200, {"status": "success", "files": [
        {"id": 1, "name": "anna", "original_name": "anna.wav", "relative_path": "media/voices/ref_voices/anna.wav", "duration": 8.0}]})})
    page = studio.open("/voice/", context)
    sent = []
    page.on("request", lambda request: "/audio_clone" in request.url and sent.append(request.url))
    page.locator("#profile-reference").select_option("media/voices/ref_voices/anna.wav")
    page.locator("#profile-id").fill("anna/v2")
    page.locator("#profile-create").click()
    expect(page.locator("#profile-message")).to_have_text(refusal)
    assert sent == []
    page.locator("#profile-id").fill("小明_v2.1-" + "x" * 54)  # letters, digits, Chinese, _ . - in 64 characters: the server's to judge
    with page.expect_request("**/audio_clone"):
        page.locator("#profile-create").click()


def test_a_training_says_which_parameters_its_model_type_ignores_until_it_ends(studio):
    """/model_training answers a misspelt custom_params name with a warning, but the page said only 训练已开始:
    the training ran with the default it was meant to change, unseen."""
    context = studio.context()
    warning = "custom_params: EchoLite 不使用 bacth_size (可用: lr, batch_size), 已忽略"
    answer_with(context, {
        "/api/training-videos": ONE_USABLE_VIDEO,
        "/api/available-models": ONE_MODEL,
        "/model_training": (200, {"status": "success", "task_id": "train_1", "ignored_params": ["bacth_size"], "warning": warning,
                                  "localized_warning": warning}),
        "/api/tasks/train_1": (200, {"status": "success", "task_id": "train_1", "kind": "train", "state": "succeeded", "stage": "done",
                                     "progress": 1.0, "result": {"model_label": "anna v1 (EchoLite)"}}),
    })
    page = studio.open("/training/", context)
    page.locator("#train-params").fill("bacth_size=8")
    page.get_by_role("button", name="开始训练").click()
    expect(page.locator("#train-message")).to_have_text(f"训练完成: anna v1 (EchoLite) {warning}")
    expect(page.locator("#train-message")).to_have_class(re.compile(r"\bwarn\b"))


@pytest.mark.parametrize("language, notice", [("zh-hans", "任务已取消。"), ("en", "The job was cancelled.")])
def test_a_cancelled_training_says_so_in_a_sentence(studio, language, notice):
    """A training cancelled from its card said the job's bare error, "cancelled", as its message, in red."""
    context = studio.context(language=language)
    answer_with(context, {
        "/api/training-videos": ONE_USABLE_VIDEO,
        "/api/available-models": ONE_MODEL,
        "/model_training": (200, {"status": "success", "task_id": "train_2"}),
        "/api/tasks/train_2": (200, {"status": "success", "task_id": "train_2", "kind": "train", "state": "cancelled", "stage": "cancelled",
                                     "progress": 0.4, "error": "cancelled"}),
    })
    page = studio.open("/training/", context)
    page.locator("#train-start").click()
    expect(page.locator("#train-message")).to_have_text(notice)
    expect(page.locator("#train-message")).to_have_class(re.compile(r"\bwarn\b"))


def test_a_training_running_at_a_reload_shows_the_video_it_trains_on(studio):
    """Reloaded during a training on anna.mp4, the page chose the newest upload (bob.mp4) with its check, and offered
    Start training again, while the job card said anna.mp4 was training."""
    context = studio.context()
    probe = {"probe_status": "ok", "probe": {"usable": True, "errors": [], "warnings": []}, "width": 450, "height": 450}
    bob = {"id": 2, "relative_path": "media/videos/ref_videos/bob.mp4", "original_name": "bob.mp4", "duration": 30.0, **probe}
    anna = {"id": 1, "relative_path": "media/videos/ref_videos/anna.mp4", "original_name": "anna.mp4", "duration": 20.0, **probe}
    running = {"status": "success", "task_id": "train_1", "kind": "train", "state": "running", "stage": "train_head", "progress": 0.3,
               "params": {"ref_video": anna["relative_path"], "video_name": "anna"}}
    job = {"now": running}
    answer_with(context, {"/api/training-videos": (200, {"status": "success", "files": [bob, anna]})})  # newest first
    context.route(re.compile(r"/api/tasks\?kind=train&active=1"), lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"status": "success", "tasks": [running]})))
    context.route("**/api/tasks/train_1", lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(job["now"])))
    page = studio.open("/training/", context)
    expect(page.locator("#train-job .job")).to_contain_text("train_1")
    expect(page.locator("#train-video")).to_have_value(anna["relative_path"])
    expect(page.locator("#video-check .check-duration")).to_have_text("20 秒")
    expect(page.get_by_role("button", name="开始训练")).to_be_disabled()
    job["now"] = {**running, "state": "succeeded", "stage": "done", "progress": 1.0, "result": {"model_label": "anna v1 (EchoLite)"}}
    expect(page.locator("#train-message")).to_have_text("训练完成: anna v1 (EchoLite)")
    expect(page.get_by_role("button", name="开始训练")).to_be_enabled()
    assert studio.errors == []


def test_a_refused_upload_leaves_no_earlier_uploads_check_above_it(studio):
    """After a good upload, a refused one showed its reason under the finished check of the earlier file, as if that were its own."""
    context = studio.context()
    answers = iter([(200, {"status": "success", "relative_path": "media/videos/ref_videos/anna.mp4", "original_name": "anna.mp4",
                           "probe_task_id": "probe_1"}),
                    (400, {"status": "error", "message": "文件内容不是有效的视频"})])

    def upload(route):
        status, body = next(answers)
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    context.route("**/api/upload-training-video", upload)
    answer_with(context, {"/api/tasks/probe_1": (200, {"status": "success", "task_id": "probe_1", "kind": "probe", "state": "succeeded",
                                                       "stage": "done", "progress": 1.0})})
    page = studio.open("/training/", context)
    page.locator("#video-file").set_input_files({"name": "anna.mp4", "mimeType": "video/mp4", "buffer": b"first"})
    page.get_by_role("button", name="上传并检查").click()
    expect(page.locator("#probe-job .badge")).to_have_text("已完成")
    expect(page.get_by_role("button", name="上传并检查")).to_be_enabled()
    page.locator("#video-file").set_input_files({"name": "garbage.mp4", "mimeType": "video/mp4", "buffer": b"second"})
    page.get_by_role("button", name="上传并检查").click()
    expect(page.locator("#video-message")).to_have_text("文件内容不是有效的视频")
    expect(page.locator("#probe-job .job")).to_have_count(0)
    assert [error for error in studio.errors if "status of 400" not in error] == []


def test_a_voice_profile_being_made_at_a_reload_is_followed_to_the_list(studio):
    """A reload (or another tab) while a profile was being made showed no card, and the profile list stayed
    empty after it was done until the next reload: the person made it again."""
    context = studio.context()
    version = {"version": 1, "duration": 8.0, "created_at": "2026-01-01 12:00:00"}
    profile = {"id": "anna", "name": "anna", **version, "versions": [version]}
    done = {"status": "success", "task_id": "clone_1", "kind": "clone", "state": "succeeded", "stage": "done", "progress": 1.0}
    asked = {"task": 0}

    def task(route, request):
        asked["task"] += 1  # running at the first look, done at the second
        route.fulfill(status=200, content_type="application/json",
                      body=json.dumps({**done, "state": "running", "stage": "embed", "progress": 0.5} if asked["task"] == 1 else done))

    context.route(re.compile(r"/api/tasks\?kind=clone&active=1"), lambda route, request: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"status": "success", "tasks": [{"task_id": "clone_1"}]})))
    context.route("**/api/tasks/clone_1", task)
    context.route("**/api/cloned-audios", lambda route, request: route.fulfill(
        status=200, content_type="application/json", body=json.dumps({"status": "success", "audios": [profile] if asked["task"] > 1 else []})))
    page = studio.open("/voice/", context)
    expect(page.locator("#profile-job .job-head")).to_contain_text("clone_1")
    expect(page.locator("#profile-job .badge")).to_have_text("已完成")
    expect(page.locator("#profile-list .item-title")).to_have_text(["anna"])


def test_a_failed_chat_turn_names_its_stage_as_the_server_does(studio):
    """The page wrote 语音识别 阶段失败 where /chat_system and the job card write 语音识别阶段失败."""
    context = studio.context()
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/api/history/chat": (200, []),
        "/chat_system": (202, {"status": "processing", "turn_id": 5, "conversation_id": 3, "turn_status": "running"}),
        "/api/chat/turns/5": (200, {"status": "success", "turn_id": 5, "conversation_id": 3, "turn_status": "failed", "stage": "asr",
                                    "error": "录音中没有检测到语音"}),
    })
    page = studio.open("/chat/", context)
    page.locator("#chat-text").fill("你好")
    page.get_by_role("button", name="发送").click()
    expect(page.locator(".bubble.assistant.error .chat-failure")).to_have_text("语音识别阶段失败: 录音中没有检测到语音")


def test_a_failed_chat_turns_reason_is_shown_once_in_its_bubble(studio):
    """The reason stood three times on the page: in the turn's bubble, in the alert under the conversation and
    in the job card. The bubble says it; the card says only that the job failed."""
    context = studio.context()
    reason = "生成回复阶段失败: 服务暂不可用"
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/api/history/chat": (200, []),
        "/chat_system": (202, {"status": "processing", "task_id": "chat_5", "turn_id": 5, "conversation_id": 3, "turn_status": "running"}),
        "/api/chat/turns/5": (200, {"status": "success", "task_id": "chat_5", "turn_id": 5, "conversation_id": 3, "turn_status": "failed",
                                    "stage": "llm", "error": "服务暂不可用"}),
        "/api/tasks/chat_5": (200, {"status": "success", "task_id": "chat_5", "kind": "chat", "state": "failed", "stage": "llm",
                                    "progress": 0.3, "error": reason}),
    })
    page = studio.open("/chat/", context)
    page.locator("#chat-text").fill("讲个笑话")
    page.get_by_role("button", name="发送").click()
    expect(page.locator(".bubble.assistant.error .chat-failure")).to_have_text(reason)
    expect(page.locator("#chat-job .badge")).to_have_text("失败")
    assert page.locator("body").inner_text().count(reason) == 1
    expect(page.locator("#chat-message")).to_be_empty()
    assert studio.errors == []


@pytest.mark.parametrize("language, said", [
    ("zh-hans", "参考音频: 参考音频太安静: 最响处为 -120 dBFS"),
    ("en", "Reference audio: the reference is too quiet: its loudest moment is -120 dBFS"),
])
def test_a_refusal_naming_a_form_field_is_said_by_the_fields_label(studio, language, said):
    """The page said "original_audio_path: ...", the contract's name for the box it labels 参考音频 (Reference audio)."""
    context = studio.context(language=language)
    message = "original_audio_path: 参考音频太安静: 最响处为 -120 dBFS"
    localized = message if language == "zh-hans" else "original_audio_path: the reference is too quiet: its loudest moment is -120 dBFS"
    answer_with(context, {
        "/api/reference-audios": (200, {"status": "success", "files": [
            {"id": 1, "name": "quiet", "original_name": "quiet.wav", "relative_path": "media/voices/ref_voices/quiet.wav", "duration": 5.0}]}),
        "/audio_clone": (400, {"status": "error", "message": message, "localized_message": localized}),
        "/api/history/audio_clone": (200, []),
    })
    page = studio.open("/voice/", context)
    page.locator("#profile-reference").select_option("media/voices/ref_voices/quiet.wav")
    page.locator("#profile-create").click()
    expect(page.locator("#profile-message")).to_have_text(said)


def test_a_file_whose_consent_was_revoked_says_so_on_the_pages(studio):
    """A revoked training video was shown ✓ with "视频可用于训练。"; only Start said otherwise."""
    context = studio.context()
    revoked = {**ONE_USABLE_VIDEO[1]["files"][0], "consent_revoked": True}
    answer_with(context, {
        "/api/training-videos": (200, {"status": "success", "files": [revoked]}),
        "/api/available-models": ONE_MODEL,
        "/api/reference-audios": (200, {"status": "success", "files": [
            {"id": 1, "name": "anna", "original_name": "anna.wav", "relative_path": "media/voices/ref_voices/anna.wav", "duration": 8.0,
             "consent_revoked": True}]}),
        "/api/history/audio_clone": (200, []),
    })
    training = studio.open("/training/", context)
    expect(training.locator("#train-video option[value='media/videos/ref_videos/anna.mp4']")).to_have_text(re.compile("^✗ anna.mp4"))
    expect(training.locator("#video-check .alert.error")).to_have_text("其授权已被工作室管理员撤销, 不能再使用。")
    voice = studio.open("/voice/", context)
    expect(voice.locator("#profile-reference option[value='media/voices/ref_voices/anna.wav']")).to_be_disabled()
    expect(voice.locator("#reference-list .alert.error")).to_have_text("其授权已被工作室管理员撤销, 不能再使用。")


def test_two_uploads_of_one_name_are_told_apart_in_the_lists(studio):
    """A second anna.mp4 (another video of that name) trains as anna_2, but both were listed as "✓ anna.mp4"."""
    context = studio.context()
    first = {**ONE_USABLE_VIDEO[1]["files"][0], "name": "anna"}
    second = {**first, "id": 2, "name": "anna_2", "relative_path": "media/videos/ref_videos/anna_2.mp4"}
    answer_with(context, {"/api/training-videos": (200, {"status": "success", "files": [second, first]}), "/api/available-models": ONE_MODEL})
    page = studio.open("/training/", context)
    expect(page.locator("#train-video option:not([value=''])")).to_have_text(["✓ anna.mp4 · anna_2 (20 秒, 450×450)", "✓ anna.mp4 (20 秒, 450×450)"])


def test_a_failed_trainings_reason_is_shown_once_in_its_card(studio):
    """The reason stood twice, in the job card and again in the form's message under it."""
    context = studio.context()
    reason = "训练发散: 损失变为 NaN"
    answer_with(context, {
        "/api/training-videos": ONE_USABLE_VIDEO,
        "/api/available-models": ONE_MODEL,
        "/model_training": (200, {"status": "success", "task_id": "train_3"}),
        "/api/tasks/train_3": (200, {"status": "success", "task_id": "train_3", "kind": "train", "state": "failed", "stage": "train",
                                     "progress": 0.4, "error": reason}),
    })
    page = studio.open("/training/", context)
    page.locator("#train-start").click()
    expect(page.locator("#train-job .alert.error")).to_have_text(reason)
    expect(page.locator("#train-message")).to_be_empty()
    assert page.locator("body").inner_text().count(reason) == 1


def test_a_clone_failed_on_its_reference_says_why_once_in_its_card(studio):
    """/audio_clone answers 422 with the failed job's id: its card says why, the form's message did too."""
    context = studio.context()
    reason = "参考音频中没有找到浊音讲话"
    answer_with(context, {
        "/api/reference-audios": (200, {"status": "success", "files": [
            {"id": 1, "name": "anna", "original_name": "anna.wav", "relative_path": "media/voices/ref_voices/anna.wav", "duration": 8.0}]}),
        "/audio_clone": (422, {"status": "error", "message": reason, "task_id": "clone_4"}),
        "/api/history/audio_clone": (200, []),  # after the one above, which its address also ends with: it wins
        "/api/tasks/clone_4": (200, {"status": "success", "task_id": "clone_4", "kind": "clone", "state": "failed", "stage": "pitch",
                                     "progress": 0.4, "error": reason, "failed_on_input": True}),
    })
    page = studio.open("/voice/", context)
    page.locator("#profile-reference").select_option("media/voices/ref_voices/anna.wav")
    page.locator("#profile-create").click()
    expect(page.locator("#profile-job .alert.error")).to_have_text(reason)
    expect(page.locator("#profile-job .badge")).to_have_text("失败")
    expect(page.locator("#profile-message")).to_be_empty()
    assert page.locator("body").inner_text().count(reason) == 1


def test_a_rendered_videos_time_is_the_wait_for_it(studio):
    """Under a video made from text the page said 已用时间: 6s, the rendering engine's own time, after a wait of 25 s:
    the speech synthesis before it was left out."""
    context = studio.context()
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/api/reference-audios": (200, {"status": "success", "files": [
            {"id": 1, "name": "anna", "original_name": "anna.wav", "relative_path": "media/voices/ref_voices/anna.wav", "duration": 8.0}]}),
        "/video_generation": (200, {"status": "success", "task_id": "render_1", "video_path": "media/videos/res_videos/m1_1.mp4"}),
        "/api/tasks/render_1": (200, {"status": "success", "task_id": "render_1", "kind": "render", "state": "succeeded", "stage": "done",
                                      "progress": 1.0, "elapsed_seconds": 25.2,
                                      "result": {"video_path": "media/videos/res_videos/m1_1.mp4", "timings": {"render": 3.4, "total": 6.2}}}),
    })
    page = studio.open("/generate/", context)
    page.get_by_role("button", name="生成视频").click()
    expect(page.locator("#gen-result")).to_contain_text("已用时间: 25 秒")


def test_the_generate_pages_download_links_name_the_person_the_version_and_the_time(studio, media_root):
    """A rendered video downloaded as its stored name (m1_20261207_140530.mp4): which person, which model, which take?"""
    from datetime import datetime, timezone as tz

    from echofu.ownership import local_user
    from provenance.models import ProvenanceRecord

    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="m1", person="小明", version=1, owner=local_user())
    stored = "videos/res_videos/m1_20261207_140530.mp4"
    (media_root / stored).parent.mkdir(parents=True, exist_ok=True)
    (media_root / stored).write_bytes(b"not played here")
    GeneratedVideo.objects.create(file=stored, model=model, model_type="EchoLite", text="你好", owner=local_user())
    ProvenanceRecord.objects.create(request_id="render_1", kind="video", file=stored, sha256="0" * 64, model=model,
                                    created_at=datetime(2026, 12, 7, 6, 5, tzinfo=tz.utc))  # 14:05 in the server's zone
    context = studio.context()
    fresh = "小明-v1-2026-12-07-1410.mp4"
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/api/reference-audios": (200, {"status": "success", "files": [
            {"id": 1, "name": "anna", "original_name": "anna.wav", "relative_path": "media/voices/ref_voices/anna.wav", "duration": 8.0}]}),
        "/api/tasks/render_2": (200, {"status": "success", "task_id": "render_2", "kind": "render", "state": "succeeded", "stage": "done",
                                      "progress": 1.0, "result": {"video_path": "media/videos/res_videos/m1_2.mp4", "download_name": fresh}}),
    })
    context.route(re.compile(r"^https?://[^/]+/video_generation$"), lambda route: route.fulfill(  # the history's own path is the server's
        status=200, content_type="application/json",
        body=json.dumps({"status": "success", "task_id": "render_2", "video_path": "media/videos/res_videos/m1_2.mp4"})))
    page = studio.open("/generate/", context)
    expect(page.locator("#gen-history a[download]")).to_have_attribute("download", "小明-v1-2026-12-07-1405.mp4")
    page.get_by_role("button", name="生成视频").click()
    expect(page.locator("#gen-result a[download]")).to_have_attribute("download", fresh)
    expect(page.locator("#gen-result a[download]")).to_have_attribute("href", "/media/videos/res_videos/m1_2.mp4")
    expect(page.locator("#gen-result .gen-result-name")).to_have_text(fresh)  # the caption too, not the stored m1_2.mp4


def test_a_chat_turn_still_being_answered_at_a_reload_is_followed_to_its_answer(studio):
    context = studio.context()
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/api/history/chat": (200, [{"type": "chat", "task_id": "chat_9", "turn_id": 9, "conversation_id": 5, "turn_status": "running",
                                     "status": "running", "question": "讲个故事", "reply": "", "segments": []}]),
        "/api/chat/turns/9": (200, {"status": "success", "task_id": "chat_9", "turn_id": 9, "conversation_id": 5, "turn_status": "succeeded",
                                    "transcript": "讲个故事", "reply": "从前有座山。", "timings": {"total": 5.0}, "segments": [],
                                    "video_path": "media/videos/res_videos/chat_5_9.mp4", "download_name": "小明-v1-2026-12-07-1405.mp4"}),
        "/api/tasks/chat_9": (200, {"status": "success", "task_id": "chat_9", "kind": "chat", "state": "succeeded", "stage": "done",
                                    "progress": 1.0}),
    })
    page = studio.open("/chat/", context)
    expect(page.locator(".bubble .chat-user-text")).to_have_text(["讲个故事"])
    expect(page.locator(".bubble .chat-reply")).to_have_text(["从前有座山。"])
    expect(page.locator(".bubble a[download]")).to_have_attribute("download", "小明-v1-2026-12-07-1405.mp4")
    expect(page.get_by_role("button", name="发送")).to_be_enabled()
    assert [error for error in studio.errors if "status of 404" not in error] == []  # the answer video is not there


def test_each_earlier_answer_plays_again_after_a_reload(studio, media_root):
    """After a reload the conversation came back, but its answers offered only Download and Delete: none could be watched again."""
    answers = media_root / "videos" / "res_videos"
    answers.mkdir(parents=True, exist_ok=True)
    make_talking_face_video(answers / "chat_4_7.mp4", seconds=2, size=256, seed=1)
    turn = {"type": "chat", "conversation_id": 4, "turn_status": "succeeded", "provider": "local", "timings": {}}
    context = studio.context()
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/api/history/chat": (200, [
            {**turn, "turn_id": 8, "question": "你叫什么名字？", "reply": "我是数字人。", "video_path": "media/videos/res_videos/chat_4_8.mp4",
             "available": False},  # its video was deleted from the disk
            {**turn, "turn_id": 7, "question": "你好", "reply": "你好！", "video_path": "media/videos/res_videos/chat_4_7.mp4", "available": True},
        ]),
    })
    page = studio.open("/chat/", context)
    expect(page.locator(".bubble .chat-reply")).to_have_text(["你好！", "我是数字人。"])
    expect(page.locator(".bubble .chat-play")).to_have_count(1)  # only the answer whose video is still there
    video = page.locator("#chat-video")
    assert video.get_attribute("src") is None
    page.get_by_role("button", name="播放: 你好").click()
    expect(video).to_have_attribute("src", "/media/videos/res_videos/chat_4_7.mp4")
    page.wait_for_function("() => { const v = document.getElementById('chat-video'); return !v.paused && v.currentTime > 0; }")
    expect(page.locator("#chat-segment-status")).to_have_text("对“你好”的回答")
    assert studio.errors == []


def test_an_answer_the_browser_will_not_start_after_a_reload_asks_for_play(studio):
    """Reloaded mid-turn, the browser refused to start the answer unasked: the player sat paused on its first
    sentence at 0:00 / 0:00, which looked like an answer of a second."""
    context = studio.context()
    # What Chromium does without a click on the page since it loaded (the tests' browser is told to allow it).
    context.add_init_script("""HTMLMediaElement.prototype.play = function () {
        return Promise.reject(new DOMException("play() failed because the user didn't interact with the document first.", "NotAllowedError"));
    };""")
    running = {"status": "success", "task_id": "chat_9", "turn_id": 9, "conversation_id": 5, "turn_status": "running", "question": "讲个故事",
               "reply": "", "segments": [{"index": 1, "video_path": "media/chat/5/turn_9/segments/01.mp4"}]}
    turn = {"now": running}
    answer_with(context, {
        "/api/available-models": ONE_MODEL,
        "/api/history/chat": (200, [{**running, "type": "chat", "status": "running"}]),
        "/api/tasks/chat_9": (200, {"status": "success", "task_id": "chat_9", "kind": "chat", "state": "running", "stage": "tts", "progress": 0.5}),
    })
    context.route("**/api/chat/turns/9", lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(turn["now"])))
    page = studio.open("/chat/", context)
    expect(page.locator("#chat-segment-status")).to_have_text("第 1 句 · 按 ▶ 播放")
    turn["now"] = {**running, "turn_status": "succeeded", "reply": "从前有座山。", "video_path": "media/videos/res_videos/chat_5_9.mp4"}
    # the whole answer once it is joined, rather than its first sentence
    expect(page.locator("#chat-video")).to_have_attribute("src", "/media/videos/res_videos/chat_5_9.mp4")
    expect(page.locator("#chat-segment-status")).to_have_text("对“讲个故事”的回答 · 按 ▶ 播放")
    assert [error for error in studio.errors if "status of 404" not in error] == []  # no video files here


def test_each_history_entrys_play_control_names_its_video(studio):
    """Every rendered video's control was named only 播放: tabbing through the history, a screen reader said 播放, 播放, ..."""
    context = studio.context()
    entry = {"type": "video_generation", "status": "succeeded", "model_label": "anna v1 (EchoLite)", "duration": 3.0, "width": 256,
             "height": 256, "size_mb": 0.1, "timestamp": "2026-01-01T00:00:00+00:00", "available": True}
    answer_with(context, {"/api/history/video_generation": (200, [
        {**entry, "text": "你好", "video_path": "media/videos/res_videos/a.mp4", "audio_path": ""},
        {**entry, "text": "", "video_path": "media/videos/res_videos/b.mp4", "audio_path": "media/voices/ref_voices/anna_3.wav",
         "audio_name": "anna.wav"},  # stored renamed: the title is the name it was uploaded as
    ])})
    page = studio.open("/generate/", context)
    expect(page.locator("#gen-history summary")).to_have_count(2)
    names = [page.locator("#gen-history summary").nth(index).evaluate("(node) => node.getAttribute('aria-label') || node.textContent")
             for index in range(2)]
    assert names == ["播放: 你好", "播放: anna.wav"]
    assert [error for error in studio.errors if "status of 404" not in error] == []


def test_a_reference_is_deleted_from_the_voice_page_once_confirmed(studio, media_root, wav_file):
    from django.test import Client

    from accounts.tests.conftest import upload_audio

    assert upload_audio(Client(), wav_file).status_code == 200
    stored = media_root / ReferenceAudio.objects.get().file.name
    page = studio.open("/voice/", viewport=PHONE)
    item = page.locator(".reference-item")
    expect(item).to_have_count(1)
    assert not overflows_horizontally(page)
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))  # thought better of it: nothing goes
    item.get_by_role("button", name="删除 声音 sample.wav").click()
    expect(item).to_have_count(1)
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    item.get_by_role("button", name="删除 声音 sample.wav").click()
    expect(page.locator("#reference-message")).to_have_text("已删除: 声音 sample.wav")
    expect(page.locator("#reference-list .empty")).to_be_visible()
    assert questions == ["删除参考音频“声音 sample.wav”? 由它克隆的声音会一并删除。"] * 2
    assert not ReferenceAudio.objects.exists()
    wait_until(lambda: not stored.exists(), 10)
    assert studio.errors == []


def delete_once_confirmed(button) -> list[str]:
    """Clicks a Delete `button` and accepts the confirm it asks; the list fills with the question asked."""
    questions = []
    button.page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    button.click()
    return questions


def test_synthesised_speech_is_deleted_from_the_voice_page_once_confirmed(studio, media_root, wav_file):
    from echofu.ownership import local_user

    job = Job.objects.create(id="tts_1", kind=Job.Kind.SYNTHESIZE, status=Job.Status.SUCCEEDED, owner=local_user(),
                             params={"text": "你好世界", "speaker_id": "anna"})
    stored = media_root / "voices/res_voices/anna_1.wav"
    stored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(wav_file, stored)
    speech = GeneratedAudio.objects.create(file="voices/res_voices/anna_1.wav", job=job, owner=local_user(), text="你好世界")
    Job.objects.filter(pk=job.pk).update(result={"cloned_audio_path": speech.relative_path, "audio_id": speech.pk})
    page = studio.open("/voice/")
    item = page.locator("#speech-list .speech-item")
    expect(item).to_have_count(1)
    questions = delete_once_confirmed(item.get_by_role("button", name="删除 你好世界"))
    expect(page.locator("#speak-message")).to_have_text("已删除: 你好世界")
    expect(page.locator("#speech-list .empty")).to_be_visible()
    assert questions == ["删除合成语音“你好世界”? 由它渲染的视频会保留自己的声音。"]
    assert not GeneratedAudio.objects.exists()
    wait_until(lambda: not stored.exists(), 10)
    page.reload(wait_until="networkidle")  # its job stays in the history: the list goes by the speech
    expect(page.locator("#speech-list .empty")).to_be_visible()
    assert studio.errors == []


def test_a_failed_chat_turn_is_deleted_from_the_chat_page_once_confirmed(studio):
    from chat.models import Conversation, Turn
    from echofu.ownership import local_user

    conversation = Conversation.objects.create(owner=local_user())
    job = Job.objects.create(id="chat_1", kind=Job.Kind.CHAT, status=Job.Status.FAILED, owner=local_user())
    Turn.objects.create(conversation=conversation, status=Turn.Status.FAILED, job=job, input_text="讲个笑话",
                        error_stage=Turn.Stage.LLM, error="LLM unavailable")
    page = studio.open("/chat/")
    failure = page.locator(".bubble.assistant.error")
    expect(failure).to_have_count(1)
    questions = delete_once_confirmed(failure.get_by_role("button", name="删除 讲个笑话"))
    expect(page.locator("#chat-message")).to_have_text("已删除: 讲个笑话")
    expect(page.locator(".bubble")).to_have_count(0)
    assert questions == ["删除这个问题 (讲个笑话) 和它下面的失败信息, 连同录音?"]
    assert not Turn.objects.exists()
def test_a_voice_and_a_model_picked_once_are_picked_again_on_every_page(studio, media_root):
    """The chat page forgot the voice at each visit: it went back to the default voice, and the generate page
    offered its own first choices. A choice is now kept by the browser, across pages and visits."""
    from echofu.ownership import local_user
    from engines.testing.simple_media import write_tone_wav

    for name in ("anna", "bob"):
        write_tone_wav(media_root / f"voices/speakers/{name}_v1.wav")
        SpeakerProfile.objects.create(speaker_id=name, version=1, reference_path=f"voices/ref_voices/{name}.wav",
                                      clean_clip=f"voices/speakers/{name}_v1.wav", owner=local_user())
    context = studio.context()
    chat = studio.open("/chat/", context=context)
    expect(chat.locator("#chat-speaker option")).to_have_count(3)
    expect(chat.locator("#chat-speaker")).to_have_value("")
    chat.locator("#chat-speaker").select_option("bob")
    chat.reload(wait_until="networkidle")
    expect(chat.locator("#chat-speaker option")).to_have_count(3)
    expect(chat.locator("#chat-speaker")).to_have_value("bob")
    expect(studio.open("/generate/", context=context).locator("#gen-speaker")).to_have_value("bob")
    voice = studio.open("/voice/", context=context)
    expect(voice.locator("#speak-speaker")).to_have_value("bob")
    voice.locator("#speak-speaker").select_option("")  # the default voice, chosen, is kept too
    expect(studio.open("/chat/", context=context).locator("#chat-speaker")).to_have_value("")
    fresh = studio.open("/chat/")  # another browser: nothing remembered
    expect(fresh.locator("#chat-speaker option")).to_have_count(3)
    expect(fresh.locator("#chat-speaker")).to_have_value("")
    assert studio.errors == []


def test_one_version_of_a_voice_is_deleted_from_the_voice_page_once_confirmed(studio, media_root):
    from echofu.ownership import local_user
    from engines.testing.simple_media import write_tone_wav

    for version in (1, 2):
        write_tone_wav(media_root / f"voices/speakers/anna_v{version}.wav")
        SpeakerProfile.objects.create(speaker_id="anna", version=version, reference_path="voices/ref_voices/anna.wav",
                                      clean_clip=f"voices/speakers/anna_v{version}.wav", owner=local_user())
    page = studio.open("/voice/", viewport=PHONE)
    # Rows made without a clone's measurement (as a chat turn's voice): the page says why there are no figures.
    expect(page.locator(".profile-item .voice-figures")).to_contain_text("尚未测量: 对话和一次性生成所克隆的声音不做测量")
    versions = page.get_by_role("list", name="anna 的版本").locator(".version-item")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("版本 2")
    assert not overflows_horizontally(page)
    questions = delete_once_confirmed(page.get_by_role("button", name="删除 anna v1", exact=True))
    expect(page.locator("#profile-message")).to_have_text("已删除: anna v1")
    expect(page.locator(".version-item")).to_have_count(0)  # the one left is the voice: its own Delete takes it
    expect(page.locator(".profile-item")).to_have_count(1)
    assert questions == ["删除“anna v1”? 该声音的其他版本保留。"]
    assert list(SpeakerProfile.objects.values_list("version", flat=True)) == [2]
    wait_until(lambda: not (media_root / "voices/speakers/anna_v1.wav").exists(), 10)
    assert studio.errors == []


def test_a_model_a_render_still_uses_stays_listed_with_the_reason(studio, media_root):
    from echofu.ownership import local_user

    (media_root / "models/EchoLite/train_1").mkdir(parents=True)
    model = TalkingHeadModel.objects.create(model_type="EchoLite", name="train_1", person="anna", owner=local_user())
    Job.objects.create(id="render_busy", kind=Job.Kind.RENDER, status=Job.Status.RUNNING, params={"model_id": model.pk}, owner=local_user())
    page = studio.open("/training/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".model-item").get_by_role("button", name="删除 anna v1 (EchoLite)").click()
    expect(page.locator("#train-message")).to_have_text("仍被任务 render_busy 使用: 请取消它或等它结束")
    expect(page.locator(".model-item")).to_have_count(1)
    assert TalkingHeadModel.objects.filter(pk=model.pk).exists()
    assert [error for error in studio.errors if "status of 409" not in error] == []


def test_a_model_card_gives_each_figure_next_to_the_loop_and_what_the_model_adds(studio, media_root):
    """The self-evaluation as the admin gives it: each figure beside the plain loop of training frames, the
    audio delay training corrected, and the verdict (a model that does not beat the loop says so as a warning)."""
    from echofu.ownership import local_user

    figures = {"mouth_ssim": 0.756, "mouth_psnr": 24.91, "lmd": 16.68, "lip_opening_r": 0.591, "mouth_sharpness": 0.43,
               "mouth_shimmer": 0.617, "loop_mouth_ssim": 0.653, "loop_mouth_psnr": 22.09, "loop_lmd": 26.97,
               "loop_lip_opening_r": -0.022, "loop_mouth_sharpness": 1.025, "loop_mouth_shimmer": 1.391,
               "sync_correlation": 0.517, "sync_offset_frames": 5, "audio_delay_frames": 2, "audio_delay_found": True,
               "audio_delay_basis": "speech content", "beats_loop": True,
               "verdict": {"template": "the lips follow the speech better than the looped training frames ({figures})",
                           "params": {"figures": {
                               "template": "lip-opening r {opening_r:.2f} vs {loop_opening_r:.2f}, LMD {lmd:.1f} vs {loop_lmd:.1f}; "
                                           "the mouth keeps {detail:.2f} of the real frames' fine detail, the loop {loop_detail:.2f}",
                               "params": {"opening_r": 0.591, "loop_opening_r": -0.022, "lmd": 16.68, "loop_lmd": 26.97,
                                          "detail": 0.43, "loop_detail": 1.0254}}}}}
    (media_root / "models/EchoLite/train_1").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="train_1", person="anna", owner=local_user(), metrics=figures)
    page = studio.open("/training/")
    card = page.locator(".model-item")
    expect(card.locator(".model-figures")).to_have_text(
        "PSNR 24.9 dB (循环 22.1 dB) · SSIM 0.756 (循环 0.653) · LMD 16.7 (循环 27.0) · 开口相关 r 0.59 (循环 -0.02) · "
        "口型清晰度 0.43 (循环 1.02) · 口型闪烁 0.62 (循环 1.39) · 声音延迟 +2 帧 (依据语音内容)")
    expect(card.locator(".model-verdict")).to_have_text(
        "口型比循环播放的训练帧更贴合语音 (开口相关 r 0.59 对 -0.02, LMD 16.7 对 27.0; 口型保留了真实帧 0.43 的细节, 循环为 1.03)")
    generate = studio.open("/generate/")  # a choice gives the model's own figures, not the loop's
    expect(generate.locator("#gen-model option:checked")).to_have_text(
        "anna v1 (EchoLite) · PSNR 24.9 dB · SSIM 0.756 · LMD 16.7 · 开口相关 r 0.59 · 口型清晰度 0.43 · 口型闪烁 0.62")

    TalkingHeadModel.objects.filter(name="train_1").update(
        metrics={**figures, "beats_loop": False, "audio_delay_found": False, "audio_delay_frames": 0}, warnings=["not better"])
    page = studio.open("/training/", studio.context(language="en"))
    card = page.locator(".model-item")
    expect(card.locator(".model-figures")).to_contain_text("LMD 16.7 (loop 27.0) · lip-opening r 0.59 (loop -0.02)")
    expect(card.locator(".model-figures")).to_contain_text("audio delay not found (nothing corrected)")
    expect(card.locator(".model-verdict")).to_have_count(0)
    expect(card).to_contain_text("not better")
    assert studio.errors == []


def test_an_action_pressed_before_the_model_list_came_waits_for_it(studio):
    """Generate (or Send) pressed while the model list was still loading said that no model was trained yet."""
    context = studio.context()
    held = []
    context.route("**/api/available-models", lambda route: held.append(route))  # the list is slow to come
    answer_with(context, {"/chat_system": (400, {"status": "error", "message": "stop here"})})
    generate, chat = context.new_page(), context.new_page()
    generate.goto(studio.url + "/generate/", wait_until="domcontentloaded")
    chat.goto(studio.url + "/chat/", wait_until="domcontentloaded")
    generate.get_by_role("button", name="生成视频").click()
    chat.locator("#chat-text").fill("你好")
    chat.get_by_role("button", name="发送").click()
    while len(held) < 2:  # the routes are handed over while Playwright waits
        generate.wait_for_timeout(100)
    for page, message in ((generate, "#gen-message"), (chat, "#chat-message")):
        expect(page.locator(message)).not_to_contain_text("还没有已训练的模型")
    with chat.expect_request("**/chat_system"):
        for route in held:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(ONE_MODEL[1]))
    expect(generate.locator("#gen-message")).to_have_text("请选择音频。")  # the model was taken: next, the speech


def test_job_log_lines_are_timed_in_the_browsers_time_zone(studio):
    # They read the server's clock (12:00 in Shanghai) beside list times in the browser's (05:00 in Berlin).
    Job.objects.create(id="render_1", kind=Job.Kind.RENDER, status=Job.Status.RUNNING, stage="render", progress=0.5,
                       log_messages=[["2025-01-01T04:00:00+00:00", "rendering"]])
    page = studio.open("/", studio.context(language="en", timezone_id="Europe/Berlin"))
    expect(page.locator("#queue-list")).to_contain_text("[05:00:00] rendering")
    expect(watched_in_a_card(page, "render_1").locator(".log")).to_have_text("[05:00:00] rendering")
    assert studio.errors == []


def test_a_long_choice_is_readable_in_full_at_phone_width(studio):
    """A closed select cannot wrap: at 390 px a model's name with its figures was cut off after a few words."""
    context = studio.context(viewport=PHONE)
    model = {"name": "m1", "type": "EchoLite", "path": "media/models/EchoLite/m1", "label": "小明在办公室讲解新产品 v12 (EchoLite)",
             "metrics": {"mouth_psnr": 31.2, "mouth_ssim": 0.912, "sync_correlation": 0.81}}
    answer_with(context, {"/api/available-models": (200, {"status": "success", "models": [model],
                                                          "engines": [{"type": "EchoLite", "available": True, "reason": ""}]})})
    page = studio.open("/generate/", context)
    chosen = page.locator("#gen-model option:checked").text_content()
    assert chosen.startswith("小明在办公室讲解新产品 v12 (EchoLite) · PSNR 31.2 dB")
    in_full = page.locator("#gen-model + .chosen-in-full")
    expect(in_full).to_be_visible()
    expect(in_full).to_have_text(chosen)
    box = in_full.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]  # wrapped within the screen
    expect(page.locator("#gen-device + .chosen-in-full")).to_be_hidden()  # a choice that fits is not repeated
    page.get_by_label("文本", exact=True).check()  # a select shown later is measured then
    expect(page.locator("#gen-speaker + .chosen-in-full")).to_be_hidden()
    screenshot(page, "generate-phone-long-choice")
    assert not overflows_horizontally(page)
    assert [error for error in studio.errors if "status of 404" not in error] == []
