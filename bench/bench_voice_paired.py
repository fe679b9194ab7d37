"""Paired A/B of one step of the fitted conversion: each base utterance converted both ways.

Piper samples its voice's noise anew on every call, so two systems that each call it differ by
the base voice as much as by themselves (up to ~0.05 similarity between two runs of one sentence).
Here every base utterance is spoken once and converted both ways (and scored as it is too).
Each real reference of bench_voice.py (8 s and more) is analysed and transcribed as a clone is and
fitted with exemplars in its own language. Comparisons (`--compare`):
  exemplars  exemplars against the nearest speaker frames, whatever the default engine keeps (it
             keeps exemplars for Mandarin only: this comparison chose that);
             results/voice_exemplars.json (`--espeak`: voice_exemplars_espeak.json)
  spread     each dimension's spread moved halfway to the speaker's (SPREAD_SHARE) against in full,
             exemplars where the default uses them; results/voice_spread.json
  variance   the output's spread over the utterance moved halfway back to the speaker's
             (VARIANCE_SHARE) against not, in full as a third step; the rest as the default;
             results/voice_variance.json
Three sentences per language; similarity under both encoders, WER/CER through the packaged
Whisper. `--espeak`: espeak-ng speaks English too (the default without Piper).
Run: .venv/bin/python bench/bench_voice_paired.py --compare spread
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
from engines.speech_states import SpeechEncoder  # noqa: E402
from engines.voice import SpeakerEncoder, analyse_reference, speaker_similarity  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE  # noqa: E402
from engines.voice.default import ESPEAK, EXEMPLAR_LANGUAGES, KOKORO, PIPER, espeak, voice_variant  # noqa: E402
from engines.voice.self_evaluation import VoiceFilterEncoder  # noqa: E402
from engines.voice.fitted import SPREAD_SHARE, VARIANCE_SHARE, apply_voice, fit_voice, transcribe_reference  # noqa: E402
from engines.voice.kokoro_base import KokoroBase  # noqa: E402
from engines.voice.piper_base import PiperBase  # noqa: E402

from paired_texts import TEXTS  # noqa: E402


def as_default(language: str) -> str:
    """The language apply_voice is told by the default engine: exemplars only where it keeps them."""
    return language if language in EXEMPLAR_LANGUAGES else ""


# Per comparison, its steps: the spoken language -> apply_voice's keyword arguments.
COMPARISONS = {
    "exemplars": {"exemplars": lambda language: {"language": language},
                  "nearest_frames": lambda language: {"language": ""}},
    "spread": {"half_spread": lambda language: {"language": as_default(language), "spread_share": SPREAD_SHARE},
               "full_spread": lambda language: {"language": as_default(language), "spread_share": 1.0}},
    "variance": {"variance_restored": lambda language: {"language": as_default(language), "variance_share": VARIANCE_SHARE},
                 "variance_not_restored": lambda language: {"language": as_default(language), "variance_share": 0.0},
                 "variance_in_full": lambda language: {"language": as_default(language), "variance_share": 1.0}},
}
UNCONVERTED = "unconverted"  # the base voice as it is: the intelligibility the conversion must keep


def scoring() -> tuple[dict, "bench_voice.Intelligibility", SpeechEncoder]:
    """What the paired benchmarks score with: both speaker encoders and the packaged Whisper (scoring
    against TEXTS), with its encoder for speech states."""
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    bench_voice.TEXTS = TEXTS
    transcriber = bench_voice.Intelligibility()
    return {"resemblyzer": SpeakerEncoder(), "voicefilter": VoiceFilterEncoder()}, transcriber, SpeechEncoder(transcriber.model.model)


SCORE_KEYS = ("similarity_resemblyzer", "similarity_voicefilter", "word_error_rate", "char_error_rate")


def mean_scores(rows: list[dict]) -> dict:
    """Each score's mean over the rows that have it."""
    return {key: round(float(np.mean([row[key] for row in rows if key in row])), 3) for key in SCORE_KEYS if any(key in row for row in rows)}


def save_results(path: Path, summary: dict, rows: list[dict], **described) -> None:
    """The results at `path` (what the run was, its summary, its rows), with the summary printed."""
    results = {**described, "summary": summary, "rows": rows, "load_average_after": [round(value, 2) for value in os.getloadavg()]}
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2))


def scores(samples: np.ndarray, spoken: str, references: dict, encoders: dict, transcriber) -> dict:
    """Similarity to the reference under each encoder, and the word (English) or character (Chinese) error rate."""
    return {**{f"similarity_{label}": round(speaker_similarity(encoder.embed(samples), references[label]), 3)
               for label, encoder in encoders.items()},
            "char_error_rate" if spoken == "zh" else "word_error_rate": transcriber.error(samples, spoken)}


def cloned_references(work: Path, encoders: dict, transcriber, only: list[str] | None):
    """Per real reference of 8 s and more, as a clone sees it: (name, language, speaker, clean samples,
    language heard, timed transcript, the clean reference's embedding under each encoder)."""
    for name, path, language, *_ in bench_voice.REFERENCES:
        if name.endswith("_short") or not path.is_file() or (only and name not in only):
            continue
        speaker = analyse_reference(path, work / f"{name}_clean.wav", encoders["resemblyzer"])
        clean = media.load_audio(speaker.clean_clip, SAMPLE_RATE)
        heard, segments = transcribe_reference(transcriber.model, clean)
        yield name, language, speaker, clean, heard, segments, {label: encoder.embed(clean) for label, encoder in encoders.items()}


def score_outputs(outputs: dict, rows: list[dict], name: str, heard: str, base: str, language: str, references: dict,
                  encoders: dict, transcriber) -> None:
    """Each of `outputs` ({system: samples}, one base utterance converted several ways) scored, appended to `rows` and printed."""
    for system, samples in outputs.items():
        rows.append({"reference": name, "reference_language": heard, "base": base or "espeak-ng", "language": language, "system": system,
                     **scores(samples, language, references, encoders, transcriber)})
        print(json.dumps(rows[-1]), flush=True)


# The rows of the paired benchmarks of the default's bases: (language heard in the reference, language spoken, base).
GROUPS = {"english_speakers_english": ("en", "en", PIPER), "english_speakers_chinese": ("en", "zh", KOKORO),
          "mandarin_speakers_mandarin": ("zh", "zh", KOKORO), "mandarin_speakers_english": ("zh", "en", KOKORO),
          "mandarin_speakers_mandarin_by_espeak_ng": ("zh", "zh", "espeak-ng")}


def grouped_scores(rows: list[dict], systems: tuple[str, ...]) -> dict:
    """Mean scores per GROUPS row and system."""
    summary = {}
    for group, (heard, language, base) in GROUPS.items():
        for system in systems:
            mine = [row for row in rows if (row["reference_language"], row["language"], row["base"], row["system"]) == (heard, language, base, system)]
            if mine:
                summary[f"{group}, {system}"] = {**mean_scores(mine), "rows": len(mine)}
    return summary


def measured_bases(heard: str, speaker, piper: PiperBase, kokoro: KokoroBase) -> dict:
    """The base voices the default speaks someone cloned from `heard` speech with, as DefaultSynthesizer fits
    and speaks them, and for Mandarin speakers espeak-ng's Mandarin, which speaks where Kokoro is off:
    {base: (speak the reference's words, exemplar language, {language spoken: speak(text, speed)})}."""
    bases = {PIPER: (piper.speak, "", {"en": piper.speak})} if heard == "en" else {}
    bases[KOKORO] = (lambda words: kokoro.speak(words, heard), "zh" if heard == "zh" else "",
                     {language: (lambda text, speed, language=language: kokoro.speak(text, language, speed))
                      for language in (("zh",) if heard == "en" else ("zh", "en"))})
    if heard == "zh":
        variant = voice_variant(speaker)
        bases[ESPEAK] = (lambda words: espeak(words, "zh", variant), "zh",
                         {"zh": lambda text, speed: espeak(text, "zh", variant, round(165 * speed))})
    return bases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="reference names to run (default: all of 8 s and more)")
    parser.add_argument("--repeats", type=int, default=1, help="base utterances spoken per text (Piper differs each time)")
    parser.add_argument("--espeak", action="store_true", help="espeak-ng for English too (the default without Piper)")
    parser.add_argument("--compare", choices=sorted(COMPARISONS), default="exemplars")
    parser.add_argument("--output", help="default: results/voice_<compare>[_espeak].json")
    args = parser.parse_args()
    steps = COMPARISONS[args.compare]
    output = Path(args.output or bench_voice.RESULTS / f"voice_{args.compare}{'_espeak' if args.espeak else ''}.json")
    encoders, transcriber, _ = scoring()
    piper = None if args.espeak else PiperBase()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, language, speaker, clean, heard, segments, references in cloned_references(Path(tmp), encoders, transcriber, args.only):
            variant = voice_variant(speaker)
            fits = {"espeak": fit_voice(clean, segments, lambda words: espeak(words, heard, variant), exemplar_language=heard)}
            if piper is not None and heard == "en":
                fits["piper"] = fit_voice(clean, segments, piper.speak, exemplar_language=heard)
            for spoken, text in [item for item in TEXTS.items() for _ in range(args.repeats)]:
                base_voice = "piper" if spoken == "en" and "piper" in fits else "espeak"
                voice = fits[base_voice]
                base = (piper.speak(text, 1.0 / voice.rate) if base_voice == "piper"
                        else espeak(text, spoken, variant, round(165 / voice.rate)))
                outputs = {step: apply_voice(base, voice, speaker.f0_mean, speaker.f0_std_semitones, **arguments(spoken))
                           for step, arguments in steps.items()}
                for step, samples in {**outputs, UNCONVERTED: base}.items():
                    row = {"reference": name, "reference_language": language, "language": spoken, "base": base_voice,
                           "step": step, "exemplars_apply": spoken == voice.exemplar_language,
                           **scores(samples, spoken, references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {}
    for same_language in (True, False):
        for step in (*steps, UNCONVERTED):
            mine = [row for row in rows if row["step"] == step and row["exemplars_apply"] == same_language]
            summary[f"{'reference_language' if same_language else 'other_language'}_{step}"] = mean_scores(mine)
    save_results(output, summary, rows, compare=args.compare, english_base="espeak-ng" if args.espeak else "Piper", texts=TEXTS)


if __name__ == "__main__":
    main()
