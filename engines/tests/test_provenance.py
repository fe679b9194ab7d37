"""Provenance in files: the record, the visible label, and an audio marker that survives MP3/AAC."""
import struct
from pathlib import Path

import numpy as np
import pytest

from engines import media, provenance
from engines.testing.simple_media import transcode_audio, write_plain_video
from engines.testing.voices import other_speaker

KEY = "test-key"


@pytest.fixture(scope="module")
def speech():
    return other_speaker("Please call Stella. Ask her to bring these things with her from the store.")


@pytest.fixture
def marked_wav(tmp_path, speech):
    path = tmp_path / "speech.wav"
    media.write_wav(path, speech, 16000)
    provenance.finish_audio(path, provenance.Record(kind="audio", request_id="tts_1", voice_id="anna v1"), KEY)
    return path


def test_marker_is_quiet_and_keyed(speech):
    marked = provenance.embed_marker(speech, 16000, KEY)
    noise = marked - speech
    assert 10 * np.log10(np.sum(speech ** 2) / np.sum(noise ** 2)) > 20  # at least 20 dB under the speech
    assert provenance.detect_marker(marked, 16000, KEY).found
    assert not provenance.detect_marker(marked, 16000, "another-key").found
    assert not provenance.detect_marker(speech, 16000, KEY).found


@pytest.mark.parametrize("codec,bitrate", [("mp3", 64_000), ("mp3", 128_000), ("aac", 64_000), ("aac", 128_000)])
def test_marker_survives_reencoding_and_clean_audio_stays_clean(tmp_path, marked_wav, speech, codec, bitrate):
    reencoded = transcode_audio(marked_wav, tmp_path / f"copy.{codec}", codec, bitrate)
    found = provenance.detect_marker_in_file(reencoded, KEY)
    assert found.found and found.score > provenance.DETECTION_THRESHOLD, found
    assert provenance.read_record(reencoded) is None  # the metadata did not survive; the marker did
    clean = tmp_path / "clean.wav"
    media.write_wav(clean, speech, 16000)
    assert not provenance.detect_marker_in_file(transcode_audio(clean, tmp_path / f"clean.{codec}", codec, bitrate), KEY).found


def test_wav_record_round_trip_and_file_stays_valid(marked_wav):
    record = provenance.read_record(marked_wav)
    assert record.request_id == "tts_1" and record.voice_id == "anna v1" and record.generator == "EchOfU"
    assert record.notice == media.AI_GENERATED
    info = media.verify(marked_wav, "audio")  # a valid, complete WAV after the INFO chunk was added
    assert info.duration > 3
    assert media.probe(marked_wav).sample_rate == 16000


def test_finished_video_has_label_record_comment_and_marker(tmp_path, speech):
    source = tmp_path / "render.mp4"
    with media.VideoWriter(source, 320, 240, audio=speech, audio_rate=16000, comment=media.AI_GENERATED) as writer:
        for index in range(int(len(speech) / 16000 * 25)):
            writer.write(np.full((240, 320, 3), 40 + index % 5, dtype=np.uint8))
    record = provenance.Record(kind="video", request_id="render_1", model_id="EchoLite/m1", sources=["media/videos/ref_videos/a.mp4"])
    labelled = provenance.finish_video(source, tmp_path / "labelled.mp4", record, KEY, label=provenance.LabelText())
    plain = provenance.finish_video(source, tmp_path / "plain.mp4", record, KEY, label=None)
    assert media.container_comment(labelled) == media.AI_GENERATED
    assert provenance.read_record(labelled) == record
    assert provenance.detect_marker_in_file(labelled, KEY).found
    x, y, w, h = provenance.Label(320, 240).region
    assert x + w > 300 and y + h > 220  # bottom-right corner
    frame = next(media.iter_video_frames(labelled)).astype(int)
    unlabelled = next(media.iter_video_frames(plain)).astype(int)
    corner = np.abs(frame[y:y + h, x:x + w] - unlabelled[y:y + h, x:x + w])
    assert corner.max() > 100  # white text on the plate
    assert np.abs(frame[: y - 4] - unlabelled[: y - 4]).max() < 8  # the rest of the picture is untouched


CHINESE = "AI 生成"  # the catalog's translation of "AI generated"


def test_a_chinese_label_is_drawn_in_a_font_that_has_its_glyphs_not_as_boxes():
    """fonts-noto-cjk (run.sh installs it for the tests) or any CJK font fontconfig knows."""
    label = provenance.label_text(CHINESE)
    assert label is not None and label.text == CHINESE and provenance.draws(label.font, CHINESE)
    background = np.full((240, 320, 3), 90, np.uint8)
    chinese = provenance.Label(320, 240, label).draw(background)
    english = provenance.Label(320, 240).draw(background)
    assert np.abs(chinese.astype(int) - english.astype(int)).max() > 100  # other letters in the corner
    boxes = provenance.Label(320, 240, provenance.LabelText(CHINESE)).draw(background)  # PIL's own font: no CJK glyphs
    assert np.abs(chinese.astype(int) - boxes.astype(int)).max() > 100
    x, y, w, h = provenance.Label(320, 240, label).region
    assert x + w > 300 and y + h > 220 and (chinese[: y - 1] == background[: y - 1]).all()  # a corner plate, nothing else


def damaged_copy(font_path: str, folder: Path) -> Path:
    """A copy of the TrueType font whose glyph outlines are overwritten: it loads, and fails as it draws."""
    data = bytearray(Path(font_path).read_bytes())
    tables = struct.unpack(">H", data[4:6])[0]
    for entry in range(12, 12 + 16 * tables, 16):
        if data[entry:entry + 4] == b"glyf":
            offset, length = struct.unpack(">II", data[entry + 8:entry + 16])
            data[offset:offset + length] = b"," * length
    damaged = folder / "damaged.ttf"
    damaged.write_bytes(bytes(data))
    return damaged


def test_without_a_font_that_draws_it_a_label_in_another_script_is_not_offered(tmp_path, monkeypatch):
    """A configured path that is no font, or a damaged one, and fontconfig absent or finding only Latin
    fonts: the caller labels in English (rather than the job failing on the font)."""
    from PIL import ImageFont

    latin = provenance.fontconfig_font("AI generated")  # Debian's default sans-serif for Latin text, DejaVu Sans
    assert latin is not None and provenance.draws(latin, "AI generated") and not provenance.draws(latin, CHINESE)
    not_a_font = tmp_path / "font.ttf"
    not_a_font.write_bytes(b"not a font")
    damaged = damaged_copy(latin, tmp_path)
    with pytest.raises(OSError):  # it loads, then fails on its outlines
        ImageFont.truetype(str(damaged), 24).getmask("A")
    monkeypatch.setattr(provenance, "fontconfig_font", lambda text: None)
    for configured in (latin, str(not_a_font), str(damaged), str(tmp_path / "missing.ttf")):
        assert provenance.label_text(CHINESE, configured) is None, configured
    assert not provenance.draws(str(damaged), "AI generated")
    assert provenance.label_text("AI generated", str(not_a_font)) == provenance.LabelText()  # ASCII: PIL's own font draws it


def test_frames_labelled_already_are_not_labelled_twice_when_they_must_be_encoded_again(tmp_path, speech):
    import av

    source = tmp_path / "render.mkv"  # labelled as drawn, but not H.264: the frames cannot be copied
    with av.open(str(source), "w") as output:
        stream = output.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(25):
            frame = av.VideoFrame.from_ndarray(provenance.Label(320, 240).draw(np.full((240, 320, 3), 90, np.uint8)), format="rgb24")
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    record = provenance.Record(kind="video", request_id="render_1", model_id="EchoLite/m1")
    finished = provenance.finish_video(source, tmp_path / "finished.mp4", record, KEY, label=provenance.LabelText(), labelled=True)
    x, y, w, h = provenance.Label(320, 240).region
    before = next(media.iter_video_frames(source)).astype(int)[y:y + h, x:x + w]
    after = next(media.iter_video_frames(finished)).astype(int)[y:y + h, x:x + w]
    assert np.abs(after.mean() - before.mean()) < 4  # one plate, not a second one darkening it


def test_record_ignores_foreign_metadata(tmp_path):
    video = write_plain_video(tmp_path / "clip.mp4")
    assert provenance.read_record(video) is None
    assert provenance.Record.from_json('{"generator": "other", "request_id": "x"}') is None
    assert provenance.Record.from_json("not json") is None


def test_a_jobs_own_render_is_finished_whatever_the_frame_size_limit_for_what_users_send(tmp_path, speech):
    """The limit guards against files someone sent; a render's size is its model's, which an operator who
    lowers ECHOFU_MAX_VIDEO_SIDE later must not find refused after the whole render has run."""
    source = tmp_path / "render.mp4"
    with media.VideoWriter(source, 320, 240, audio=speech, audio_rate=16000) as writer:
        for _ in range(25):
            writer.write(np.full((240, 320, 3), 60, dtype=np.uint8))
    record = provenance.Record(kind="video", request_id="render_1", model_id="EchoLite/m1")
    with media.frame_sides_at_most(200):
        with pytest.raises(media.MediaError):
            media.probe(source)  # a file sent this size is refused
        finished = provenance.finish_video(source, tmp_path / "labelled.mp4", record, KEY, label=provenance.LabelText())
    assert media.probe(finished).width == 320 and provenance.read_record(finished) == record
