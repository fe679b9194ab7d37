"""What the render history tells the pages about each video's speech."""
import pytest

from accounts.tests.conftest import upload_audio
from assets.models import ReferenceAudio
from generation.models import GeneratedVideo

pytestmark = pytest.mark.django_db


def test_a_render_from_an_upload_names_the_audio_as_it_was_uploaded(client, media_root, wav_file):
    # Stored renamed (another upload took its name first, or its name was not a safe file name):
    # the history's title read the stored name, which the user never gave.
    assert upload_audio(client, wav_file).status_code == 200
    reference = ReferenceAudio.objects.get()
    ReferenceAudio.objects.filter(pk=reference.pk).update(file="voices/ref_voices/sample_3.wav")
    GeneratedVideo.objects.create(file="videos/res_videos/v.mp4", audio_path="voices/ref_voices/sample_3.wav")
    GeneratedVideo.objects.create(file="videos/res_videos/t.mp4", text="你好")

    entries = {entry["video_path"]: entry for entry in client.get("/api/history/video_generation").json()}
    from_upload, from_text = entries["media/videos/res_videos/v.mp4"], entries["media/videos/res_videos/t.mp4"]
    assert from_upload["audio_path"] == "media/voices/ref_voices/sample_3.wav"  # the contract's path, as before
    assert from_upload["audio_name"] == "声音 sample.wav"
    assert from_text["audio_name"] == ""
