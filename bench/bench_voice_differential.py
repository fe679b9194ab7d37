"""The fitted conversion applied to the base voice's own waveform, against WORLD's resynthesis, paired.

Why: resynthesising real speech with WORLD alone costs 0.047 resemblyzer (bench_voice_bound.py), and the
default resynthesises every base utterance (Piper, Kokoro) with WORLD after converting its envelope and F0.
Here the same conversion (the same converted envelope and mapped F0, computed by fitted.apply_voice) is
instead applied to the base waveform: its pitch moved by TD-PSOLA on pitch marks one period apart
(snapped to the largest sample near each), then its envelope changed by a time-varying filter in the STFT
domain, |X| * sqrt(converted envelope / the envelope CheapTrick measures on the pitch-moved signal), the
gain held within +-30 dB. The base voice's own excitation (its noise, its phase) is kept.
Each real reference of 8 s and more is cloned as the app clones it (DefaultSynthesizer, noise-reduced fit);
each base utterance (bench_voice_paired.TEXTS, three sentences per language) is spoken once and converted
both ways: fitted.apply_voice is run twice on it, with pyworld.synthesize replaced the second time.
Similarity under both encoders, WER/CER through the packaged Whisper.
Results: bench/results/voice_differential.json (a run of named references only prints its figures).
Run: .venv/bin/python bench/bench_voice_differential.py [names]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyworld
from scipy.signal import istft, stft

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import bench_voice_paired as paired  # noqa: E402
from engines.progress import no_progress  # noqa: E402
from engines.voice import create_synthesizer  # noqa: E402
from engines.voice import default as default_engine  # noqa: E402
from engines.voice import fitted  # noqa: E402
from engines.voice.analysis import FRAME_PERIOD_MS, SAMPLE_RATE  # noqa: E402
from engines.voice.synthesis import speak_chunks  # noqa: E402

HOP = int(SAMPLE_RATE * FRAME_PERIOD_MS / 1000)
UNVOICED_HALF = 2 * HOP  # 20 ms Hann grains every 10 ms where either side is unvoiced: a plain overlap-add
FILTER_WINDOW = 512
MAX_GAIN_DB = 30.0
SYSTEMS = ("unconverted", "world", "differential")


def _frame(t: float, count: int) -> int:
    return min(int(t / HOP), count - 1)


def analysis_marks(x: np.ndarray, f0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pitch marks one period apart in voiced stretches, each snapped to the largest sample within a quarter period."""
    marks, periods, t = [], [], 0.0
    while t < len(x):
        hz = f0[_frame(t, len(f0))]
        if hz <= 0:
            t += HOP
            continue
        period = SAMPLE_RATE / hz
        lo, hi = int(max(0, t - period / 4)), int(min(len(x), t + period / 4 + 1))
        peak = lo + int(np.argmax(x[lo:hi])) if hi > lo else int(t)
        marks.append(peak)
        periods.append(period)
        t = max(peak, t - period / 4) + period
    return np.array(marks, dtype=float), np.array(periods)


def psola(samples: np.ndarray, f0_old: np.ndarray, f0_new: np.ndarray) -> np.ndarray:
    """`samples` with their pitch moved from `f0_old` to `f0_new` (per 5 ms frame), formants kept."""
    x = samples.astype(np.float64)
    marks, periods = analysis_marks(x, f0_old)
    pad = SAMPLE_RATE // 40
    out = np.zeros(len(x) + 2 * pad)
    t = 0.0
    while t < len(x):
        frame = _frame(t, len(f0_old))
        if f0_old[frame] > 0 and f0_new[frame] > 0 and len(marks):
            k = int(np.argmin(np.abs(marks - t)))
            centre, half, step = int(marks[k]), int(round(periods[k])), SAMPLE_RATE / f0_new[frame]
        else:
            centre, half, step = int(round(t)), UNVOICED_HALF, UNVOICED_HALF
        grain = np.zeros(2 * half + 1)
        first, last = max(centre - half, 0), min(centre + half + 1, len(x))
        grain[first - centre + half:last - centre + half] = x[first:last]
        place = int(round(t)) - half + pad
        if place >= 0:
            end = min(place + len(grain), len(out))
            out[place:end] += (grain * np.hanning(len(grain)))[: end - place]
        t += step
    return out[pad:pad + len(x)]


def envelope_filter(samples: np.ndarray, f0: np.ndarray, envelope: np.ndarray) -> np.ndarray:
    """`samples` filtered frame by frame from their own envelope (CheapTrick, with `f0`) to `envelope`."""
    signal = np.ascontiguousarray(samples, dtype=np.float64)
    own = pyworld.cheaptrick(signal, np.ascontiguousarray(f0), np.arange(len(f0)) * HOP / SAMPLE_RATE, SAMPLE_RATE)
    fft_size = (own.shape[1] - 1) * 2
    shape = dict(fs=SAMPLE_RATE, window="hann", nperseg=FILTER_WINDOW, noverlap=FILTER_WINDOW - HOP, nfft=fft_size)
    _, _, spectrum = stft(signal, boundary="even", padded=True, **shape)
    frames = np.minimum(np.arange(spectrum.shape[1]), len(own) - 1)  # frame i of both is centred at i * HOP
    limit = 10 ** (MAX_GAIN_DB / 20)
    gain = np.clip(np.sqrt(envelope[frames] / np.maximum(own[frames], 1e-20)), 1 / limit, limit).T
    _, filtered = istft(spectrum * gain, boundary=True, **shape)
    return filtered[: len(samples)]


class BothSyntheses:
    """fitted.apply_voice run twice on each base utterance: WORLD's output returned, the differential one kept."""

    def __init__(self):
        self.apply_voice, self.coded_frames = fitted.apply_voice, fitted.coded_frames
        self.differential: list[np.ndarray] = []
        self.source: tuple[np.ndarray, np.ndarray] | None = None
        self.mode = "world"

    def install(self) -> None:
        fitted.coded_frames, fitted.pyworld, default_engine.apply_voice = self._coded_frames, self, self._apply_voice

    def __getattr__(self, name: str):
        return getattr(pyworld, name)

    def synthesize(self, f0, envelope, aperiodicity, rate, frame_period):
        if self.mode == "world":
            return pyworld.synthesize(f0, envelope, aperiodicity, rate, frame_period)
        samples, f0_old = self.source
        return envelope_filter(psola(samples, f0_old, f0), f0, envelope)

    def _coded_frames(self, samples, warp=1.0):
        result = self.coded_frames(samples, warp)
        self.source = (samples, result[0])
        return result

    def _apply_voice(self, samples, *arguments, **keywords):
        self.mode = "differential"
        self.differential.append(self.apply_voice(samples, *arguments, **keywords))
        self.mode = "world"
        return self.apply_voice(samples, *arguments, **keywords)


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    synthesizer = create_synthesizer("default", speech_encoder=lambda: speech_encoder)
    both = BothSyntheses()
    both.install()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, _, speaker, clean, heard, segments, references in paired.cloned_references(work, encoders, transcriber, sys.argv[1:]):
            started = time.monotonic()
            speaker.conversion = synthesizer.fit(speaker, clean, heard, segments, work / f"{name}.npz")
            for spoken, text in paired.TEXTS.items():
                both.differential.clear()
                base_chunks: list[np.ndarray] = []
                world = synthesizer.speak(text, speaker, base_speech=base_chunks)
                joined = {system: speak_chunks(text, SAMPLE_RATE, lambda chunk, pieces=iter(list(pieces)): next(pieces), no_progress)
                          for system, pieces in (("unconverted", base_chunks), ("differential", both.differential))}
                for system, samples in {**joined, "world": world}.items():
                    row = {"reference": name, "reference_language": heard, "language": spoken, "system": system,
                           **paired.scores(samples, spoken, references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            print(f"{name}: {time.monotonic() - started:.0f} s", flush=True)
    summary = {system: paired.mean_scores([row for row in rows if row["system"] == system]) for system in SYSTEMS}
    if sys.argv[1:]:  # a few references are a trial, not the result
        print(json.dumps(summary, indent=2))
    else:
        paired.save_results(bench_voice.RESULTS / "voice_differential.json", summary, rows, texts=paired.TEXTS)


if __name__ == "__main__":
    main()
