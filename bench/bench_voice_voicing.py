"""Voiced frames pulled further towards the speaker than unvoiced ones, where the match is by speech states.

Where the default matches a language to the speaker's frames by Whisper's speech states
(STATE_MATCHED in engines/voice/default.py), each frame is pulled part of the way towards the
speaker's frames it matched. The speaker is heard mostly in voiced frames (vowels, voiced
consonants: the formants and their harmonics), while unvoiced ones (s, f, t, the aspiration of
Mandarin's p t k) carry little of the voice and much of what tells words apart. Here each base
utterance is spoken once and converted with each pair of shares (voiced, unvoiced), paired:
  English speakers, their English (Piper) and their Chinese (espeak-ng), fitted as a clone fits them:
    split_0.75_0.45  the default now (CONTENT_SHARE, CONTENT_UNVOICED_SHARE),
    flat_0.6         one share for every frame, the default before (FLAT_CONTENT_SHARE),
    flat_0.75        every frame as far as the voiced ones now;
  men cloned from Mandarin, their English (Piper on statistics and states):
    flat_0.75        the default (STATE_MATCHED),
    split_0.9_0.6    the split tried for them.
Each real reference of bench_voice.py (8 s and more), the three sentences per language of
bench_voice_paired.TEXTS; similarity under both encoders, WER/CER through the packaged Whisper.
Results: bench/results/voice_voicing.json.
Run: .venv/bin/python bench/bench_voice_voicing.py [reference names]
"""
from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import bench_voice_paired as paired  # noqa: E402
from engines.voice.default import ESPEAK, PIPER, STATE_MATCHED, espeak, voice_variant  # noqa: E402
from engines.voice.fitted import FLAT_CONTENT_SHARE, apply_voice, fit_voice  # noqa: E402
from engines.voice.piper_base import PiperBase  # noqa: E402

# Per reference language: the (voiced, unvoiced) shares compared, the default's first.
SHARES = {"en": {"split_0.75_0.45": STATE_MATCHED["en"][PIPER][1], f"flat_{FLAT_CONTENT_SHARE}": (FLAT_CONTENT_SHARE,) * 2,
                 "flat_0.75": (0.75, 0.75)},
          "zh": {"flat_0.75": STATE_MATCHED["zh"][PIPER][1], "split_0.9_0.6": (0.9, 0.6)}}


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    piper = PiperBase()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, speaker, clean, heard, segments, references in paired.cloned_references(Path(tmp), encoders, transcriber, sys.argv[1:] or None):
            variant = voice_variant(speaker)
            if heard not in SHARES or (heard == "zh" and variant != "m3"):
                continue  # women cloned from Mandarin keep espeak-ng's nearest frames: nothing is matched by states
            states = speech_encoder.content_states(clean)
            if heard == "en":
                fits = {"en": fit_voice(clean, segments, piper.speak, content_states=states, content_language="en"),
                        "zh": fit_voice(clean, segments, lambda words: espeak(words, heard, variant), content_states=states,
                                        content_language=STATE_MATCHED["en"][ESPEAK][0])}
            else:
                fits = {"en": fit_voice(clean, [], None, content_states=states, content_language="en")}
            for spoken, voice in fits.items():
                text = paired.TEXTS[spoken]
                base = piper.speak(text, 1.0 / voice.rate) if spoken == "en" else espeak(text, spoken, variant, round(165 / voice.rate))
                base_states = speech_encoder.content_states(base)
                outputs = {"unconverted": base}
                outputs.update({step: apply_voice(base, dataclasses.replace(voice, content_share=voiced, content_unvoiced_share=unvoiced),
                                                  speaker.f0_mean, speaker.f0_std_semitones, language=spoken, content_states=base_states)
                                for step, (voiced, unvoiced) in SHARES[heard].items()})
                for step, samples in outputs.items():
                    row = {"reference": name, "reference_language": heard, "language": spoken, "step": step,
                           **paired.scores(samples, spoken, references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    groups = {"english_speakers_english": ("en", "en"), "english_speakers_chinese": ("en", "zh"), "mandarin_speakers_english": ("zh", "en")}
    summary = {}
    for group, (heard, spoken) in groups.items():
        for step in ("unconverted", *SHARES[heard]):
            mine = [row for row in rows if (row["reference_language"], row["language"], row["step"]) == (heard, spoken, step)]
            if mine:
                summary[f"{group}_{step}"] = paired.mean_scores(mine)
    paired.save_results(bench_voice.RESULTS / "voice_voicing.json", summary, rows, texts=paired.TEXTS,
                        shares={heard: {step: list(shares) for step, shares in steps.items()} for heard, steps in SHARES.items()})


if __name__ == "__main__":
    main()
