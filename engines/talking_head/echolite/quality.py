"""The input gate: what makes a video unusable for training (errors) or weaker (warnings)."""
from __future__ import annotations

from pathlib import Path

from engines import media
from engines.face_tracking import FaceAnalyzer, face_stats
from engines.messages import gettext_noop
from engines.progress import no_progress
from engines.talking_head.base import QualityReport, probe_into, soundtrack_past_picture
from engines.talking_head.echolite.prepare import MAX_FRAME_SIDE, frame_size, measure_audio_delay
from engines.voice.analysis import SAMPLE_RATE, SPEECH_FLOOR_DBFS, frame_levels

MIN_SECONDS, MAX_SECONDS = 10.0, 600.0
MIN_ONE_FACE_SHARE = 0.5
MAX_MULTI_FACE_SHARE = 0.3
MIN_FACE_PIXELS = 40
MIN_FACE_RATIO = 0.08
LOW_RESOLUTION = 256
STRONG_MOTION = 0.3  # std of the face centre, in face heights
DIM_LIGHT = 60  # mean grey level of the face
DELAY_SECONDS = 20.0  # of the video tracked to preview the audio's delay
MIN_AUDIBLE_SECONDS = 3.0  # of frames louder than the voice analysis's silence (SPEECH_FLOOR_DBFS)


def check_video(path: Path, measure_delay: bool = True, analyzer: FaceAnalyzer | None = None) -> QualityReport:
    """Errors and warnings for a training video; `measure_delay` adds the audio's delay against the lips."""
    report = QualityReport()
    info = probe_into(path, report)
    if info is None:
        return report
    report.stats.update(duration=round(info.duration, 2), width=info.width, height=info.height, fps=round(info.fps, 3), has_audio=info.has_audio)
    if not info.has_video:
        report.errors.append(gettext_noop("the file has no video stream"))
        return report
    if info.duration < MIN_SECONDS:
        report.errors.append(gettext_noop("the video is too short: {seconds:.1f} s, at least {minimum:.0f} s of speech is needed",
                                          seconds=info.duration, minimum=MIN_SECONDS))
    if info.duration > MAX_SECONDS:
        report.errors.append(gettext_noop("the video is too long: {minutes:.1f} min, at most {maximum:.0f} min",
                                          minutes=info.duration / 60, maximum=MAX_SECONDS / 60))
        # Refused whatever its faces and sound: reading them would take time and memory in proportion to
        # a length only the upload limit bounds (a low-bitrate file lasts days).
        return report
    if past := soundtrack_past_picture(info):
        report.warnings.append(past)
    if not info.has_audio:
        report.errors.append(gettext_noop("the video has no audio track: the model learns from the person's speech"))
    elif (audible := audible_seconds(path, info.duration)) < min(MIN_AUDIBLE_SECONDS, info.duration / 2):  # a clip too short is said so
        report.errors.append(gettext_noop("the audio track is silent ({audible:.1f} s louder than {floor:.0f} dBFS): "
                                          "the model learns from the person's speech", audible=audible, floor=SPEECH_FLOOR_DBFS))
    analyzer = analyzer or FaceAnalyzer()  # loading its models takes a second: the delay's tracking reuses it
    faces = face_stats(path, analyzer=analyzer)
    report.stats.update(faces)
    if faces["multi_face_share"] > MAX_MULTI_FACE_SHARE:
        report.errors.append(gettext_noop("several faces are visible in {share:.0%} of frames: the video must show one person",
                                          share=faces["multi_face_share"]))
    elif faces["one_face_share"] < MIN_ONE_FACE_SHARE:
        report.errors.append(gettext_noop("no face was found in {share:.0%} of frames: the face must be visible and frontal",
                                          share=1 - faces["one_face_share"]))
    elif faces["median_face_height_px"] < MIN_FACE_PIXELS or faces["median_face_height_ratio"] < MIN_FACE_RATIO:
        report.errors.append(gettext_noop(
            "the face is too small: {pixels:.0f} px high ({ratio:.0%} of the frame); at least {min_pixels} px and {min_ratio:.0%} are needed",
            pixels=faces["median_face_height_px"], ratio=faces["median_face_height_ratio"], min_pixels=MIN_FACE_PIXELS, min_ratio=MIN_FACE_RATIO,
        ))
    if max(info.width, info.height) > MAX_FRAME_SIDE:
        width, height = frame_size(info.width, info.height)
        report.warnings.append(gettext_noop("the video is larger than the model keeps: trained and rendered at {width}x{height}",
                                            width=width, height=height))
    if min(info.width, info.height) < LOW_RESOLUTION:
        report.warnings.append(gettext_noop("low resolution ({width}x{height}): mouths will look soft", width=info.width, height=info.height))
    if faces["head_motion"] > STRONG_MOTION:
        report.warnings.append(gettext_noop("strong head motion ({motion:.2f} face heights): expect less stable mouths", motion=faces["head_motion"]))
    if 0 < faces["mean_face_brightness"] < DIM_LIGHT:
        report.warnings.append(gettext_noop("dim light on the face (mean level {level:.0f}/255)", level=faces["mean_face_brightness"]))
    if measure_delay and report.ok:
        delay = measure_audio_delay(path, DELAY_SECONDS, no_progress, analyzer)
        report.stats.update(delay.as_dict(), audio_delay_seconds=round(delay.seconds, 2))
        if not delay.found:
            report.warnings.append(delay.warning())
        elif delay.frames:
            # two sentences rather than the verb as a value: a translation words each its own way
            shift = {"seconds": abs(delay.seconds), "frames": abs(delay.frames)}
            report.warnings.append(
                gettext_noop("the audio trails the lips by {seconds:.2f} s ({frames} frames): training corrects for it", **shift)
                if delay.frames > 0
                else gettext_noop("the audio leads the lips by {seconds:.2f} s ({frames} frames): training corrects for it", **shift)
            )
    return report


def audible_seconds(path: Path, video_seconds: float) -> float:
    """Seconds of the soundtrack under the picture (`video_seconds`) loud enough to hold speech (a muted or
    empty track has none). Sound running on past the picture is not read: it may last days."""
    frame = SAMPLE_RATE // 50  # 20 ms
    levels = frame_levels(media.load_audio(path, SAMPLE_RATE, max_seconds=min(video_seconds, MAX_SECONDS)), frame)
    return float((levels > SPEECH_FLOOR_DBFS).sum() * frame / SAMPLE_RATE)
