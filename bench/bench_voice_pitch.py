"""Paired: which pitch tracker the fitted conversion should use, DIO (the default) or Harvest.

DIO marks only 0.21 of Kennedy's cleaned reference as voiced (an old broadcast recording of a
speech to a crowd), Harvest 0.65; over the other references DIO finds 0.62-0.88 and Harvest
0.76-0.95. Frames marked unvoiced fill the unvoiced bank and are resynthesised as noise, so a
tracker that misses voicing could hold the clone back, most of all for the lowest-scoring speaker.
Harvest costs about 0.16-0.20 s per second of speech on these cores against DIO's 0.01 (a
conversion at synthesis: about 0.29 s per second of speech against 0.08).
Each reference of bench_voice.py (8 s and more) is fitted twice by the default engine, once per
tracker (in the fit Harvest tracks the reference and the base voice's speech of its words); each
base utterance (three sentences per language, bench_voice_paired.TEXTS) is spoken once and converted
  dio           the default: DIO on both sides,
  harvest_fit   Harvest in the fit (clone time only, no cost at synthesis), DIO at synthesis,
  harvest_both  Harvest on both sides,
and scored as bench_voice_paired does. Results: bench/results/voice_pitch.json.
Run: .venv/bin/python bench/bench_voice_pitch.py
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyworld

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice_paired as paired  # noqa: E402  (puts the project root on sys.path)
from engines.voice import analysis  # noqa: E402
from engines.voice.default import PIPER, DefaultSynthesizer, espeak, voice_variant  # noqa: E402
from engines.voice.fitted import FittedVoice, apply_voice  # noqa: E402

DIO = analysis._f0


def harvest(signal: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    return pyworld.harvest(signal, rate, f0_floor=60.0, f0_ceil=500.0, frame_period=analysis.FRAME_PERIOD_MS)


TRACKERS = {"dio": DIO, "harvest": harvest}
STEPS = {"dio": ("dio", "dio"), "harvest_fit": ("harvest", "dio"), "harvest_both": ("harvest", "harvest")}  # (fit, synthesis)


def tracked_by(name: str) -> None:
    """Every WORLD analysis from here on tracks pitch with `name`."""
    analysis._f0 = TRACKERS[name]


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    synthesizer = DefaultSynthesizer(speech_encoder=lambda: speech_encoder)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, speaker, clean, heard, segments, references in paired.cloned_references(Path(tmp), encoders, transcriber, sys.argv[1:] or None):
            variant = voice_variant(speaker)
            fits = {}
            for tracker in TRACKERS:
                tracked_by(tracker)
                conversion = synthesizer.fit(speaker, clean, heard, segments, Path(tmp) / f"{name}_{tracker}.npz")
                fits[tracker] = {"espeak": FittedVoice.load(conversion),
                                 "piper": FittedVoice.load(conversion, PIPER) if PIPER in conversion.get("bases", {}) else None}
            tracked_by("dio")
            for spoken, text in paired.TEXTS.items():
                base_voice = "piper" if spoken == "en" and fits["dio"]["piper"] is not None else "espeak"
                rate = fits["dio"][base_voice].rate
                base = synthesizer.piper().speak(text, 1.0 / rate) if base_voice == "piper" else espeak(text, spoken, variant, round(165 / rate))
                base_states = speech_encoder.content_states(base) if fits["dio"][base_voice].content_language == spoken else None
                outputs = {"unconverted": base}
                for step, (fit_tracker, synthesis_tracker) in STEPS.items():
                    tracked_by(synthesis_tracker)
                    outputs[step] = apply_voice(base, fits[fit_tracker][base_voice], speaker.f0_mean, speaker.f0_std_semitones,
                                                language=spoken, content_states=base_states)
                tracked_by("dio")
                for step, samples in outputs.items():
                    row = {"reference": name, "language": spoken, "reference_language": spoken == heard, "base": base_voice, "step": step,
                           **paired.scores(samples, spoken, references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {}
    for step in ("unconverted", *STEPS):
        summary[step] = paired.mean_scores([row for row in rows if row["step"] == step])
    paired.save_results(paired.bench_voice.RESULTS / "voice_pitch.json", summary, rows, texts=paired.TEXTS)


if __name__ == "__main__":
    main()
