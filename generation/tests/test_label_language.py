"""The "AI generated" plate reads in the language of the page that asked for the render (Chinese by
default, English where the visitor chose it), whichever language the worker runs in; where no font on
the server draws Chinese, the video is labelled in English and the job's log says why."""
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import translation

from chat.tests.conftest import QuickRenderer
from engines import media, provenance
from generation import jobs
from monitoring import runner
from monitoring.models import Job
from provenance.models import ProvenanceRecord

pytestmark = pytest.mark.django_db

WIDTH, HEIGHT = 64, 48  # QuickRenderer's frames; its first frame is black


@pytest.fixture(autouse=True)
def quick_renderer(monkeypatch, settings):
    settings.ECHOFU = {**settings.ECHOFU, "VIDEO_LABEL": True, "LABEL_FONT": ""}
    monkeypatch.setattr(jobs, "get_engine", lambda model_type: QuickRenderer())


def first_frame(media_root, job: Job) -> np.ndarray:
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return next(media.iter_video_frames(media_root / job.result["video_path"].removeprefix("media/"))).astype(int)


def plate(text: provenance.LabelText) -> np.ndarray:
    """The first frame as that label draws it."""
    return provenance.Label(WIDTH, HEIGHT, text).draw(np.zeros((HEIGHT, WIDTH, 3), np.uint8)).astype(int)


def nearer(frame: np.ndarray) -> str:
    """Which plate the encoded frame shows: the Chinese one or the English one."""
    chinese = provenance.label_text("AI 生成")
    assert chinese is not None  # run.sh installs fonts-noto-cjk for the tests
    return min((np.abs(frame - plate(chinese)).mean(), "zh-hans"), (np.abs(frame - plate(provenance.LabelText())).mean(), "en"))[1]


def render(client, language: str) -> Job:
    client.cookies["django_language"] = language
    body = client.post("/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/m1",
                                             "ref_audio": "media/voices/ref_voices/ref.wav"}).json()
    assert body["status"] == "success", body
    return Job.objects.get(pk=body["task_id"])


def test_a_render_asked_from_the_chinese_page_is_labelled_in_chinese_and_from_the_english_one_in_english(client, model, reference,
                                                                                                          media_root):
    chinese, english = render(client, "zh-hans"), render(client, "en")
    assert chinese.params["label_language"] == "zh-hans" and english.params["label_language"] == "en"
    chinese_frame, english_frame = first_frame(media_root, chinese), first_frame(media_root, english)
    assert np.abs(chinese_frame - english_frame).max() > 100  # other letters on the plate
    assert nearer(chinese_frame) == "zh-hans" and nearer(english_frame) == "en"
    assert all(ProvenanceRecord.objects.filter(job__in=[chinese, english]).values_list("label", flat=True))


def test_a_job_queued_from_the_chinese_page_is_labelled_in_chinese_by_a_worker_running_in_english(model, reference, media_root):
    with translation.override("zh-hans"):
        job = jobs.prepare_render(model, "cpu", audio_path=reference.file.name)
    with translation.override("en"):
        runner.execute(job.pk)
    assert nearer(first_frame(media_root, job)) == "zh-hans"


def counted_font_lookups(monkeypatch) -> list[str]:
    """The texts fontconfig is asked to find a font for, each lookup a process that may wait its full timeout."""
    lookups, lookup = [], provenance.fontconfig_font

    def counted(text):
        lookups.append(text)
        return lookup(text)

    monkeypatch.setattr(provenance, "fontconfig_font", counted)
    return lookups


def test_a_render_looks_for_its_labels_font_once_and_publishes_the_label_it_found(client, model, reference, media_root, monkeypatch):
    """The engine's frames and publishing's plate are the one label the job decided on (a lookup that
    failed the second time would label in English with no log line saying so, or wait on a hung fc-match again)."""
    lookups = counted_font_lookups(monkeypatch)
    frame = first_frame(media_root, render(client, "zh-hans"))
    assert lookups == ["AI 生成"]
    assert nearer(frame) == "zh-hans"


def test_a_damaged_label_font_leaves_the_render_to_the_font_fontconfig_finds(client, model, reference, media_root, settings, tmp_path):
    """ECHOFU_LABEL_FONT naming a file that loads but fails as it draws: the render is not failed by it."""
    from engines.tests.test_provenance import damaged_copy

    settings.ECHOFU = {**settings.ECHOFU, "LABEL_FONT": str(damaged_copy(provenance.fontconfig_font("AI generated"), tmp_path))}
    job = render(client, "zh-hans")
    assert nearer(first_frame(media_root, job)) == "zh-hans" and "no font on this server" not in job.log


def test_without_a_font_for_chinese_the_video_is_labelled_in_english_and_the_log_says_why(client, model, reference, media_root,
                                                                                          monkeypatch, settings, tmp_path):
    not_a_font = tmp_path / "cjk.ttf"
    not_a_font.write_bytes(b"not a font")
    settings.ECHOFU = {**settings.ECHOFU, "LABEL_FONT": str(not_a_font)}
    monkeypatch.setattr(provenance, "fontconfig_font", lambda text: None)  # no fontconfig, or no CJK font it knows
    job = render(client, "zh-hans")
    frame = first_frame(media_root, job)
    monkeypatch.undo()
    assert nearer(frame) == "en" and np.abs(frame - plate(provenance.LabelText())).mean() < 4  # labelled, in English
    assert "no font on this server draws the label" in job.log and "labelled in English" in job.log
    assert ProvenanceRecord.objects.get(job=job).label


@pytest.mark.django_db(transaction=True)  # the command runs its job in a worker thread
@pytest.mark.parametrize("arguments, language", [([], "zh-hans"), (["--label-language", "en"], "en")])
def test_the_render_command_labels_in_the_studios_language_unless_told_another(model, reference, media_root, arguments, language):
    call_command("render", "media/models/EchoLite/m1", "--audio", "media/voices/ref_voices/ref.wav", *arguments, stdout=StringIO())
    job = Job.objects.get()
    assert job.params["label_language"] == language and nearer(first_frame(media_root, job)) == language
