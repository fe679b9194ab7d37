"""Who a voice belongs to: a GE2E d-vector (resemblyzer), pitch statistics and a spectral envelope."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from engines import media
from engines.messages import UnusableInput, gettext_noop
from engines.progress import Progress, no_progress
from engines.voice.analysis import SAMPLE_RATE, SPEECH_FLOOR_DBFS, clean_speech, f0_statistics, frame_levels, mean_envelope
from engines.voice.denoise import fitting_copy
from engines.voice.room import RoomTone

MIN_SECONDS, MAX_SECONDS = 3.0, 300.0
CLIPPED_LEVEL = 0.99  # of full scale, after decoding
MAX_CLIPPED_SHARE = 0.001  # more samples than this at full scale: the recorder clipped, audibly


class SpeakerEncoder:
    """resemblyzer's speaker-verification network (its weights ship inside the package)."""

    def __init__(self, device: str = "cpu"):
        from resemblyzer import VoiceEncoder

        self._encoder = VoiceEncoder(device=device, verbose=False)

    def embed(self, samples: np.ndarray) -> np.ndarray:
        from resemblyzer import preprocess_wav

        wav = preprocess_wav(samples.astype(np.float32), source_sr=SAMPLE_RATE)
        if len(wav) < SAMPLE_RATE // 2:
            wav = samples.astype(np.float32)
        return self._encoder.embed_utterance(wav)


@dataclass
class SpeakerFeatures:
    embedding: list[float]
    f0_mean: float  # Hz, voiced frames
    f0_std_semitones: float
    f0_low: float  # Hz, 5th percentile
    f0_high: float  # Hz, 95th percentile
    envelope: list[float]  # mean log spectral envelope of voiced speech, in mel bands
    duration: float  # seconds of cleaned speech
    clean_clip: str = ""  # path of the cleaned reference (set by whoever stores it)
    prompt_text: str = ""  # transcript of the clip, when known (CosyVoice zero-shot uses it)
    conversion: dict = field(default_factory=dict)  # the default engine's fitted conversion (with its version)
    room_tone: dict = field(default_factory=dict)  # the recording's background (engines.voice.room.RoomTone); {} before it was kept
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SpeakerFeatures":
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def speaker_similarity(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def check_audible(samples: np.ndarray) -> None:
    """Refuse a recording whose loudest moment is below speech's floor (a muted microphone, a silent file):
    there is no voice in it to clone."""
    loudest = float(frame_levels(samples).max())
    if loudest <= SPEECH_FLOOR_DBFS:
        raise UnusableInput(gettext_noop("the reference is too quiet: its loudest moment is {loudest:.0f} dBFS, speech must reach "
                                         "{floor:.0f} dBFS; record closer to the microphone or with more gain",
                                         loudest=loudest, floor=SPEECH_FLOOR_DBFS))


def check_audible_file(audio_path: Path) -> None:
    """check_audible on a stored recording, before a clone job is queued for it."""
    check_audible(media.load_declared_audio(audio_path, SAMPLE_RATE))


def analyse_reference(audio_path: Path, clean_out_path: Path, encoder: SpeakerEncoder, progress: Progress = no_progress) -> SpeakerFeatures:
    """Clean a reference recording, write it as WAV, and describe the voice in it."""
    progress("decode", 0.0)
    samples = media.load_declared_audio(audio_path, SAMPLE_RATE)
    total = len(samples) / SAMPLE_RATE
    if total < MIN_SECONDS:
        raise UnusableInput(gettext_noop("the reference is too short: {seconds:.1f} s, at least {minimum:.0f} s are needed",
                                      seconds=total, minimum=MIN_SECONDS))
    clipped = float(np.mean(np.abs(samples) >= CLIPPED_LEVEL))
    progress("clean", 0.2, gettext_noop("warning: {share:.1%} of the reference's samples are clipped (it was recorded too loud): "
                                        "the voice keeps the distortion; record it again at a lower level if you can", share=clipped)
             if clipped > MAX_CLIPPED_SHARE else "")
    check_audible(samples)
    speech = clean_speech(samples)
    seconds = len(speech) / SAMPLE_RATE
    if seconds < MIN_SECONDS:
        raise UnusableInput(gettext_noop("only {seconds:.1f} s of speech found in the reference (after removing silence); "
                                      "at least {minimum:.0f} s are needed", seconds=seconds, minimum=MIN_SECONDS))
    if seconds > MAX_SECONDS:
        raise UnusableInput(gettext_noop("the reference has {minutes:.1f} min of speech; at most {most:.0f} min",
                                      minutes=seconds / 60, most=MAX_SECONDS / 60))
    progress("pitch", 0.4)
    room_tone = RoomTone.measure(samples, SAMPLE_RATE).as_dict()
    f0 = f0_statistics(fitting_copy(speech, room_tone)[0])  # the pitch without the room's noise (engines.voice.denoise)
    if f0 is None:
        raise UnusableInput(gettext_noop("no voiced speech found in the reference"))
    progress("embed", 0.7)
    embedding = encoder.embed(speech)
    media.write_wav(clean_out_path, speech, SAMPLE_RATE)
    progress("embed", 1.0)
    return SpeakerFeatures(
        embedding=[round(float(value), 6) for value in embedding],
        f0_mean=f0["mean"], f0_std_semitones=f0["std_semitones"], f0_low=f0["low"], f0_high=f0["high"],
        envelope=[round(float(value), 4) for value in mean_envelope(speech)],
        duration=round(seconds, 3), clean_clip=str(clean_out_path),
        room_tone=room_tone,
    )
