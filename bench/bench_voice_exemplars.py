"""Paired A/B of the fitted conversion's last step: exemplars against nearest speaker frames.

Piper samples its voice's noise anew on every call, so two systems that each call it differ by
the base voice as much as by themselves (up to ~0.05 similarity between two runs of one sentence).
Here every base utterance is spoken once and converted both ways (and scored as it is too): with
exemplars and with the nearest speaker frames. Each real reference of bench_voice.py (8 s and
more) is analysed and transcribed as a clone is, and fitted with exemplars in its own language
whatever the default engine keeps (it keeps them for Mandarin only: this benchmark chose that).
Three sentences per language; similarity under both encoders, WER/CER through the packaged
Whisper. Saves bench/results/voice_exemplars.json (`--espeak`: espeak-ng speaks English too).
Run: .venv/bin/python bench/bench_voice_exemplars.py
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
from engines import media  # noqa: E402
from engines.voice import SpeakerEncoder, analyse_reference, speaker_similarity  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE  # noqa: E402
from engines.voice.default import espeak, voice_variant  # noqa: E402
from engines.voice.fitted import apply_voice, fit_voice, transcribe_reference  # noqa: E402
from engines.voice.piper_base import PiperBase  # noqa: E402

TEXTS = {
    "en": "The weather will be dry and sunny for the rest of the week, with a light breeze in the afternoon. "
          "Please remember to water the plants and lock the back door before you leave. "
          "My brother bought a new bicycle, and he rides it to work every morning.",
    "zh": "今天的天气很好，我们一起去公园散步吧。明天可能会下雨，记得带伞。我们下午三点在图书馆门口见面，不要迟到。"
          "这家饭店的菜又便宜又好吃，周末总是有很多人。",
}
STEPS = {"exemplars": lambda language: language, "nearest_frames": lambda language: ""}
UNCONVERTED = "unconverted"  # the base voice as it is: the intelligibility the conversion must keep


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="reference names to run (default: all of 8 s and more)")
    parser.add_argument("--repeats", type=int, default=1, help="base utterances spoken per text (Piper differs each time)")
    parser.add_argument("--espeak", action="store_true", help="espeak-ng for English too (the default without Piper)")
    parser.add_argument("--output", default=str(bench_voice.RESULTS / "voice_exemplars.json"))
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    bench_voice.TEXTS = TEXTS  # the transcriber scores against these
    encoders = {"resemblyzer": SpeakerEncoder(), "voicefilter": bench_voice.SecondEncoder()}
    transcriber = bench_voice.Intelligibility()
    piper = None if args.espeak else PiperBase()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, language, *_ in bench_voice.REFERENCES:
            if name.endswith("_short") or not path.is_file() or (args.only and name not in args.only):
                continue
            speaker = analyse_reference(path, Path(tmp) / f"{name}_clean.wav", encoders["resemblyzer"])
            clean = media.load_audio(speaker.clean_clip, SAMPLE_RATE)
            heard, segments = transcribe_reference(transcriber.model, clean)
            variant = voice_variant(speaker)
            fits = {"espeak": fit_voice(clean, segments, lambda words: espeak(words, heard, variant), exemplar_language=heard)}
            if piper is not None and heard == "en":
                fits["piper"] = fit_voice(clean, segments, piper.speak, exemplar_language=heard)
            references = {label: encoder.embed(clean) for label, encoder in encoders.items()}
            for spoken, text in [item for item in TEXTS.items() for _ in range(args.repeats)]:
                base_voice = "piper" if spoken == "en" and "piper" in fits else "espeak"
                voice = fits[base_voice]
                base = (piper.speak(text, 1.0 / voice.rate) if base_voice == "piper"
                        else espeak(text, spoken, variant, round(165 / voice.rate)))
                outputs = {step: apply_voice(base, voice, speaker.f0_mean, speaker.f0_std_semitones, language=step_language(spoken))
                           for step, step_language in STEPS.items()}
                for step, samples in {**outputs, UNCONVERTED: base}.items():
                    row = {"reference": name, "reference_language": language, "language": spoken, "base": base_voice,
                           "step": step, "exemplars_apply": spoken == voice.exemplar_language}
                    for label, encoder in encoders.items():
                        row[f"similarity_{label}"] = round(speaker_similarity(encoder.embed(samples), references[label]), 3)
                    row["char_error_rate" if spoken == "zh" else "word_error_rate"] = transcriber.error(samples, spoken)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {}
    for same_language in (True, False):
        for step in (*STEPS, UNCONVERTED):
            mine = [row for row in rows if row["step"] == step and row["exemplars_apply"] == same_language]
            figures = {key: round(float(np.mean([row[key] for row in mine if key in row])), 3)
                       for key in ("similarity_resemblyzer", "similarity_voicefilter", "word_error_rate", "char_error_rate")
                       if any(key in row for row in mine)}
            summary[f"{'reference_language' if same_language else 'other_language'}_{step}"] = figures
    results = {"english_base": "espeak-ng" if args.espeak else "Piper", "texts": TEXTS, "summary": summary, "rows": rows,
               "load_average_after": [round(value, 2) for value in os.getloadavg()]}
    output = Path(args.output)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
