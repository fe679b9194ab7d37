"""Mandarin speakers' English: espeak-ng with its parallel fit, or Piper matched by speech states.

Piper cannot say a Mandarin speaker's words, so its fit to them rests on statistics (each
utterance standardised by its own) and on the speech states of their Mandarin: each frame of
Piper's English is pulled towards the speaker's frames nearest in Whisper's speech states and
envelope together. Whisper's encoder is multilingual, so the same sounds in two languages share
states. Each Mandarin reference of bench_voice.py (8 s and more) is cloned as the app does, and
the three English sentences of bench_voice_paired.TEXTS are spoken twice (Piper draws its voice
anew each time), each base utterance converted every way:
  espeak_parallel      espeak-ng with the fit on the speaker's own words (the default before),
  piper_nearest        Piper, statistics fit, pulled halfway to the nearest frames,
  piper_states_<share> Piper, statistics fit, matched by speech states at that share,
and both base voices as they are. Similarity under both encoders, WER through the packaged
Whisper. Results: bench/results/voice_cross_lingual.json.
Run: .venv/bin/python bench/bench_voice_cross_lingual.py
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import bench_voice_paired as paired  # noqa: E402
from engines.voice.default import espeak, voice_variant  # noqa: E402
from engines.voice.fitted import apply_voice, fit_voice  # noqa: E402
from engines.voice.piper_base import PiperBase  # noqa: E402

MANDARIN_REFERENCES = ["zh_cosyvoice_14s", "zh_musetalk_sun_22s"]
SHARES = (0.5, 0.6, 0.75)
REPEATS = 2


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    piper = PiperBase()
    text = paired.TEXTS["en"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, speaker, clean, heard, segments, references in paired.cloned_references(Path(tmp), encoders, transcriber, MANDARIN_REFERENCES):
            variant = voice_variant(speaker)
            espeak_fit = fit_voice(clean, segments, lambda words: espeak(words, heard, variant), exemplar_language=heard)
            piper_fit = fit_voice(clean, [], None, content_states=speech_encoder.content_states(clean), content_language="en")
            for repeat in range(REPEATS):
                espeak_base = espeak(text, "en", variant, round(165 / espeak_fit.rate))
                piper_base = piper.speak(text)
                piper_states = speech_encoder.content_states(piper_base)
                outputs = {"espeak_unconverted": espeak_base,
                           "espeak_parallel": apply_voice(espeak_base, espeak_fit, speaker.f0_mean, speaker.f0_std_semitones, language="en"),
                           "piper_unconverted": piper_base,
                           "piper_nearest": apply_voice(piper_base, piper_fit, speaker.f0_mean, speaker.f0_std_semitones)}
                outputs.update({f"piper_states_{share}": apply_voice(piper_base, piper_fit, speaker.f0_mean, speaker.f0_std_semitones,
                                                                     language="en", content_states=piper_states, content_share=share)
                                for share in SHARES})
                for step, samples in outputs.items():
                    row = {"reference": name, "repeat": repeat, "step": step,
                           **paired.scores(samples, "en", references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    steps = list(dict.fromkeys(row["step"] for row in rows))
    summary = {step: paired.mean_scores([row for row in rows if row["step"] == step]) for step in steps}
    per_reference = {name: {step: paired.mean_scores([row for row in rows if row["step"] == step and row["reference"] == name]) for step in steps}
                     for name in dict.fromkeys(row["reference"] for row in rows)}
    paired.save_results(bench_voice.RESULTS / "voice_cross_lingual.json", summary, rows, text=text, repeats=REPEATS,
                        per_reference=per_reference)


if __name__ == "__main__":
    main()
