"""How a clone pairs the base voice's frames with the speaker's: by envelope or by speech states, paired.

A parallel fit (engines.voice.fitted.fit_voice) has the base voice say each segment of the reference's
transcript and pairs its frames with the speaker's by DTW. Those pairs make the exemplars that Mandarin
speakers' Mandarin is spoken with, and for everyone the statistics and the formant shift of the map.
Paired by envelope, the two voices' sounds are compared across voices; paired by the packaged Whisper's
speech states (what is said, not who says it), the same sounds should meet. Each real reference of
bench_voice.py (8 s and more) is fitted both ways for each base voice the default speaks it with (Kokoro,
and Piper for English speakers), from the same base speech of the transcript (Piper draws its prosody
anew on every call, so each segment is spoken once), and each base utterance is spoken once and
converted with both fits:
  English speakers   their English (Piper; bench_voice_paired.TEXTS, three sentences) and their Chinese
                     (Kokoro; CHINESE_PARAGRAPH, nine sentences),
  Mandarin speakers  their Mandarin (Kokoro with exemplars; CHINESE_PARAGRAPH) and their English (Kokoro),
                     and their Mandarin by espeak-ng with exemplars (what speaks it where Kokoro is off).
Rows `unconverted` give the base voice as it is, the intelligibility the conversion must keep.
Similarity under both encoders, WER/CER through the packaged Whisper, and each fit's formant shift and time.
Results: bench/results/voice_alignment.json. Run: .venv/bin/python bench/bench_voice_alignment.py [names]
"""
from __future__ import annotations

import functools
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import bench_voice_paired as paired  # noqa: E402
from engines.voice.default import state_matching  # noqa: E402
from engines.voice.fitted import ALIGNED_BY_ENVELOPES, ALIGNED_BY_STATES, apply_voice, fit_voice  # noqa: E402
from engines.voice.kokoro_base import KokoroBase  # noqa: E402
from engines.voice.piper_base import PiperBase  # noqa: E402
from paired_texts import CHINESE_PARAGRAPH, TEXTS  # noqa: E402

ALIGNMENTS = (ALIGNED_BY_ENVELOPES, ALIGNED_BY_STATES)


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    bench_voice.TEXTS = texts = {"en": TEXTS["en"], "zh": CHINESE_PARAGRAPH}
    piper, kokoro = PiperBase(), KokoroBase()
    rows, fits_made = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, speaker, clean, heard, segments, references in paired.cloned_references(Path(tmp), encoders, transcriber, sys.argv[1:] or None):
            states = speech_encoder.content_states(clean)
            bases = paired.measured_bases(heard, speaker, piper, kokoro)
            for base, (speak_words, exemplar_language, speaks) in bases.items():
                fits = {}
                speak_once = functools.lru_cache(maxsize=None)(speak_words)  # both fits from the same base speech
                for alignment in ALIGNMENTS:
                    aligning = {"content_states": states, "speech_states": speech_encoder.content_states} if alignment == ALIGNED_BY_STATES else {}
                    started = time.monotonic()
                    fits[alignment] = fit_voice(clean, segments, speak_once, exemplar_language=exemplar_language,
                                                **(aligning | state_matching(heard, base, states)))
                    fits_made.append({"reference": name, "base": base or "espeak-ng", "aligned_by": fits[alignment].aligned_by,
                                      "warp": round(float(fits[alignment].warp), 3), "pairs": fits[alignment].pairs,
                                      "fit_seconds": round(time.monotonic() - started, 1)})
                    print(json.dumps(fits_made[-1]), flush=True)
                for language, speak in speaks.items():
                    spoken = speak(texts[language], 1.0 / fits[ALIGNED_BY_ENVELOPES].rate)
                    spoken_states = speech_encoder.content_states(spoken)
                    outputs = {"unconverted": spoken}
                    for alignment, fit in fits.items():
                        outputs[alignment] = apply_voice(spoken, fit, speaker.f0_mean, speaker.f0_std_semitones, language=language,
                                                         content_states=spoken_states if fit.content_language == language else None)
                    paired.score_outputs(outputs, rows, name, heard, base, language, references, encoders, transcriber)
    summary = paired.grouped_scores(rows, ("unconverted", *ALIGNMENTS))
    paired.save_results(bench_voice.RESULTS / "voice_alignment.json", summary, rows, texts=texts, fits=fits_made)


if __name__ == "__main__":
    main()
