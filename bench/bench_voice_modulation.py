"""Matching the speaker's modulation spectrum after the conversion, paired: not, halfway, in full.

The conversion pulls each frame towards the mean of the speaker's nearest real frames and smooths it
over time; the global-variance step then restores each dimension's total spread. How that spread is
shared out between slow and fast movement is the trajectories' modulation spectrum
(engines.voice.modulation): matched part of the way to the speaker's (measured on the reference at
clone time) with MODULATION_SHARE. Each real reference of bench_voice.py (8 s and more) is fitted
once for each base voice the default speaks it with, as the default fits it (aligned by speech
states), and each base utterance is spoken once and converted three ways:
  English speakers   their English (Piper; bench_voice_paired.TEXTS, three sentences) and their Chinese
                     (Kokoro; CHINESE_PARAGRAPH, nine sentences),
  Mandarin speakers  their Mandarin (Kokoro with exemplars; CHINESE_PARAGRAPH) and their English (Kokoro),
                     and their Mandarin by espeak-ng with exemplars (what speaks it where Kokoro is off).
Rows `unconverted` give the base voice as it is, the intelligibility the conversion must keep.
Similarity under both encoders, WER/CER through the packaged Whisper.
Results: bench/results/voice_modulation.json. Run: .venv/bin/python bench/bench_voice_modulation.py [names]
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import bench_voice_paired as paired  # noqa: E402
from engines.voice.default import state_matching  # noqa: E402
from engines.voice.fitted import MODULATION_SHARE, apply_voice, fit_voice  # noqa: E402
from engines.voice.kokoro_base import KokoroBase  # noqa: E402
from engines.voice.piper_base import PiperBase  # noqa: E402
from paired_texts import CHINESE_PARAGRAPH, TEXTS  # noqa: E402

SHARES = {"not_matched": 0.0, "halfway": 0.5, "in_full": 1.0}


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    bench_voice.TEXTS = texts = {"en": TEXTS["en"], "zh": CHINESE_PARAGRAPH}
    piper, kokoro = PiperBase(), KokoroBase()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, speaker, clean, heard, segments, references in paired.cloned_references(Path(tmp), encoders, transcriber, sys.argv[1:] or None):
            states = speech_encoder.content_states(clean)
            bases = paired.measured_bases(heard, speaker, piper, kokoro)
            for base, (speak_words, exemplar_language, speaks) in bases.items():
                fit = fit_voice(clean, segments, speak_words, exemplar_language=exemplar_language,
                                **({"content_states": states, "speech_states": speech_encoder.content_states} | state_matching(heard, base, states)))
                for language, speak in speaks.items():
                    spoken = speak(texts[language], 1.0 / fit.rate)
                    spoken_states = speech_encoder.content_states(spoken) if fit.content_language == language else None
                    outputs = {"unconverted": spoken}
                    outputs.update({system: apply_voice(spoken, fit, speaker.f0_mean, speaker.f0_std_semitones, language=language,
                                                        content_states=spoken_states, modulation_share=share)
                                    for system, share in SHARES.items()})
                    paired.score_outputs(outputs, rows, name, heard, base, language, references, encoders, transcriber)
    summary = paired.grouped_scores(rows, ("unconverted", *SHARES))
    for system in ("unconverted", *SHARES):
        neural = [row for row in rows if row["system"] == system and row["base"] != "espeak-ng"]
        summary[f"all neural rows, {system}"] = {**paired.mean_scores(neural), "rows": len(neural)}
    paired.save_results(bench_voice.RESULTS / "voice_modulation.json", summary, rows, texts=texts, shares=SHARES,
                        default_share=MODULATION_SHARE)


if __name__ == "__main__":
    main()
