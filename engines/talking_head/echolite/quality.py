"""The input gate: what makes a video unusable for training (errors) or weaker (warnings)."""
from __future__ import annotations

from pathlib import Path

from engines import media
from engines.face_tracking import face_stats
from engines.progress import no_progress
from engines.talking_head.base import QualityReport, probe_into
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


def check_video(path: Path, measure_delay: bool = True) -> QualityReport:
    """Errors and warnings for a training video; `measure_delay` adds the audio's delay against the lips."""
    report = QualityReport()
    info = probe_into(path, report)
    if info is None:
        return report
    report.stats.update(duration=round(info.duration, 2), width=info.width, height=info.height, fps=round(info.fps, 3), has_audio=info.has_audio)
    if not info.has_video:
        report.errors.append("the file has no video stream")
        return report
    if not info.has_audio:
        report.errors.append("the video has no audio track: the model learns from the person's speech")
    elif (audible := audible_seconds(path)) < MIN_AUDIBLE_SECONDS:
        report.errors.append(f"the audio track is silent ({audible:.1f} s louder than {SPEECH_FLOOR_DBFS:.0f} dBFS): "
                             "the model learns from the person's speech")
    if info.duration < MIN_SECONDS:
        report.errors.append(f"the video is too short: {info.duration:.1f} s, at least {MIN_SECONDS:.0f} s of speech is needed")
    if info.duration > MAX_SECONDS:
        report.errors.append(f"the video is too long: {info.duration / 60:.1f} min, at most {MAX_SECONDS / 60:.0f} min")
    faces = face_stats(path)
    report.stats.update(faces)
    if faces["multi_face_share"] > MAX_MULTI_FACE_SHARE:
        report.errors.append(f"several faces are visible in {faces['multi_face_share']:.0%} of frames: the video must show one person")
    elif faces["one_face_share"] < MIN_ONE_FACE_SHARE:
        report.errors.append(f"no face was found in {1 - faces['one_face_share']:.0%} of frames: the face must be visible and frontal")
    elif faces["median_face_height_px"] < MIN_FACE_PIXELS or faces["median_face_height_ratio"] < MIN_FACE_RATIO:
        report.errors.append(
            f"the face is too small: {faces['median_face_height_px']:.0f} px high ({faces['median_face_height_ratio']:.0%} of the frame); "
            f"at least {MIN_FACE_PIXELS} px and {MIN_FACE_RATIO:.0%} are needed"
        )
    if max(info.width, info.height) > MAX_FRAME_SIDE:
        report.warnings.append("the video is larger than the model keeps: trained and rendered at %dx%d" % frame_size(info.width, info.height))
    if min(info.width, info.height) < LOW_RESOLUTION:
        report.warnings.append(f"low resolution ({info.width}x{info.height}): mouths will look soft")
    if faces["head_motion"] > STRONG_MOTION:
        report.warnings.append(f"strong head motion ({faces['head_motion']:.2f} face heights): expect less stable mouths")
    if 0 < faces["mean_face_brightness"] < DIM_LIGHT:
        report.warnings.append(f"dim light on the face (mean level {faces['mean_face_brightness']:.0f}/255)")
    if measure_delay and report.ok:
        delay = measure_audio_delay(path, DELAY_SECONDS, no_progress)
        report.stats.update(delay.as_dict(), audio_delay_seconds=round(delay.seconds, 2))
        if not delay.found:
            report.warnings.append(delay.warning())
        elif delay.frames:
            direction = "trails" if delay.frames > 0 else "leads"
            report.warnings.append(f"the audio {direction} the lips by {abs(delay.seconds):.2f} s ({abs(delay.frames)} frames): "
                                   "training corrects for it")
    return report


def audible_seconds(path: Path) -> float:
    """Seconds of the soundtrack loud enough to hold speech (a muted or empty track has none)."""
    frame = SAMPLE_RATE // 50  # 20 ms
    levels = frame_levels(media.load_audio(path, SAMPLE_RATE), frame)
    return float((levels > SPEECH_FLOOR_DBFS).sum() * frame / SAMPLE_RATE)
