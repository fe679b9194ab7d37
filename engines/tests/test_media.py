"""engines.media: probe, verify, decode and the MP4 writer."""
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from engines import media
from engines.testing.memory import traced_peak
from engines.testing.simple_media import (declare_matroska_duration, write_black_png, write_encoded_audio, write_matroska_video,
                                         write_plain_video, write_sound_then_picture, write_tone_wav)


def test_writer_output_is_h264_aac_25fps_with_matching_audio(tmp_path):
    path = write_plain_video(tmp_path / "v.mp4", seconds=2.0, size=(64, 48))
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert video.average_rate == 25 and (video.width, video.height) == (64, 48)
        assert sum(1 for _ in container.decode(video=0)) == 50
    assert len(media.load_audio(path)) == pytest.approx(32000, abs=1600)
    info = media.verify(path, "video")
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_load_audio_resamples_and_downmixes(tmp_path):
    path = write_encoded_audio(tmp_path / "a.mp3", seconds=1.0, codec="libmp3lame", container="mp3", rate=44100)
    samples = media.load_audio(path, 8000)
    assert samples.dtype == np.float32 and len(samples) == pytest.approx(8000, abs=600)
    assert 0.05 < np.abs(samples).max() <= 1.0


def test_truncated_files_are_refused(tmp_path):
    for path in (write_tone_wav(tmp_path / "a.wav", 2.0), write_plain_video(tmp_path / "v.mp4", 2.0)):
        data = path.read_bytes()
        cut = tmp_path / f"cut{path.suffix}"
        cut.write_bytes(data[: len(data) // 2])
        with pytest.raises(media.MediaError):
            media.verify(cut, "audio")


def test_garbage_and_wrong_kind_are_refused(tmp_path):
    junk = tmp_path / "x.mp4"
    junk.write_bytes(b"\x00\x01garbage" * 500)
    with pytest.raises(media.MediaError):
        media.probe(junk)
    with pytest.raises(media.MediaError, match="no video"):
        media.verify(write_tone_wav(tmp_path / "a.wav", 1.0), "video")


def test_every_nth_frame_is_the_same_frame_as_in_the_whole_sequence(tmp_path):
    # The face check samples 40 frames of a long video: the ones between are decoded but not converted.
    path = write_plain_video(tmp_path / "v.mp4", seconds=1.0, size=(32, 16))
    whole = list(media.iter_video_frames(path))
    sampled = list(media.iter_video_frames(path, every=7))
    assert len(sampled) == 4 and all(np.array_equal(frame, whole[7 * index]) for index, frame in enumerate(sampled))


def test_iter_video_frames_resamples_frame_rate(tmp_path):
    path = write_plain_video(tmp_path / "v30.mp4", seconds=2.0, fps=30)
    assert len(list(media.iter_video_frames(path, fps=25))) == pytest.approx(50, abs=1)
    assert len(list(media.iter_video_frames(path))) == 60


def test_aborted_writer_leaves_no_file(tmp_path):
    path = tmp_path / "partial.mp4"
    with pytest.raises(RuntimeError):
        with media.VideoWriter(path, 32, 32) as writer:
            writer.write(np.zeros((32, 32, 3), np.uint8))
            raise RuntimeError("stop")
    assert not path.exists()


def test_frames_encoded_on_their_own_thread_come_out_all_in_order(tmp_path):
    path = tmp_path / "threaded.mp4"
    shades = [int(value) for value in np.linspace(0, 255, 40)]
    with media.VideoWriter(path, 32, 32) as writer, media.EncodingThread(writer, lambda frame: frame[:, ::-1], depth=4) as encoder:
        for shade in shades:
            frame = np.zeros((32, 32, 3), np.uint8)
            frame[:, :16] = shade  # the left half, which `prepare` mirrors to the right
            encoder.put(frame)
    decoded = list(media.iter_video_frames(path))
    assert len(decoded) == len(shades)
    assert np.allclose([frame[:, 20:].mean() for frame in decoded], shades, atol=4)
    assert all(frame[:, :12].mean() < 4 for frame in decoded)


def test_an_encoding_error_reaches_the_caller_and_leaves_no_file(tmp_path):
    path = tmp_path / "broken.mp4"
    with pytest.raises(ValueError):
        with media.VideoWriter(path, 32, 32) as writer, media.EncodingThread(writer) as encoder:
            encoder.put(np.zeros((32, 32, 3), np.uint8))
            encoder.put(np.zeros((32, 32, 2), np.uint8))  # not an RGB frame
            for _ in range(100):
                encoder.put(np.zeros((32, 32, 3), np.uint8))
    assert not path.exists()


def _write_sideways_phone_video(path, seconds=0.4, stored=(64, 48)):
    """What a phone held upright records: sensor-landscape pixels plus a display matrix.

    The matrix is the one iPhones write for portrait video (ffprobe: 'rotation of -90.00
    degrees', the old 'rotate=90' tag): players turn the picture 90 degrees clockwise. The
    stored frame has a white stripe on its left edge, which is the top once shown upright.
    """
    width, height = stored
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.set_display_matrix([0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30])
        for index in range(int(seconds * 25)):
            image = np.zeros((height, width, 3), np.uint8)
            image[:, :16] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def test_rotated_phone_video_is_probed_and_decoded_upright(tmp_path):
    path = _write_sideways_phone_video(tmp_path / "phone.mp4")
    info = media.probe(path)
    assert (info.width, info.height) == (48, 64)
    frames = list(media.iter_video_frames(path, fps=25))
    assert len(frames) == 10
    for frame in frames:
        assert frame.shape == (64, 48, 3)
        assert frame[:12].mean() > 240  # the stripe is on top, as a player shows it
        assert frame[20:].mean() < 15


def _write_late_start_video(path, video_start, audio_start, seconds=2.0, event=0.52):
    """Matroska (as cut from a stream) whose video and PCM audio start at the given seconds.

    Both carry one event `event` seconds into their own stream: the frames turn white and a
    burst of sound begins, so alignment can be read off the decoded output.
    """
    rate = 16000
    with av.open(str(path), "w", format="matroska") as output:
        video = output.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = output.add_stream("pcm_s16le", rate=rate)
        audio.layout = "mono"
        samples = np.zeros(int(seconds * rate), np.int16)
        samples[int(event * rate):] = 8000
        sound = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        sound.sample_rate, sound.pts, sound.time_base = rate, round(audio_start * rate), Fraction(1, rate)
        output.mux(audio.encode(sound))
        first = round(video_start * 25)
        for index in range(int(seconds * 25)):
            shade = 255 if index >= event * 25 else 0
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), shade, np.uint8), format="rgb24")
            frame.pts, frame.time_base = first + index, Fraction(1, 25)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        output.mux(audio.encode(None))
    return path


def _first_white_frame(path):
    return next(i for i, frame in enumerate(media.iter_video_frames(path, fps=25)) if frame.mean() > 128)


def _first_sound(path):
    return int(np.argmax(np.abs(media.load_audio(path, 16000)) > 0.1))


@pytest.mark.parametrize("video_start,audio_start", [(1.4, 1.4), (1.4, 1.9), (1.0, 0.0)])
def test_streams_that_start_late_stay_aligned(tmp_path, video_start, audio_start):
    path = _write_late_start_video(tmp_path / "late.mkv", video_start, audio_start)
    origin = min(video_start, audio_start)
    frames = list(media.iter_video_frames(path, fps=25))
    assert len(frames) == pytest.approx((video_start - origin + 2.0) * 25, abs=1)
    # The white frames and the sound begin at the same instant of the output.
    assert _first_white_frame(path) == round((video_start - origin + 0.52) * 25)
    assert _first_sound(path) == pytest.approx((audio_start - origin + 0.52) * 16000, abs=16)


def _write_live_webm(path, seconds=3.0):
    """VP8/Opus WebM written as a live stream, like MediaRecorder's: no duration in the header, no cues."""
    with av.open(str(path), "w", format="webm", options={"live": "1"}) as output:
        video = output.add_stream("libvpx", rate=25)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = output.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        sound = av.AudioFrame.from_ndarray(np.zeros((1, int(seconds * 48000)), np.float32), format="flt", layout="mono")
        sound.sample_rate, sound.pts, sound.time_base = 48000, 0, Fraction(1, 48000)
        for packet in audio.encode(sound):
            output.mux(packet)
        for index in range(int(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), index, np.uint8), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        output.mux(audio.encode(None))
    return path


def test_live_webm_without_a_declared_duration_is_measured(tmp_path):
    path = _write_live_webm(tmp_path / "recording.webm")
    with av.open(str(path)) as container:
        assert container.duration is None  # the case under test: nothing to read from the header
    assert media.probe(path).duration == pytest.approx(3.0, abs=0.1)
    assert media.verify(path, "video").duration == pytest.approx(3.0, abs=0.1)


def test_a_bounded_read_of_audio_that_starts_long_after_the_picture_stays_bounded(tmp_path):
    """With max_seconds, the silence put in front of audio that starts after the video's first frame is no
    longer than what was asked for: a file whose sound starts hours (or days) in made a buffer of that length."""
    import fractions

    import av

    path = str(tmp_path / "late sound.mkv")
    with av.open(path, "w", format="matroska") as out:
        video = out.add_stream("mpeg4", rate=25)
        video.width = video.height = 64
        video.pix_fmt = "yuv420p"
        sound = out.add_stream("pcm_s16le", rate=8000)
        sound.layout = "mono"
        picture = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        picture.pts = 0
        for packet in [*video.encode(picture), *video.encode(None)]:
            out.mux(packet)
        for second in range(2):
            frame = av.AudioFrame.from_ndarray(np.full((1, 8000), 1000, np.int16), format="s16", layout="mono")
            frame.sample_rate, frame.time_base, frame.pts = 8000, fractions.Fraction(1, 8000), (1800 + second) * 8000
            for packet in sound.encode(frame):
                out.mux(packet)
        for packet in sound.encode(None):
            out.mux(packet)
    samples, peak = traced_peak(lambda: media.load_audio(path, 16000, max_seconds=5))
    assert len(samples) == 5 * 16000 and not samples.any()  # the first 5 s: silence before the sound starts at 30 min
    assert peak < 20 * 1024 * 1024, f"{peak / 2**20:.0f} MiB for 5 s of audio"


def test_audio_holding_more_than_it_declares_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    """Every length limit trusts the declared duration: a WebM declaring 10 s that holds 60 s must not pass as
    10 s long, or voice cloning and rendering read all 60."""
    path = write_encoded_audio(tmp_path / "voice.webm", seconds=60.0, rate=16000)
    assert media.verify(path, "audio").duration == pytest.approx(60.0, abs=0.1)
    declare_matroska_duration(path, 10.0)
    assert media.probe(path).duration == pytest.approx(10.0)
    extents = []
    measure = media._decoded_extent
    monkeypatch.setattr(media, "_decoded_extent", lambda *args, **kwargs: extents.append(measure(*args, **kwargs)) or extents[-1])
    with pytest.raises(media.MediaError, match="holds more than it declares: it declares 10.0 s but runs past 13.1 s"):
        media.verify(path, "audio")
    assert extents[-1][1] < 14.0  # decoding stopped just past what it declared


def test_a_soundtrack_its_file_declares_running_far_past_the_picture_is_accepted_and_read_only_under_it(tmp_path):
    """A screen capture whose picture stopped early, a phone video with a long audio tail: the soundtrack's own
    declared length covers it, so the file holds no more than it declares. Its length is the picture's, and
    jobs read the sound only that far (verify's slack past it), as they did when such files were refused."""
    path = write_plain_video(tmp_path / "capture.mp4", seconds=1.0, audio_seconds=60.0)
    assert media.verify(path, "video").duration == pytest.approx(1.0)
    assert len(media.load_declared_audio(path, 16000)) == pytest.approx(media.longest_accepted(1.0) * 16000, abs=1)


def test_a_file_sent_as_audio_whose_soundtrack_runs_far_past_its_picture_is_refused(tmp_path):
    """Sent as audio (a reference, a ref_audio to render), the sound is the content, but the file's length is its
    picture's and every job reads the sound only that far: 1 s of picture would keep about 4 s of 60 s of speech,
    silently. Refused, saying why, as such files were before the soundtrack's length counted for videos."""
    path = write_plain_video(tmp_path / "capture.mp4", seconds=1.0, audio_seconds=60.0)
    with pytest.raises(media.MediaError, match="the soundtrack runs 59.0 s past the picture"):
        media.verify(path, "audio")
    # A soundtrack a little past the picture, as phones write them, is fine either way.
    phone = write_plain_video(tmp_path / "phone.mp4", seconds=2.0, audio_seconds=2.5)
    assert media.verify(phone, "audio").duration == pytest.approx(2.0)


def test_a_video_holding_far_more_than_any_length_it_declares_is_refused(tmp_path):
    """Matroska declares one duration for the file: a video claiming 1 s that holds 60 s of sound under 1 s of
    picture passes no length limit it should not."""
    path = write_matroska_video(tmp_path / "talk.mkv", picture_seconds=1.0, sound_seconds=60.0)
    declare_matroska_duration(path, 1.0)  # it declared 60 s
    for expect in ("video", "audio"):
        with pytest.raises(media.MediaError, match="holds more than it declares: it declares 1.0 s"):
            media.verify(path, expect)


PEAK_MEMORY_OF_VERIFY = """
import resource, sys
from engines import media
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    media.verify(sys.argv[1], "video", max_frame_side=4096)
except media.MediaError as exc:
    print(exc)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_frames_larger_than_the_limit_are_refused_before_any_is_decoded(tmp_path):
    """FFmpeg's stream analysis decodes a first frame on opening a file: 5000 x 5000 pixels took 60 MB before the
    size was looked at (a 16000-pixel one, hundreds), and the face check then decoded every frame at full size."""
    path = tmp_path / "huge.mp4"
    with media.VideoWriter(path, 5000, 5000, preset="ultrafast") as writer:
        writer.write(np.zeros((5000, 5000, 3), np.uint8))
    run = subprocess.run([sys.executable, "-c", PEAK_MEMORY_OF_VERIFY, str(path)], capture_output=True, text=True, check=True,
                         cwd=Path(media.__file__).parents[1])
    refusal, grown_mb = run.stdout.splitlines()
    assert refusal == "the video's frames are too large: 5000 x 5000 pixels, at most 4096 on a side"
    assert int(grown_mb) < 20


def test_a_frame_size_the_container_does_not_state_is_read_from_the_first_frame(tmp_path):
    """MPEG-TS states no frame size, and FFmpeg's stream analysis gives up before a picture that starts after
    8 s of sound: the size read without decoding was 0 x 0, so any frame passed the limit."""
    path = write_sound_then_picture(tmp_path / "late picture.ts", size=(64, 48))
    with pytest.raises(media.MediaError, match="frames are too large: 64 x 48 pixels, at most 60 on a side"):
        media.verify(path, "video", max_frame_side=60)
    assert (media.verify(path, "video", max_frame_side=64).width, media.probe(path).height) == (64, 48)


def test_a_frame_that_must_be_decoded_to_be_measured_is_not_decoded_past_the_limit(tmp_path):
    """A PNG (as a WebP) states its size only inside the picture: opening it decoded the whole frame, 400 MB
    for a 12000-pixel square, before the size was compared with the limit."""
    path = write_black_png(tmp_path / "poster.png", 12000, 12000)
    run = subprocess.run([sys.executable, "-c", PEAK_MEMORY_OF_VERIFY, str(path)], capture_output=True, text=True, check=True,
                         cwd=Path(media.__file__).parents[1])
    refusal, grown_mb = run.stdout.splitlines()
    assert refusal == "the video's frame size cannot be read: it is not stated and no frame of at most 4096 x 4096 pixels decodes"
    assert int(grown_mb) < 20


def test_jobs_read_no_more_audio_than_the_file_declares(tmp_path):
    """A file stored before uploads were checked for overruns: a WebM declaring 10 s that holds 120 s. Cloning,
    rendering and training read it with load_declared_audio, which stops where verify would have."""
    path = declare_matroska_duration(write_encoded_audio(tmp_path / "voice.webm", seconds=120.0, rate=16000), 10.0)
    samples, peak = traced_peak(lambda: media.load_declared_audio(path, 16000))
    assert len(samples) == pytest.approx(media.longest_accepted(10.0) * 16000, abs=1)
    assert peak < 4 * 1024 * 1024  # all 120 s took 23 MB
