import pytest
from django.core.management import CommandError, call_command

from assets.models import ReferenceAudio, TrainingVideo

pytestmark = pytest.mark.django_db


def test_scan_media_catalogs_dropped_files_and_skips_bad_ones(media_root, wav_file, plain_video, capsys):
    (media_root / "voices/ref_voices/dropped.wav").write_bytes(wav_file.read_bytes())
    (media_root / "voices/ref_voices/broken.wav").write_bytes(b"garbage" * 100)
    (media_root / "videos/ref_videos/dropped.mp4").write_bytes(plain_video.read_bytes())
    call_command("scan_media", "--no-probe")
    out = capsys.readouterr().out
    assert "added    media/voices/ref_voices/dropped.wav" in out
    assert "skipped  media/voices/ref_voices/broken.wav" in out
    audio = ReferenceAudio.objects.get()
    assert audio.source == "scan" and audio.duration == pytest.approx(1.5, abs=0.05)
    assert TrainingVideo.objects.get().width == 64
    call_command("scan_media", "--no-probe")  # idempotent
    assert ReferenceAudio.objects.count() == 1 and TrainingVideo.objects.count() == 1


def test_chat_answers_are_not_taken_for_files_dropped_in_by_hand(media_root, wav_file, plain_video):
    from assets.models import GeneratedAudio
    from chat.models import Conversation, Turn
    from generation.models import GeneratedVideo

    turn = Turn.objects.create(conversation=Conversation.objects.create(), input_text="hi", status=Turn.Status.SUCCEEDED,
                               reply_audio="voices/res_voices/chat_m_1_1.wav", reply_video="videos/res_videos/chat_m_1_1.mp4")
    (media_root / turn.reply_audio.name).write_bytes(wav_file.read_bytes())
    (media_root / turn.reply_video.name).write_bytes(plain_video.read_bytes())
    call_command("scan_media", "--no-probe")
    assert not GeneratedAudio.objects.exists() and not GeneratedVideo.objects.exists()  # they stay the turn's


def test_scan_media_reports_and_prunes_vanished_files(client, media_root, wav_file, capsys):
    (media_root / "voices/ref_voices/gone.wav").write_bytes(wav_file.read_bytes())
    (media_root / "voices/ref_voices/kept.wav").write_bytes(wav_file.read_bytes())
    call_command("scan_media", "--no-probe")
    (media_root / "voices/ref_voices/gone.wav").unlink()
    assert client.get("/api/reference-audios").json()["total_count"] == 1
    call_command("scan_media", "--no-probe", "--prune")
    assert "missing  reference audio" in capsys.readouterr().out
    assert [row.filename for row in ReferenceAudio.objects.all()] == ["kept.wav"]


def test_pruning_against_a_media_folder_that_holds_none_of_the_catalog_deletes_nothing(media_root, wav_file, settings, tmp_path):
    """A wrong ECHOFU_MEDIA_ROOT (a cron job without the studio's environment) or a volume not mounted
    yet reads as every file vanished: pruning would have emptied the catalog and its consent records."""
    from training.models import TalkingHeadModel

    (media_root / "voices/ref_voices/voice.wav").write_bytes(wav_file.read_bytes())
    (media_root / "models/EchoLite/speaker").mkdir(parents=True)
    (media_root / "models/EchoLite/speaker/weights.pt").write_bytes(b"\0" * 64)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="speaker")
    call_command("scan_media", "--no-probe")
    assert ReferenceAudio.objects.count() == 1

    settings.MEDIA_ROOT = tmp_path / "unmounted"
    with pytest.raises(CommandError, match="none of the 2 catalogued files or models is in .*unmounted.*nothing was pruned"):
        call_command("scan_media", "--no-probe", "--prune")
    assert ReferenceAudio.objects.count() == 1 and TalkingHeadModel.objects.count() == 1


def test_model_directories_copied_in_by_hand_are_discovered(media_root):
    import json

    from training.models import TalkingHeadModel

    handmade = media_root / "models/ER-NeRF/obama_v1"
    (handmade / "checkpoints").mkdir(parents=True)
    (handmade / "checkpoints/torso.pth").write_bytes(b"\0" * 64)
    (handmade / "ernerf.json").write_text(json.dumps({"model_type": "ER-NeRF", "checkpoint": "checkpoints/torso.pth"}))
    (media_root / "models/ER-NeRF/not_a_model").mkdir()
    (media_root / "models/ER-NeRF/not_a_model/readme.txt").write_text("notes")
    call_command("scan_media", "--no-probe")
    model = TalkingHeadModel.objects.get()
    assert (model.model_type, model.name, model.source) == ("ER-NeRF", "obama_v1", "scan")
    assert model.file_count == 2 and model.size > 64


def test_pruning_keeps_an_upload_row_whose_models_rest_on_its_consent(media_root, plain_video, capsys):
    from training.models import TalkingHeadModel

    (media_root / "videos/ref_videos/speaker.mp4").write_bytes(plain_video.read_bytes())
    call_command("scan_media", "--no-probe")
    video = TrainingVideo.objects.get()
    (media_root / "models/EchoLite/speaker").mkdir(parents=True)
    (media_root / "models/EchoLite/speaker/weights.pt").write_bytes(b"\0" * 64)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="speaker", source_video=video)
    (media_root / "videos/ref_videos/speaker.mp4").unlink()  # removed from disk to save space

    call_command("scan_media", "--no-probe", "--prune")
    assert "missing  training video" in (out := capsys.readouterr().out) and "row kept: 1 model(s)" in out
    # deleting the row would have deleted the model made from it, with its folder
    assert TrainingVideo.objects.get() == video and TalkingHeadModel.objects.get().source_video == video
    assert (media_root / "models/EchoLite/speaker/weights.pt").is_file()


def test_scan_media_skips_what_an_upload_would_refuse(media_root, plain_video, tmp_path, settings, capsys):
    """A file dropped in by hand becomes an upload: frames over ECHOFU_MAX_VIDEO_SIDE, or sound running far past
    any length the file declares, are skipped as the upload check refuses them."""
    from engines.testing.simple_media import declare_matroska_duration, write_matroska_video

    settings.ECHOFU = {**settings.ECHOFU, "MAX_VIDEO_SIDE": 60}
    (media_root / "videos/ref_videos/wide.mp4").write_bytes(plain_video.read_bytes())
    declare_matroska_duration(write_matroska_video(media_root / "videos/ref_videos/long_sound.mkv", sound_seconds=60.0, size=(32, 32)), 1.0)
    call_command("scan_media", "--no-probe")
    out = capsys.readouterr().out
    assert "skipped  media/videos/ref_videos/wide.mp4: the video's frames are too large: 64 x 48 pixels, at most 60 on a side" in out
    assert "skipped  media/videos/ref_videos/long_sound.mkv: the file holds more than it declares" in out
    assert not TrainingVideo.objects.exists()
