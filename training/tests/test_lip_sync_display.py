"""The held-out lip-sync figures next to the loop baseline, in model-details and the admin; the estimate before a job."""
import pytest

from assets.models import TrainingVideo
from training import jobs
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db

WEAK_MODEL_METRICS = {
    "mouth_ssim": 0.70, "mouth_psnr": 21.5, "lmd": 19.0, "lip_opening_r": 0.05, "mouth_sharpness": 0.44, "mouth_shimmer": 2.1,
    "loop_mouth_ssim": 0.72, "loop_mouth_psnr": 23.7, "loop_lmd": 12.1, "loop_lip_opening_r": -0.07, "loop_mouth_sharpness": 1.02,
    "loop_mouth_shimmer": 1.3, "beats_loop": False,
    "verdict": "the lips do not beat the looped training frames (lip-opening r 0.05 vs -0.07, LMD 19.0 vs 12.1)",
    "audio_delay_frames": 6, "audio_delay_found": True, "audio_delay_basis": "speech content",
}


@pytest.fixture
def weak_model(media_root):
    directory = media_root / "models/EchoLite/train_20250101_120000"
    directory.mkdir(parents=True)
    (directory / "weights.pt").write_bytes(b"\x00" * 64)
    return TalkingHeadModel.objects.create(model_type="EchoLite", name="train_20250101_120000", person="person",
                                           size=64, file_count=1, metrics=WEAK_MODEL_METRICS,
                                           warnings=[WEAK_MODEL_METRICS["verdict"]])


def test_model_details_show_the_figures_next_to_the_loop_and_the_verdict(client, weak_model):
    details = client.get(f"/api/model-details/EchoLite/{weak_model.name}").json()["model_details"]
    evaluation = details["self_evaluation"]
    assert evaluation["model"] == {"mouth_ssim": 0.70, "mouth_psnr": 21.5, "lmd": 19.0, "lip_opening_r": 0.05, "mouth_sharpness": 0.44,
                                   "mouth_shimmer": 2.1}
    assert evaluation["loop"] == {"mouth_ssim": 0.72, "mouth_psnr": 23.7, "lmd": 12.1, "lip_opening_r": -0.07, "mouth_sharpness": 1.02,
                                  "mouth_shimmer": 1.3}
    assert evaluation["beats_loop"] is False and "do not beat the looped" in evaluation["verdict"]
    assert evaluation["audio_delay_frames"] == 6 and evaluation["audio_delay_basis"] == "speech content"


def test_models_trained_before_the_full_frame_evaluation_have_none(client, media_root):
    directory = media_root / "models/EchoLite/old"
    directory.mkdir(parents=True)
    (directory / "weights.pt").write_bytes(b"\x00")
    TalkingHeadModel.objects.create(model_type="EchoLite", name="old", person="old", size=1, file_count=1,
                                    metrics={"mouth_psnr": 30.5})
    assert client.get("/api/model-details/EchoLite/old").json()["model_details"]["self_evaluation"] is None


def test_admin_lists_the_loop_baseline_and_says_when_the_model_does_not_beat_it(admin_client, weak_model):
    chinese = admin_client.get("/admin/training/talkingheadmodel/").content.decode()
    assert "19.0 (循环 12.1)" in chinese and "+6 帧 (依据语音内容)" in chinese and "口型 PSNR" in chinese
    admin_client.cookies["django_language"] = "en"
    listing = admin_client.get("/admin/training/talkingheadmodel/").content.decode()
    assert "19.0 (loop 12.1)" in listing and "0.05 (loop -0.07)" in listing and "+6 frames (by speech content)" in listing
    assert "0.44 (loop 1.02)" in listing, "mouth detail against the real frames"
    assert "2.10 (loop 1.30)" in listing, "mouth shimmer next to the loop's"
    page = admin_client.get(f"/admin/training/talkingheadmodel/{weak_model.pk}/change/").content.decode()
    assert "do not beat the looped training frames" in page


def test_training_job_shows_its_estimated_duration_before_it_starts(media_root):
    from engines.testing.simple_media import write_plain_video

    write_plain_video(media_root / "videos/ref_videos/person.mp4", seconds=1.0)
    video = TrainingVideo.objects.create(file="videos/ref_videos/person.mp4", original_name="person.mp4", size=1,
                                         duration=60.0, probe_status=TrainingVideo.ProbeStatus.OK)
    default = jobs.prepare_training("EchoLite", video, "cpu", None, {})
    longer = jobs.prepare_training("EchoLite", video, "cpu", 60, {})
    assert default.status == default.Status.QUEUED and "estimated duration: about" in default.log
    assert 60 < default.eta_seconds < 300 and default.params["estimated_seconds"] == round(default.eta_seconds)
    assert longer.eta_seconds > 2 * default.eta_seconds


def test_a_trained_models_verdict_is_read_in_the_pages_language(client, media_root, tmp_path):
    """The verdict is kept as its template when the model is registered: model-details showed it in
    English on the Chinese page (its warnings were already translated)."""
    from engines.talking_head.echolite import evaluate
    from training import registry

    def figures(lmd, opening_r):
        return evaluate.LipFigures(0.75, 23.0, lmd, opening_r, 0, 0.4, 1.0, 75, None)

    beats, verdict = evaluate.verdict(figures(19.0, 0.05), figures(12.1, -0.07))
    built = tmp_path / "built"
    built.mkdir()
    (built / "weights.pt").write_bytes(b"\x00")
    model = registry.register("EchoLite", "weak", built, person="anna",
                              metrics={**WEAK_MODEL_METRICS, "verdict": verdict, "beats_loop": beats}, warnings=[])

    def shown(language):
        client.cookies["django_language"] = language
        details = client.get(f"/api/model-details/EchoLite/{model.name}").json()["model_details"]
        return details["self_evaluation"]["verdict"], details["metrics"]["verdict"], details["metrics"]["lmd"]

    chinese, english = shown("zh-hans"), shown("en")
    assert chinese[0].startswith("口型没有胜过循环播放的训练帧 (开口相关 r 0.05 对 -0.07") and chinese[1] == chinese[0]
    assert english[0].startswith("the lips do not beat the looped training frames (") and english[1] == english[0]
    assert chinese[2] == english[2] == 19.0


def test_the_admin_says_a_delay_that_was_not_found_corrected_nothing(admin_client, weak_model):
    weak_model.metrics = {**WEAK_MODEL_METRICS, "audio_delay_frames": 0, "audio_delay_found": False}
    weak_model.save()
    listing = admin_client.get("/admin/training/talkingheadmodel/").content.decode()
    assert "未找到 (未校正)" in listing and "+0 帧" not in listing
