"""Which espeak-ng variant the fitted conversion starts from: similarity and intelligibility per variant.

The default speaks espeak-ng's `m3` (men) or `f3` (women) variant and converts it. Here every real
reference of bench_voice.py (8 s and more) is fitted once per candidate variant (the same variant
speaking the transcript and the text, exemplars where the default keeps them, spreads halfway)
and the rows espeak-ng speaks in the default are measured: English speakers' Chinese, the Mandarin
speaker's Chinese and English. Three sentences per language; similarity under both encoders,
WER/CER through the packaged Whisper, and the variant's own unconverted error rate (the issue's
limit is 1.5x of it). The fit's own residual (mean mel-cepstral distance between the mapped base
frames and the speaker frames they are paired with) is reported too: a choice a clone could make
without any speaker encoder. espeak-ng is deterministic, so reruns differ only by Whisper.
Saves bench/results/voice_variants.json. Run: .venv/bin/python bench/bench_voice_variants.py
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
from bench_voice_paired import TEXTS, as_default, cloned_references  # noqa: E402
from engines.voice import SpeakerEncoder, speaker_similarity  # noqa: E402
from engines.voice.default import FEMALE_F0, espeak  # noqa: E402
from engines.voice.fitted import EXEMPLAR_CONTEXT, FittedVoice, apply_voice, fit_voice, mapped_envelopes  # noqa: E402
from engines.voice.self_evaluation import VoiceFilterEncoder  # noqa: E402

# Candidates by register, the default's first.
VARIANTS = {"male": ("m3", "m1", "m2", "m4", "m5", "m6", "m7", "max"), "female": ("f3", "f1", "f2", "f4", "f5")}


def residual(fit: FittedVoice) -> float:
    """Mean distance between the mapped base frames of the aligned pairs and the speaker frames paired with them."""
    dimensions = fit.speaker_mean.shape[0]
    base = fit.exemplar_base[:, EXEMPLAR_CONTEXT * dimensions:(EXEMPLAR_CONTEXT + 1) * dimensions].astype(np.float32)
    mapped = mapped_envelopes(base, fit)
    return round(float(np.linalg.norm(mapped - fit.exemplar_speaker, axis=1).mean()), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", help="reference names to run (default: all of 8 s and more)")
    parser.add_argument("--output", default=str(bench_voice.RESULTS / "voice_variants.json"))
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    bench_voice.TEXTS = TEXTS  # the transcriber scores against these
    encoders = {"resemblyzer": SpeakerEncoder(), "voicefilter": VoiceFilterEncoder()}
    transcriber = bench_voice.Intelligibility()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, speaker, clean, heard, segments, references in cloned_references(Path(tmp), encoders, transcriber, args.only):
            spoken_by_espeak = ("zh",) if heard == "en" else ("zh", "en")  # English speakers' English is Piper's
            for variant in VARIANTS["female" if speaker.f0_mean > FEMALE_F0 else "male"]:
                # Pairs are kept for every fit (the residual reads them); apply_voice uses them where the default does.
                fit = fit_voice(clean, segments, lambda words: espeak(words, heard, variant), exemplar_language=heard)
                for spoken in spoken_by_espeak:
                    base = espeak(TEXTS[spoken], spoken, variant, round(165 / fit.rate))
                    converted = apply_voice(base, fit, speaker.f0_mean, speaker.f0_std_semitones, language=as_default(spoken))
                    error = "char_error_rate" if spoken == "zh" else "word_error_rate"
                    row = {"reference": name, "language": spoken, "variant": variant, "default": variant in ("m3", "f3"),
                           "fit_residual": residual(fit), "warp": round(float(fit.warp), 2)}
                    for label, encoder in encoders.items():
                        row[f"similarity_{label}"] = round(speaker_similarity(encoder.embed(converted), references[label]), 3)
                    row[error] = transcriber.error(converted, spoken)
                    row[f"unconverted_{error}"] = transcriber.error(base, spoken)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {}
    for slot in range(max(len(variants) for variants in VARIANTS.values())):
        mine = [row for row in rows if row["variant"] in {variants[slot] for variants in VARIANTS.values() if slot < len(variants)}]
        if mine:
            label = "/".join(variants[slot] for variants in VARIANTS.values() if slot < len(variants))
            summary[label] = {key: round(float(np.mean([row[key] for row in mine if key in row])), 3)
                              for key in ("similarity_resemblyzer", "similarity_voicefilter", "char_error_rate", "word_error_rate",
                                          "unconverted_char_error_rate", "unconverted_word_error_rate")
                              if any(key in row for row in mine)}
    results = {"texts": TEXTS, "summary": summary, "rows": rows, "load_average_after": [round(value, 2) for value in os.getloadavg()]}
    Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
