"""A Kokoro style pack fitted to the speaker at clone time: an experiment, not adopted (bench/bench_voice_style.py,
docs/voice-measurements.md, "A Kokoro style pack fitted to the speaker"); kept here, beside its benchmark.

Kokoro's voice pack is a (510, 1, 256) array of style vectors, one per phoneme count; the first 128
dimensions condition its decoder (the timbre), the last 128 its prosody predictor. The default speaks
with the stock men's voice `jm_kumo` and leaves the speaker to the WORLD conversion fitted on top. The
conversion maps the mel-cepstral envelope, F0 level and range and the rate, but passes through what
the base voice does with aperiodicity (breathiness), how often it voices and how its pitch moves. So
a pack is searched near `jm_kumo` in the space spanned by the five stock packs' differences from it
(each half apart: 8 coefficients) for the one whose speech of the speaker's own words is closest to
the reference in those statistics, with the mel-cepstral mean and spread as a lighter term (less to
convert, fewer artefacts) and a pull towards `jm_kumo`. Nothing here uses a speaker encoder.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from engines.progress import Progress, no_progress
from engines.voice.fitted import Segment, coded_frames

HALF = 128  # the decoder's half of each style vector, then the prosody predictor's
CEPSTRUM = 24  # mel-cepstral dimensions compared (1..24)
APERIODICITY_BANDS = 4
SAMPLE_SECONDS = 4.0  # of the speaker's words Kokoro says for each candidate
EVALUATIONS = 10  # candidates tried: jm_kumo and the four other stock voices (for the scale), then the search
STEP = 0.25  # the search's first step (coefficients; 1 is a whole stock voice's difference)
LIMIT = 0.5  # no coefficient beyond: the stock voices other than jm_kumo are women's, and a first trial
# without a limit or F0's level moved two men most of the way to jf_alpha / jf_nezumi (CER x3 and x10)
PRIOR = 1.0  # the objective's cost per unit squared coefficient: stay near jm_kumo
ENVELOPE_WEIGHT = 0.2  # the mel-cepstral terms' share
LEVEL_WEIGHT = 0.3  # F0's level; the rest (aperiodicity, voicing, F0 movement) is what the conversion passes through


def style_statistics(samples: np.ndarray) -> np.ndarray:
    """What the candidates are compared by: mel-cepstral mean and spread of voiced frames (1..CEPSTRUM),
    voiced frames' mean aperiodicity in APERIODICITY_BANDS bands, the voiced fraction, and F0's spread
    and the spread of its frame-to-frame steps (in semitones)."""
    f0, coded, aperiodicity, _ = coded_frames(np.asarray(samples, np.float32))
    level = coded[:, 0]  # the mel-cepstrum's first coefficient: the frame's level
    speaking = level > np.percentile(level, 30)
    voiced = (f0 > 0) & speaking
    if voiced.sum() < 20:
        return np.full(2 * CEPSTRUM + APERIODICITY_BANDS + 4, np.nan)
    cepstra = coded[voiced, 1:CEPSTRUM + 1]
    bands = np.array_split(np.arange(aperiodicity.shape[1]), APERIODICITY_BANDS)
    band_means = [float(aperiodicity[voiced][:, band].mean()) for band in bands]
    semitones = 12 * np.log2(f0[voiced])
    steps = np.diff(12 * np.log2(np.where(f0 > 0, f0, 1.0)))[(voiced[1:] & voiced[:-1])]
    return np.concatenate([cepstra.mean(0), cepstra.std(0), band_means,
                           [voiced.sum() / max(speaking.sum(), 1), semitones.std(), steps.std() if len(steps) else 0.0],
                           [np.median(semitones)]])


def weights() -> np.ndarray:
    """Each statistic's weight: the envelope's terms ENVELOPE_WEIGHT, split over their dimensions, F0's
    level LEVEL_WEIGHT, the rest the remainder."""
    rest = 1 - ENVELOPE_WEIGHT - LEVEL_WEIGHT
    return np.concatenate([np.full(2 * CEPSTRUM, ENVELOPE_WEIGHT / (2 * CEPSTRUM)),
                           np.full(APERIODICITY_BANDS + 3, rest / (APERIODICITY_BANDS + 3)), [LEVEL_WEIGHT]])


def directions(voices: dict[str, np.ndarray], base: str) -> list[np.ndarray]:
    """Each other stock pack's difference from `base`, its decoder half and its prosody half apart."""
    out = []
    for name in sorted(voices):
        if name == base:
            continue
        difference = voices[name] - voices[base]
        for half in (slice(0, HALF), slice(HALF, 2 * HALF)):
            part = np.zeros_like(difference)
            part[..., half] = difference[..., half]
            out.append(part)
    return out


def sample_text(segments: list[Segment], seconds: float = SAMPLE_SECONDS) -> str:
    """The speaker's first words, up to about `seconds` of their speech."""
    words, spoken = [], 0.0
    for segment in segments:
        if not segment.text.strip():
            continue
        words.append(segment.text.strip())
        spoken += segment.end - segment.start
        if spoken >= seconds:
            break
    return " ".join(words)


def fit_style(reference: np.ndarray, segments: list[Segment], language: str, voices: dict[str, np.ndarray],
              speak: Callable[[str, np.ndarray], np.ndarray], base: str = "jm_kumo", evaluations: int = EVALUATIONS,
              seed: int = 0, progress: Progress = no_progress) -> tuple[np.ndarray, dict]:
    """The style pack for this speaker and what the search found: (pack, summary).

    `speak(text, pack)` -> 16 kHz samples of Kokoro saying `text` (in `language`) with `pack`. The
    first candidates are `base` and every stock voice (these set the scale only); then a (1+1) evolution
    strategy from `base`, each coefficient within LIMIT
    (a step grows by 1.5 on success and shrinks by 0.8 otherwise). Statistics are scaled by their spread
    over the stock voices' speech, so that no one dominates by its units."""
    text = sample_text(segments)
    target = style_statistics(reference)
    spread_over = directions(voices, base)
    others = sorted(name for name in voices if name != base)
    rng = np.random.default_rng(seed)

    def pack(coefficients: np.ndarray) -> np.ndarray:
        return (voices[base] + sum(c * d for c, d in zip(coefficients, spread_over))).astype(np.float32)

    tried: list[tuple[np.ndarray, np.ndarray]] = []  # (coefficients, statistics)
    progress("style", 0.0)
    starts = [np.zeros(len(spread_over))]
    for index, _ in enumerate(others):
        unit = np.zeros(len(spread_over))
        unit[2 * index: 2 * index + 2] = 1.0
        starts.append(unit)
    for coefficients in starts:
        tried.append((coefficients, style_statistics(speak(text, pack(coefficients)))))
        progress("style", len(tried) / evaluations)
    scale = np.nanstd(np.stack([stats for _, stats in tried]), axis=0) + 1e-3
    weight = weights()

    def objective(coefficients: np.ndarray, stats: np.ndarray) -> float:
        if np.isnan(stats).any():
            return float("inf")
        return float(np.sum(weight * ((stats - target) / scale) ** 2) + PRIOR * np.sum(coefficients ** 2))

    # The search starts from jm_kumo; the other stock voices, beyond LIMIT, only set the scale.
    best_coefficients, best_value = starts[0], objective(*tried[0])
    step = STEP
    values = [round(objective(c, s), 4) for c, s in tried]
    while len(tried) < evaluations:
        candidate = np.clip(best_coefficients + step * rng.standard_normal(len(best_coefficients)), -LIMIT, LIMIT)
        stats = style_statistics(speak(text, pack(candidate)))
        tried.append((candidate, stats))
        value = objective(candidate, stats)
        values.append(round(value, 4))
        if value < best_value:
            best_coefficients, best_value, step = candidate, value, step * 1.5
        else:
            step *= 0.8
        progress("style", len(tried) / evaluations)
    summary = {"base": base, "coefficients": [round(float(c), 3) for c in best_coefficients],
               "directions": [f"{name}:{half}" for name in others for half in ("decoder", "prosody")],
               "objective": round(best_value, 4), "objective_base": values[0], "values": values,
               "sample_words": text, "evaluations": len(tried)}
    return pack(best_coefficients), summary
