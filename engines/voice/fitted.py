"""A per-speaker voice conversion fitted at clone time from the reference recording itself.

The reference is transcribed, the base voice speaks the same words, and the two are aligned
frame by frame (DTW). The aligned frames, the same sounds in both voices, choose a formant shift
(vocal-tract length) for the base voice; over them each mel-cepstral dimension of the WORLD
spectral envelope gets an affine map from the base voice's mean to the speaker's, its spread moved
halfway to the speaker's (SPREAD_SHARE). At synthesis each mapped frame is then pulled part of the
way (NEAREST_SHARE, CONTENT_SHARE) towards real frames of that person:
  - by exemplars, in the one language a fit keeps them for (the transcript's, where its caller
    asks): the base voice's frame (with two frames of context each side) is matched against the
    base voice's frames of the aligned pairs, the same voice on both sides, so the match finds the
    same sound; the speaker's frames paired with the nearest ones are the target;
  - in the language a fit matches by the reference's speech states (its caller's choice: for
    English speakers their English in Piper's fit and their Chinese in espeak-ng's, for Mandarin
    speakers their English in Piper's), by what is said: the mean of the speaker's frames nearest
    to the base voice's frame in Whisper's encoder states (`engines.speech_states`, which carry the
    sound more than the voice, in any language) and envelope together, pulled the fit's own share
    of the way (voiced frames further than unvoiced ones: CONTENT_SHARE and CONTENT_UNVOICED_SHARE
    unless its caller chose other shares);
  - otherwise by the mean of the nearest frames among the speaker's own recorded frames
    (k-nearest-neighbour regression over the reference), a match across voices.
The averaging in that pull (and a light smoothing over time) narrows how much the output varies,
so each dimension's spread over the utterance is then moved halfway back to the speaker's
(VARIANCE_SHARE), and how fast it moves, its modulation spectrum, part of the way to the speaker's
(MODULATION_SHARE, engines.voice.modulation). Speaking rate comes from the same alignment; pitch
level and range from the reference's F0 statistics.

A full (ridge) regression between the aligned frames was tried first and dropped: with 8 to 60 s
of speech it mixed dimensions wrongly and tripled the word error rate (0.5 against 0.03-0.13
unconverted on two references), where the per-dimension map kept it at or below the base voice's.

Without a transcript (no offline ASR, or a language the base voice cannot speak) the fit falls
back to matching the two voices' feature statistics, still followed by the nearest-frame step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np
import pyworld

if TYPE_CHECKING:
    import faster_whisper

from engines.progress import Progress, no_progress
from engines.speech_states import STATE_SIZE, STATES_PER_SECOND
from engines.voice.analysis import FRAME_PERIOD_MS, SAMPLE_RATE, frame_levels, warp_envelope, world_analysis
from engines.voice.conversion import WARP_FACTORS, map_f0
from engines.voice.modulation import match_modulation, modulation_spectrum

# Bump when the stored arrays or their meaning change: profiles of versions not in READABLE_VERSIONS are not used.
# An array a fit may lack (the speaker's modulation spectrum) needs no bump: readers that do not know
# it ignore it, and profiles without it are spoken as they were.
# Version 1 fits have no exemplar arrays: they keep the nearest-frame step in every language.
# Version 2 fits have no speech states: they keep the nearest-frame step where version 3 matches by them.
# Version 3 files may store a base's speech states only in the main fit's arrays, when they are the same
# (see save): a reader from before that (the release of 0d4ecb2) gives that base the nearest frames instead.
# Version 3 profiles cloned before voiced and unvoiced frames were pulled apart record no
# `content_unvoiced_share`: every frame is pulled by their `content_share`, as it was then.
# Version 4 fits hold the same arrays as version 3, fitted on a noise-reduced copy of a reference whose
# recording has an audible floor (engines.voice.denoise; the profile's `noise_reduced` says how).
CONVERSION_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)
CODED_DIMENSIONS = 40
NEIGHBOURS = 4
# Share of the speaker's real frames (exemplars or nearest frames) in the output envelope, the rest
# being the affine map's: the largest share that kept Whisper's word error rate within 1.5x the base
# voice's on two development references with the nearest-frame step (mean WER 0.05 at 0.5, 0.17 at
# 0.7, 0.51 at 1.0, base 0.10). Only intelligibility was measured in that choice, no
# speaker-similarity score.
NEAREST_SHARE = 0.5
# The share of the speaker's frames when they are matched by speech states and envelope together
# (English speakers' English with Piper, and their Chinese with espeak-ng: STATE_MATCHED in
# engines.voice.default), in voiced frames (CONTENT_SHARE) and in unvoiced ones (CONTENT_UNVOICED_SHARE).
# One share for every frame was measured first, paired on the five real English references
# (bench/bench_voice_phonetic.py, results/voice_phonetic.json), against the nearest-frame step at
# 0.5 (resemblyzer 0.717, voicefilter 0.733, WER 0.033): 0.5 gave 0.731 / 0.759 / 0.042, 0.6 gave
# 0.739 / 0.779 / 0.046, 0.75 gave 0.747 / 0.799 but WER 0.083 (four times Piper's own 0.021).
# Matched by the states alone, the frames sound like the speaker (0.784 at 0.75) but the words are
# lost (WER 0.47). So 0.6 on every frame (FLAT_CONTENT_SHARE) was the default, until the voiced
# frames, where the voice is heard, were pulled further than the unvoiced ones, which carry more of
# what tells words apart (bench/bench_voice_voicing.py, results/voice_voicing.json: the seven real
# English references, paired): 0.75 / 0.45 against 0.6 on every frame, their Chinese (espeak-ng)
# resemblyzer 0.668 -> 0.687, voicefilter 0.615 -> 0.635, CER 0.413 -> 0.398, all seven closer; their
# English (Piper) +0.001 to +0.006 and +0.015 to +0.025 over three runs, WER 0.036 both on average.
# 0.75 on every frame gained as much but cost characters (CER 0.511). Mandarin speakers' English
# (Piper on statistics, 0.75) lost words with a split (0.9 / 0.6: WER 0.271 against 0.156), so it
# keeps one share (STATE_MATCHED in engines.voice.default).
CONTENT_SHARE = 0.75
CONTENT_UNVOICED_SHARE = 0.45
# The one share every frame of a matched language was pulled by in profiles cloned before the split
# (and before the share was recorded per fit): they are spoken as they were.
FLAT_CONTENT_SHARE = 0.6
# How far (geometrically) each dimension's spread is moved from the base voice's to the speaker's.
# espeak-ng's envelopes vary about twice as much as a real recording of the same words (spread
# ratio 0.5-0.6 per dimension on the four real references; Piper's about 1): matched in full, the
# map flattened the synthetic voice's sounds (the 60 s English speaker's Chinese came out less like
# them than espeak-ng unconverted, 0.50 against 0.57; halfway 0.53). Halfway, measured paired on
# those references (bench/bench_voice_paired.py --compare spread, results/voice_spread.json): in the
# reference's language resemblyzer 0.711 -> 0.719, voicefilter 0.669 -> 0.686, WER 0.024 both, CER
# 0.182 -> 0.136; in the other language 0.634 -> 0.645, 0.499 -> 0.539, WER 0.104 -> 0.125 (one word
# in 48), CER 0.316 -> 0.278. Keeping the base voice's spread (share 0) gained a little more
# similarity but raised the Mandarin speaker's English WER 0.10 -> 0.27.
SPREAD_SHARE = 0.5
# After the pull towards real frames and the smoothing, both of which average frames, the output
# utterance varies less than the speaker does: per dimension its spread was 0.6-0.9 of the
# speaker's on five real references, and on real speech itself a spread narrowed to 0.7 costs
# 0.08 / 0.06 similarity under the two encoders (bench/bench_voice_bound.py). So each dimension's
# spread over the utterance is moved this share of the way (geometrically) back to the speaker's:
# the global-variance compensation of statistical voice conversion (Toda et al., 2007). Halfway,
# measured paired on six real references (bench/bench_voice_paired.py --compare variance,
# results/voice_variance.json): in the reference's language resemblyzer 0.692 -> 0.708,
# voicefilter 0.709 -> 0.732, in the other 0.640 -> 0.656, 0.586 -> 0.610, error rates as before
# but the Mandarin speaker's Mandarin (CER 0.14 -> 0.24, espeak-ng as it is 0.35). In full:
# resemblyzer a little higher, voicefilter lower in the reference's language, that speaker's CER 0.27.
VARIANCE_SHARE = 0.5
# After that, each dimension's modulation spectrum (how its spread is shared out between slow and
# fast movement, engines.voice.modulation) is moved this share of the way to the speaker's, measured
# on the reference at clone time. Measured paired on the nine real references of 8 s and more, both
# languages, 18 rows by Piper and Kokoro (bench/bench_voice_modulation.py, results/voice_modulation.json;
# two runs, Piper drawing its English anew in each): resemblyzer 0.718 -> 0.727 and 0.721 -> 0.730,
# voicefilter 0.718 -> 0.731 and 0.719 -> 0.733, WER 0.035 -> 0.035 and 0.033 -> 0.026, CER 0.062 ->
# 0.061; espeak-ng's Mandarin (the fallback) 0.685 -> 0.695, CER 0.241 -> 0.224. In full: as close
# (0.727 / 0.729), CER 0.066. In place of the global-variance step rather than after it (a prototype
# run): no closer (0.719 / 0.716 against 0.719 / 0.717).
MODULATION_SHARE = 0.5
MIN_VARIANCE_FRAMES = 50  # 0.25 s: a shorter piece's own spread says too little to correct it by
MAX_VARIANCE_GAIN = 2.0
BANK_STEP = 2  # keep every 2nd 5 ms frame of the reference (10 ms)
MAX_BANK_FRAMES = 6000
SMOOTHING_FRAMES = 3
RATE_LIMITS = (0.75, 1.35)
WARP_SAMPLE = 1500  # aligned voiced frames used to choose the formant shift
# How a parallel fit pairs the base voice's frames with the speaker's saying the same words (DTW): by
# envelope, sounds are compared across two voices and can pair two that only look alike; by Whisper's
# speech states (what is said, not who says it) the same sounds meet. Measured paired on the real
# references (docs/voice-measurements.md, "Aligning by what is said"; bench/bench_voice_alignment.py).
ALIGNED_BY_STATES = "speech states"
ALIGNED_BY_ENVELOPES = "envelopes"  # every parallel fit before, and any without the states
EXEMPLAR_CONTEXT = 2  # base-voice frames each side matched with the frame: the sound, not one instant of it
ARRAYS = ("voiced_bank", "unvoiced_bank", "speaker_mean", "speaker_std", "base_mean", "base_std", "warp")
EXEMPLAR_ARRAYS = ("exemplar_base", "exemplar_speaker", "exemplar_voiced")
CONTENT_ARRAYS = ("content_keys", "content_values", "content_voiced")
MODULATION_ARRAYS = ("speaker_modulation",)
STORED_ARRAYS = ARRAYS + EXEMPLAR_ARRAYS + CONTENT_ARRAYS + MODULATION_ARRAYS


@dataclass
class Segment:
    start: float  # seconds
    end: float
    text: str


@dataclass
class FittedVoice:
    """What the clone fitted: the speaker's frame banks and the map from the base voice into them."""

    voiced_bank: np.ndarray  # (n, CODED_DIMENSIONS - 1) coded envelopes of the speaker's voiced frames
    unvoiced_bank: np.ndarray
    speaker_mean: np.ndarray  # per mel-cepstral dimension, over the aligned frames
    speaker_std: np.ndarray
    base_mean: np.ndarray  # the base voice's, over the same words (zeros: use each utterance's own)
    base_std: np.ndarray
    warp: np.ndarray  # () formant shift applied to the base voice before the map (1: none)
    # The aligned pairs: the base voice's frames with their context (float16), the speaker's frames
    # DTW paired with them, and whether they are voiced. Empty unless the fit keeps exemplars.
    exemplar_base: np.ndarray
    exemplar_speaker: np.ndarray
    exemplar_voiced: np.ndarray
    # The speaker's spoken frames (every BANK_STEP-th): their speech states (float16), coded envelopes
    # and voicing. Empty unless the fit was given the reference's states.
    content_keys: np.ndarray
    content_values: np.ndarray
    content_voiced: np.ndarray
    method: str  # "parallel" (transcript + DTW) or "statistics"
    rate: float  # speaker's duration / base voice's duration for the same words
    transcript: str = ""
    exemplar_language: str = ""  # the transcript's, the one language spoken with exemplars ("" none)
    content_language: str = ""  # the one language spoken with this base that is matched by speech states ("" none)
    content_share: float = CONTENT_SHARE  # how far that language's voiced frames are pulled towards the speaker's frames
    content_unvoiced_share: float = CONTENT_UNVOICED_SHARE  # and its unvoiced frames
    pairs: int = 0
    aligned_by: str = ""  # how a parallel fit paired the two voices' frames: ALIGNED_BY_STATES or ALIGNED_BY_ENVELOPES
    # The modulation spectrum of the speaker's coded envelopes over the reference (engines.voice.modulation);
    # empty in profiles cloned before it was kept, which are spoken without matching it.
    speaker_modulation: np.ndarray = field(default_factory=lambda: np.zeros((0, CODED_DIMENSIONS - 1), np.float32))
    version: int = CONVERSION_VERSION

    def save(self, path: Path, bases: dict[str, "FittedVoice"] | None = None) -> None:
        """Plain arrays in an .npz (loaded with allow_pickle=False: nothing in it can run code).

        Fits of the same speaker for other base voices go in the same file, their arrays prefixed
        with the base's name (`piper_warp`): readers that do not know a base ignore its arrays. The
        speaker's frames with their states are the reference's whatever the base, so a base's are
        stored only where they differ from this fit's.
        """
        arrays = {name: getattr(self, name) for name in STORED_ARRAYS}
        for base, voice in (bases or {}).items():
            shared = len(self.content_keys) > 0 and all(np.array_equal(getattr(voice, name), getattr(self, name)) for name in CONTENT_ARRAYS)
            arrays.update({f"{base}_{name}": getattr(voice, name) for name in STORED_ARRAYS if not (shared and name in CONTENT_ARRAYS)})
        with open(path, "wb") as handle:
            np.savez_compressed(handle, version=np.array(self.version), **arrays)

    def _figures(self) -> dict:
        return {"method": self.method, "rate": round(self.rate, 3), "warp": round(float(self.warp), 3), "pairs": self.pairs,
                "content_language": self.content_language, "content_share": round(self.content_share, 3),
                "content_unvoiced_share": round(self.content_unvoiced_share, 3), "aligned_by": self.aligned_by,
                "modulation_matched": len(self.speaker_modulation) > 0}

    def summary(self, path: Path, seconds: float, bases: dict[str, "FittedVoice"] | None = None) -> dict:
        """What the profile row stores about this fit (JSON); `bases` as saved with it."""
        summary = {"version": self.version, "file": str(path), **self._figures(), "transcript": self.transcript,
                   "exemplar_language": self.exemplar_language,
                   "bank_frames": int(len(self.voiced_bank) + len(self.unvoiced_bank)), "fit_seconds": round(seconds, 2)}
        if bases:
            summary["bases"] = {base: voice._figures() for base, voice in bases.items()}
        return summary

    @classmethod
    def load(cls, summary: dict, base: str = "") -> "FittedVoice":
        """The fit a profile describes (for `base`, one saved beside the main fit); ValueError when it is
        of a version not read here, unreadable, or has no fit for that base."""
        if summary.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"fitted conversion version {summary.get('version')!r} is not one of {READABLE_VERSIONS}")
        figures = summary.get("bases", {}).get(base) if base else summary
        if figures is None:
            raise ValueError(f"no fit for the base voice {base!r}")
        prefix = f"{base}_" if base else ""
        with np.load(summary["file"], allow_pickle=False) as data:
            version = int(data["version"])
            if version != summary["version"]:
                raise ValueError("the fitted conversion file is of another version than its profile")
            if any(prefix + name not in data.files for name in ARRAYS):
                raise ValueError(f"the fitted conversion file has no arrays for the base voice {base!r}")
            arrays = {name: np.asarray(data[prefix + name], dtype=np.float32) for name in ARRAYS}
            exemplars = {name: data[prefix + name] for name in EXEMPLAR_ARRAYS if prefix + name in data.files}
            # A base whose states match stores its frames only where they differ from the main fit's (see save).
            source = prefix if prefix + CONTENT_ARRAYS[0] in data.files or not figures.get("content_language") else ""
            content = {name: data[source + name] for name in CONTENT_ARRAYS if source + name in data.files}
            modulation = {name: np.asarray(data[prefix + name], dtype=np.float32) for name in MODULATION_ARRAYS if prefix + name in data.files}
        share = float(figures.get("content_share", FLAT_CONTENT_SHARE))
        dimensions = arrays["speaker_mean"].shape[0]
        if len(exemplars) < len(EXEMPLAR_ARRAYS):
            exemplars = _no_exemplars(dimensions)
        if len(content) < len(CONTENT_ARRAYS):
            content = _no_content(dimensions)
        return cls(**arrays, **exemplars, **content, **modulation, method=figures.get("method", ""), rate=float(figures.get("rate", 1.0)),
                   transcript=summary.get("transcript", ""), exemplar_language=summary.get("exemplar_language", ""),
                   content_language=figures.get("content_language", "") if len(content["content_keys"]) else "",
                   content_share=share, content_unvoiced_share=float(figures.get("content_unvoiced_share", share)),
                   pairs=int(figures.get("pairs", 0)), version=version,
                   aligned_by=figures.get("aligned_by", ALIGNED_BY_ENVELOPES if figures.get("method") == "parallel" else ""))


def _no_exemplars(dimensions: int) -> dict[str, np.ndarray]:
    return {"exemplar_base": np.zeros((0, dimensions * (2 * EXEMPLAR_CONTEXT + 1)), np.float16),
            "exemplar_speaker": np.zeros((0, dimensions), np.float32), "exemplar_voiced": np.zeros(0, bool)}


def _no_content(dimensions: int) -> dict[str, np.ndarray]:
    return {"content_keys": np.zeros((0, STATE_SIZE), np.float16), "content_values": np.zeros((0, dimensions), np.float32),
            "content_voiced": np.zeros(0, bool)}


def frame_states(states: np.ndarray, frames: int) -> np.ndarray:
    """The speech state (50 a second) under each of `frames` WORLD frames."""
    per_state = round(1000 / STATES_PER_SECOND / FRAME_PERIOD_MS)
    return states[np.minimum(np.arange(frames) // per_state, len(states) - 1)]


def _with_context(frames: np.ndarray) -> np.ndarray:
    """Each frame followed by its EXEMPLAR_CONTEXT neighbours each side (edges repeated)."""
    padded = np.pad(frames, ((EXEMPLAR_CONTEXT, EXEMPLAR_CONTEXT), (0, 0)), mode="edge")
    return np.concatenate([padded[offset: offset + len(frames)] for offset in range(2 * EXEMPLAR_CONTEXT + 1)], axis=1)


def _code(envelope: np.ndarray) -> np.ndarray:
    return pyworld.code_spectral_envelope(np.ascontiguousarray(envelope), SAMPLE_RATE, CODED_DIMENSIONS)


def coded_frames(samples: np.ndarray, warp: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """WORLD analysis, formants moved by `warp`, envelope coded as mel-cepstrum: (f0, coded, aperiodicity, fft_size)."""
    f0, envelope, aperiodicity = world_analysis(samples)
    if warp != 1.0:
        envelope = warp_envelope(envelope, warp)
    return f0, _code(envelope), aperiodicity, (envelope.shape[1] - 1) * 2


def _best_warp(base_envelopes: np.ndarray, speaker_coded: np.ndarray) -> float:
    """The vocal-tract length factor that brings the base voice's frames closest to the speaker's aligned frames.

    Means are removed on both sides, so spectral tilt (which the affine map handles) does not
    pull the choice; what is left is where the formants sit for the same sounds.
    """
    chosen = np.linspace(0, len(base_envelopes) - 1, min(len(base_envelopes), WARP_SAMPLE)).round().astype(int)
    target = speaker_coded[chosen] - speaker_coded[chosen].mean(0)

    def distance(factor: float) -> float:
        coded = _code(warp_envelope(base_envelopes[chosen], factor))[:, 1:]
        return float(np.mean((coded - coded.mean(0) - target) ** 2))

    return float(min(WARP_FACTORS, key=distance))


def _speaking(samples: np.ndarray, frames: int) -> np.ndarray:
    """Per WORLD frame: is this frame within speech (not silence)?"""
    levels = frame_levels(samples, int(SAMPLE_RATE * FRAME_PERIOD_MS / 1000))
    levels = np.resize(levels, frames) if len(levels) >= frames else np.pad(levels, (0, frames - len(levels)), constant_values=-100.0)
    return levels > max(levels.max() - 35.0, -60.0)


def _aligned_pairs(base: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (base frame, reference frame) of the cheapest DTW path (features standardised per voice)."""
    from librosa.sequence import dtw

    def normal(x: np.ndarray) -> np.ndarray:
        return (x - x.mean(0)) / (x.std(0) + 1e-6)

    _, path = dtw(normal(base).T, normal(reference).T, metric="euclidean", global_constraints=True, band_rad=0.3)
    path = path[::-1]
    return path[:, 0], path[:, 1]


def _bank_frames(keep: np.ndarray) -> np.ndarray:
    """Indices of the frames a bank keeps of those marked in `keep`: every BANK_STEP-th, at most MAX_BANK_FRAMES spread evenly."""
    frames = np.flatnonzero(keep)[::BANK_STEP]
    if len(frames) > MAX_BANK_FRAMES:
        frames = frames[np.linspace(0, len(frames) - 1, MAX_BANK_FRAMES).round().astype(int)]
    return frames


def _bank(coded: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return coded[_bank_frames(keep), 1:].astype(np.float32)


def fit_voice(reference: np.ndarray, segments: Iterable[Segment], speak: Callable[[str], np.ndarray] | None,
              progress: Progress = no_progress, exemplar_language: str = "", content_states: np.ndarray | None = None,
              content_language: str = "", content_shares: tuple[float, float] = (CONTENT_SHARE, CONTENT_UNVOICED_SHARE),
              speech_states: Callable[[np.ndarray], np.ndarray] | None = None) -> FittedVoice:
    """Fit the conversion from the base voice (`speak(text)` -> 16 kHz samples) to the speaker in `reference`.

    `segments` are the transcript of `reference` with times; with none (or no `speak`) the fit
    matches feature statistics only. With `exemplar_language` (the transcript's language) a
    parallel fit keeps its aligned pairs, and speech in that language is converted with exemplars.
    With `content_states` (the reference's, `SpeechEncoder.content_states`) and `content_language`
    it keeps the speaker's frames with their states, and speech in that language is matched by them,
    its voiced frames pulled `content_shares[0]` of the way, its unvoiced ones `content_shares[1]`.
    With the reference's `content_states` and `speech_states` (the states of any 16 kHz samples,
    `SpeechEncoder.content_states`), with or without `content_language`, the base voice's frames are
    aligned with the speaker's by what is said (ALIGNED_BY_STATES) instead of by envelope.
    """
    progress("analyse reference", 0.0)
    f0, coded, _, _ = coded_frames(reference)
    speaking = _speaking(reference, len(f0))
    voiced = (f0 > 0) & speaking
    unvoiced = (f0 == 0) & speaking
    # Per aligned segment: the base voice's envelopes, and which of its frames pair with which speaker frame.
    base_envelopes, base_frames, speaker_frames, both_voiced = [], [], [], []
    base_seconds = speaker_seconds = 0.0
    transcript = []
    segments = [segment for segment in segments if segment.text.strip() and segment.end - segment.start > 0.3] if speak else []
    reference_states = frame_states(content_states, len(f0)) if content_states is not None else None
    by_states = speech_states is not None and reference_states is not None
    frame_seconds = FRAME_PERIOD_MS / 1000
    for index, segment in enumerate(segments):
        progress("align with the base voice", 0.1 + 0.7 * index / len(segments))
        first, last = int(segment.start / frame_seconds), min(int(segment.end / frame_seconds), len(f0))
        if last - first < 20:
            continue
        base = speak(segment.text)
        base_f0, base_envelope, _ = world_analysis(base)
        base_speaking = _speaking(base, len(base_f0))
        if base_speaking.sum() < 20:
            continue
        transcript.append(segment.text.strip())
        speaker_seconds += speaking[first:last].sum() * frame_seconds
        base_seconds += base_speaking.sum() * frame_seconds
        if by_states:
            base_index, speaker_index = _aligned_pairs(frame_states(speech_states(base), len(base_f0)), reference_states[first:last])
        else:
            base_index, speaker_index = _aligned_pairs(_code(base_envelope)[:, 1:], coded[first:last, 1:])
        speaker_index = speaker_index + first
        same_voicing = (base_f0[base_index] > 0) == (f0[speaker_index] > 0)
        keep = same_voicing & base_speaking[base_index] & speaking[speaker_index]
        base_envelopes.append(base_envelope)
        base_frames.append(base_index[keep])
        speaker_frames.append(speaker_index[keep])
        both_voiced.append(base_f0[base_index[keep]] > 0)
    progress("fit", 0.85)
    exemplars = _no_exemplars(coded.shape[1] - 1)
    if sum(len(frames) for frames in base_frames) > 200:
        # Statistics of the same words in both voices: what differs is the speaker, not the content.
        speaker_pairs = coded[np.concatenate(speaker_frames), 1:]
        voiced_pairs = np.concatenate(both_voiced)
        paired_envelopes = np.concatenate([envelope[frames] for envelope, frames in zip(base_envelopes, base_frames)])
        warp = _best_warp(paired_envelopes[voiced_pairs], speaker_pairs[voiced_pairs]) if voiced_pairs.sum() > 100 else 1.0
        base_coded = [_code(warp_envelope(envelope, warp) if warp != 1.0 else envelope)[:, 1:] for envelope in base_envelopes]
        base_pairs = np.concatenate([frames[index] for frames, index in zip(base_coded, base_frames)])
        base_mean, base_std = base_pairs.mean(0), base_pairs.std(0)
        speaker_mean, speaker_std = speaker_pairs.mean(0), speaker_pairs.std(0)
        if exemplar_language:
            exemplars = {
                "exemplar_base": np.concatenate([_with_context(frames)[index] for frames, index in zip(base_coded, base_frames)]).astype(np.float16),
                "exemplar_speaker": speaker_pairs.astype(np.float32), "exemplar_voiced": voiced_pairs,
            }
        rate = float(np.clip(speaker_seconds / max(base_seconds, 1e-3), *RATE_LIMITS))
        method, pairs, aligned_by = "parallel", len(base_pairs), ALIGNED_BY_STATES if by_states else ALIGNED_BY_ENVELOPES
    else:
        # No words in common: each utterance is standardised by its own statistics at synthesis.
        speech = coded[speaking, 1:]
        speaker_mean, speaker_std = speech.mean(0), speech.std(0)
        base_mean, base_std = np.zeros_like(speaker_mean), np.zeros_like(speaker_std)
        rate, method, pairs, warp, aligned_by = 1.0, "statistics", 0, 1.0, ""
    content = _no_content(coded.shape[1] - 1)
    if reference_states is not None and content_language:
        spoken = _bank_frames(speaking)
        content = {"content_keys": reference_states[spoken].astype(np.float16),
                   "content_values": coded[spoken, 1:].astype(np.float32), "content_voiced": f0[spoken] > 0}
    progress("fit", 1.0)
    return FittedVoice(
        voiced_bank=_bank(coded, voiced), unvoiced_bank=_bank(coded, unvoiced),
        speaker_mean=speaker_mean.astype(np.float32), speaker_std=speaker_std.astype(np.float32),
        base_mean=base_mean.astype(np.float32), base_std=base_std.astype(np.float32), warp=np.array(warp, dtype=np.float32),
        **exemplars, **content, method=method, rate=rate, transcript=" ".join(transcript),
        exemplar_language=exemplar_language if len(exemplars["exemplar_base"]) else "",
        content_language=content_language if len(content["content_keys"]) else "", content_share=content_shares[0],
        content_unvoiced_share=content_shares[1], pairs=pairs, aligned_by=aligned_by, speaker_modulation=modulation_spectrum(coded[:, 1:]),
    )


def nearest_mean(queries: np.ndarray, keys: np.ndarray, values: np.ndarray, scale: np.ndarray,
                 neighbours: int = NEIGHBOURS) -> np.ndarray:
    """For every query, the mean of the `values` of its `neighbours` nearest `keys` (distance on `scale`)."""
    if len(keys) == 0:
        return queries
    k = min(neighbours, len(keys))
    q, b = queries / scale, keys / scale
    distances = (q**2).sum(1)[:, None] - 2 * q @ b.T + (b**2).sum(1)[None, :]
    nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
    return values[nearest].mean(1)


def _smooth(frames: np.ndarray) -> np.ndarray:
    if len(frames) < SMOOTHING_FRAMES:
        return frames
    kernel = np.ones(SMOOTHING_FRAMES) / SMOOTHING_FRAMES
    padded = np.pad(frames, ((SMOOTHING_FRAMES // 2, SMOOTHING_FRAMES // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, dim], kernel, mode="valid") for dim in range(frames.shape[1])], axis=1)


def _content_frames(mapped: np.ndarray, voiced: np.ndarray, voice: FittedVoice, content_states: np.ndarray) -> np.ndarray:
    """Per frame, the mean of the speaker's frames nearest in speech state and envelope together,
    each part standardised over the speaker's frames and weighted alike (divided by its dimensions' root)."""
    keys = voice.content_keys.astype(np.float32)
    state_mean, state_scale = keys.mean(0), (keys.std(0) + 1e-6) * np.sqrt(keys.shape[1])
    envelope_scale = (voice.content_values.std(0) + 1e-6) * np.sqrt(mapped.shape[1])

    def joined(states: np.ndarray, envelopes: np.ndarray) -> np.ndarray:
        return np.concatenate([(states - state_mean) / state_scale, envelopes / envelope_scale], axis=1, dtype=np.float32)

    bank = joined(keys, voice.content_values)
    return nearest_by_voicing(mapped.copy(), joined(frame_states(content_states, len(mapped)), mapped), voiced,
                              bank, voice.content_values, voice.content_voiced, np.ones(bank.shape[1], np.float32))


def nearest_by_voicing(target: np.ndarray, queries: np.ndarray, voiced: np.ndarray, keys: np.ndarray, values: np.ndarray,
                       keys_voiced: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """`target` with each voiced frame replaced by the mean `values` of its nearest voiced `keys`, unvoiced by
    unvoiced (where the bank holds at least NEIGHBOURS of them)."""
    for mask, paired in ((voiced, keys_voiced), (~voiced, ~keys_voiced)):
        if mask.any() and paired.sum() >= NEIGHBOURS:
            target[mask] = nearest_mean(queries[mask], keys[paired], values[paired], scale)
    return target


def _speaker_frames(features: np.ndarray, mapped: np.ndarray, voiced: np.ndarray, voice: FittedVoice, language: str,
                    content_states: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """Per frame, the real frames of the speaker its envelope is pulled towards (see the module's docstring),
    and whether they were matched by speech states."""
    if content_states is not None and language and language == voice.content_language and len(voice.content_keys):
        return _content_frames(mapped, voiced, voice, content_states), True
    target = mapped.copy()
    if language and language == voice.exemplar_language and len(voice.exemplar_base):
        keys = voice.exemplar_base.astype(np.float32)
        return nearest_by_voicing(target, _with_context(features), voiced, keys, voice.exemplar_speaker, voice.exemplar_voiced,
                                  keys.std(0) + 1e-6), False
    scale = np.concatenate([voice.voiced_bank, voice.unvoiced_bank]).std(0) + 1e-6
    for mask, bank in ((voiced, voice.voiced_bank), (~voiced, voice.unvoiced_bank)):
        if mask.any():
            target[mask] = nearest_mean(mapped[mask], bank, bank, scale)
    return target, False


def mapped_envelopes(features: np.ndarray, voice: FittedVoice, spread_share: float = SPREAD_SHARE) -> np.ndarray:
    """The affine map of coded base-voice envelopes (without c0) to the speaker's: means matched, spreads
    moved `spread_share` of the way (a statistics-only fit standardises by the frames' own statistics)."""
    base_mean, base_std = (voice.base_mean, voice.base_std) if voice.base_std.any() else (features.mean(0), features.std(0))
    return (features - base_mean) * (voice.speaker_std / (base_std + 1e-6)) ** spread_share + voice.speaker_mean


def restore_variance(frames: np.ndarray, speaker_std: np.ndarray, share: float = VARIANCE_SHARE) -> np.ndarray:
    """`frames` with each dimension's spread about its own mean moved `share` of the way to `speaker_std`."""
    if share == 0 or len(frames) < MIN_VARIANCE_FRAMES:
        return frames
    mean = frames.mean(0)
    gain = np.clip(speaker_std / (frames.std(0) + 1e-6), 1 / MAX_VARIANCE_GAIN, MAX_VARIANCE_GAIN) ** share
    return mean + (frames - mean) * gain


def apply_voice(samples: np.ndarray, voice: FittedVoice, f0_mean: float, f0_std_semitones: float,
                pitch_semitones: float = 0.0, nearest_share: float = NEAREST_SHARE, language: str = "",
                spread_share: float = SPREAD_SHARE, variance_share: float = VARIANCE_SHARE,
                content_states: np.ndarray | None = None, content_share: float | None = None,
                modulation_share: float = MODULATION_SHARE) -> np.ndarray:
    """`samples` (the base voice speaking `language`, 16 kHz) re-spoken with the speaker's spectra, pitch level and range.

    `content_states` are the samples' own (`SpeechEncoder.content_states`), for a fit that matches by them
    (pulled `content_share` of the way in every frame where given, else by the fit's own shares)."""
    if len(samples) < SAMPLE_RATE // 20:
        return samples
    f0, coded, aperiodicity, fft_size = coded_frames(samples, float(voice.warp))
    voiced = f0 > 0
    features = coded[:, 1:]
    mapped = mapped_envelopes(features, voice, spread_share)
    converted = coded.copy()
    target, by_content = _speaker_frames(features, mapped, voiced, voice, language, content_states)
    if not by_content:
        share = nearest_share
    elif content_share is None:
        share = np.where(voiced, voice.content_share, voice.content_unvoiced_share)[:, None]
    else:
        share = content_share
    converted[:, 1:] = mapped + share * (target - mapped)
    converted[:, 1:] = match_modulation(restore_variance(_smooth(converted[:, 1:]), voice.speaker_std, variance_share),
                                        voice.speaker_modulation, modulation_share)
    envelope = pyworld.decode_spectral_envelope(np.ascontiguousarray(converted), SAMPLE_RATE, fft_size)
    f0 = map_f0(f0, f0_mean, f0_std_semitones, pitch_semitones)
    output = pyworld.synthesize(f0, envelope, np.ascontiguousarray(aperiodicity), SAMPLE_RATE, FRAME_PERIOD_MS)[: len(samples)]
    scale_rms = np.sqrt(np.mean(samples.astype(np.float64) ** 2) + 1e-12) / np.sqrt(np.mean(output**2) + 1e-12)
    return np.clip(output * scale_rms, -1, 1).astype(np.float32)


def transcribe_reference(whisper_model: faster_whisper.WhisperModel, samples: np.ndarray) -> tuple[str, list[Segment]]:
    """(language, timed segments) of 16 kHz speech, from a faster-whisper model."""
    pieces, info = whisper_model.transcribe(np.asarray(samples, dtype=np.float32), beam_size=1, vad_filter=False)
    return info.language, [Segment(piece.start, piece.end, piece.text.strip()) for piece in pieces]
