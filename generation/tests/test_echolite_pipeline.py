"""The EchoLite path through the API: upload -> probe -> train -> list -> render -> history."""
import pytest

from assets.models import GeneratedAudio, TrainingVideo
from engines import media
from engines.testing.face_video import make_talking_face_video, write_speech_wav
from generation.models import GeneratedVideo
from monitoring.models import Job
from training.models import TalkingHeadModel

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_upload_train_render_through_the_api(client, tmp_path, media_root):
    video = make_talking_face_video(tmp_path / "小明.mp4", seconds=12, size=256, seed=4)
    with open(video, "rb") as handle:
        uploaded = client.post("/api/upload-training-video", {"video": handle}).json()
    assert uploaded["status"] == "success"
    row = TrainingVideo.objects.get()
    assert row.probe_status == "ok" and row.probe["usable"] is True
    assert row.probe["one_face_share"] > 0.9
    listed = client.get("/api/training-videos").json()["files"][0]
    assert listed["probe"]["errors"] == [] and listed["probe_status"] == "ok"

    started = client.post("/model_training", {
        "model_choice": "EchoLite", "ref_video": uploaded["relative_path"], "gpu_choice": "GPU0",
        "epoch": "2", "custom_params": "lr=0.003,batch_size=16",
    })
    body = started.json()
    assert started.status_code == 200 and body["status"] == "success" and body["message"] == "模型训练开始"
    status = client.get(f"/api/train-status/{body['task_id']}").json()
    assert status["state"] == "succeeded", status
    assert status["progress"] == 1.0 and status["model_path"].startswith("media/models/EchoLite/")
    assert any("CUDA" in line or "cuda" in line for line in status["log_tail"])  # GPU0 asked, CPU used, said so

    model = TalkingHeadModel.objects.get()
    assert model.person == "小明" and model.version == 1 and model.size > 0
    assert {"mouth_psnr", "mouth_ssim", "sync_correlation", "sync_offset_frames"} <= set(model.metrics)
    assert model.params["custom_params"] == {"lr": "0.003", "batch_size": "16"}
    assert model.metrics["epochs"] == 2, "the contract's epoch count is honoured"
    models = client.get("/api/available-models").json()["models"]
    assert models[0]["path"] == status["model_path"] and models[0]["type"] == "EchoLite"
    details = client.get(f"/api/model-details/EchoLite/{model.name}").json()["model_details"]
    assert details["metrics"]["mouth_psnr"] == model.metrics["mouth_psnr"]
    assert any(entry["filename"] == "weights.pt" for entry in details["files"])

    speech = write_speech_wav(tmp_path / "answer.wav", seconds=3.0, seed=5)
    with open(speech, "rb") as handle:
        audio = client.post("/api/upload-reference-audio", {"audio": handle}).json()
    rendered = client.post("/video_generation", {
        "model_name": "EchoLite", "model_param": status["model_path"], "ref_audio": audio["relative_path"], "gpu_choice": "GPU0",
    })
    result = rendered.json()
    assert rendered.status_code == 200, result
    assert result["status"] == "success" and result["message"] == "视频生成成功" and result["task_id"].startswith("render_")
    assert result["video_path"].startswith("media/videos/res_videos/")
    info = media.verify(media_root / result["video_path"].removeprefix("media/"), "video")
    assert (info.width, info.height, info.fps) == (256, 256, 25.0) and info.has_audio
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert media.container_comment(media_root / result["video_path"].removeprefix("media/")) == media.AI_GENERATED
    served = client.get("/" + result["video_path"], HTTP_RANGE="bytes=0-99")
    assert served.status_code == 206
    generated = GeneratedVideo.objects.get()
    assert generated.model == model and generated.frames == 75 and generated.timings["total"] > 0

    history = client.get("/api/history/video_generation").json()
    assert history[0]["video_path"] == result["video_path"] and history[0]["task_id"] == result["task_id"]

    # Text instead of audio: spoken in a voice cloned from the uploaded speech, then rendered.
    reference = write_speech_wav(tmp_path / "voice.wav", seconds=6.0, seed=8)
    with open(reference, "rb") as handle:
        voice = client.post("/api/upload-reference-audio", {"audio": handle}).json()
    cloned = client.post("/audio_clone", {"original_audio_path": voice["relative_path"], "target_audio_id": "xiaoming"})
    assert cloned.json()["status"] == "success", cloned.json()
    spoken = client.post("/video_generation", {
        "model_name": "EchoLite", "model_param": status["model_path"], "target_text": "你好，我是小明。Nice to meet you!",
        "speaker_id": "xiaoming", "pitch": "1", "room_tone": "true",
    }).json()
    assert spoken["status"] == "success", spoken
    speech_row = GeneratedAudio.objects.get()
    assert speech_row.speaker.speaker_id == "xiaoming" and speech_row.text.startswith("你好")
    assert not speech_row.room_tone and "no room tone laid: its recording has no audible background" in Job.objects.get(pk=spoken["task_id"]).log, \
        "asked for, but the espeak reference's pauses are digital silence"
    spoken_video = media.verify(media_root / spoken["video_path"].removeprefix("media/"), "video")
    assert spoken_video.duration == pytest.approx(speech_row.duration, abs=0.1)
    unknown = client.post("/video_generation", {"model_name": "EchoLite", "model_param": status["model_path"],
                                                 "target_text": "hi", "speaker_id": "nobody"})
    assert unknown.status_code == 400 and "未知的说话人" in unknown.json()["message"]

    # Retraining the same person makes version 2 in a new directory; version 1 is kept.
    again = client.post("/model_training", {"model_choice": "EchoLite", "ref_video": uploaded["relative_path"], "epoch": "1"}).json()
    assert client.get(f"/api/train-status/{again['task_id']}").json()["state"] == "succeeded"
    versions = sorted(TalkingHeadModel.objects.values_list("version", flat=True))
    assert versions == [1, 2] and all(m.exists() for m in TalkingHeadModel.objects.all())
