"""Form paths resolve only inside the media root, whatever spelling the frontend uses."""
import pytest

from echofu import paths
from echofu.uploads import safe_filename


@pytest.fixture
def stored(media_root):
    path = media_root / "voices/ref_voices/a.wav"
    path.write_bytes(b"x")
    return path


@pytest.mark.parametrize(
    "spelling",
    [
        "media/voices/ref_voices/a.wav",
        "/media/voices/ref_voices/a.wav",
        "static/voices/ref_voices/a.wav",
        "/static/voices/ref_voices/a.wav",
        "EchOfU/static/voices/ref_voices/a.wav",
        "voices/ref_voices/a.wav",
        " media/voices/ref_voices/a.wav ",
    ],
)
def test_every_spelling_maps_to_the_same_file(stored, spelling):
    assert paths.resolve_request_path(spelling) == "voices/ref_voices/a.wav"


def test_absolute_path_inside_media_is_accepted(stored):
    assert paths.resolve_request_path(str(stored)) == "voices/ref_voices/a.wav"


@pytest.mark.parametrize(
    "bad, reason",
    [("", "path is empty"), ("   ", "path is empty"), ("/etc/passwd", "file does not exist"),  # read as media/etc/passwd
     ("../../etc/passwd", "outside the media folder"), ("media/../../etc/passwd", "outside the media folder"),
     ("static/../../../etc/passwd", "outside the media folder"), ("voices\\..\\..\\x", "characters that are not allowed"),
     ("a\x00b", "characters that are not allowed"), ("tmp/uploads/x", "does not name a stored file"),
     ("media/", "does not name a stored file"), ("media/tmp/jobs", "does not name a stored file")],
)
def test_everything_else_is_rejected(stored, bad, reason):
    with pytest.raises(paths.PathRejected, match=reason):
        paths.resolve_request_path(bad)


def test_missing_file_rejected_only_when_it_must_exist(media_root):
    with pytest.raises(paths.PathRejected):
        paths.resolve_request_path("media/voices/ref_voices/none.wav")
    assert paths.resolve_request_path("media/voices/ref_voices/none.wav", must_exist=False) == "voices/ref_voices/none.wav"


def test_symlink_escaping_media_is_rejected(media_root, tmp_path):
    outside = tmp_path / "outside.wav"
    outside.write_bytes(b"x")
    (media_root / "voices/ref_voices/link.wav").symlink_to(outside)
    with pytest.raises(paths.PathRejected):
        paths.resolve_request_path("media/voices/ref_voices/link.wav")


def test_models_spelling(media_root):
    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    assert paths.resolve_request_path("models/EchoLite/m1") == "models/EchoLite/m1"
    assert paths.resolve_request_path("static/models/EchoLite/m1") == "models/EchoLite/m1"


@pytest.mark.parametrize(
    "original, expected",
    [("我的 声音.WAV", "我的_声音.wav"), ("../../x.mp3", "x.mp3"), ("a<b>|c.wav", "a_b_c.wav"), ("...", "file"), (".wav", "file.wav"), (".hidden.wav", "hidden.wav"),
     ("视频.mp4", "视频.mp4"),
     ("视" * 100 + ".mp4", "视" * 80 + ".mp4"), ("\U00020000" * 100 + ".wav", "\U00020000" * 60 + ".wav")],
)
def test_safe_filename(original, expected):
    assert safe_filename(original) == expected


@pytest.mark.parametrize("relative, recording", [
    ("audios/input.wav", True),  # single-user mode's recording
    ("audios/u3/input.wav", True),  # an account's
    ("audios", False),
    ("audiosx/input.wav", False),
    ("voices/ref_voices/audios/input.wav", False),
])
def test_recordings_are_the_files_under_the_recordings_folder(relative, recording):
    assert paths.is_recording(relative) is recording
