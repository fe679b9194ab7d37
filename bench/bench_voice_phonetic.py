"""The pull towards the speaker's real frames, matched by what is said instead of by the envelope alone.

The conversion pulls each mapped frame towards real frames of the speaker. Without speech states it
takes the speaker's frames whose envelopes are nearest (a match across two voices; for Mandarin
speakers' Mandarin, exemplars). Here the match is made on the encoder states of the packaged Whisper
(trained on many voices to carry what is said, as kNN-VC matches WavLM features), with Whisper's
absolute positions taken out (`SpeechEncoder.content_states`), paired on every reference:
  unconverted          the base voice as it is,
  nearest_frames       the conversion without speech states (the default before them),
  states_envelope_S    the speaker's 4 frames nearest in states and envelope together (the default's
                       match in the fit's own language), pulled S of the way,
  states_alone_S       the 4 nearest by the states' cosine alone, pulled S of the way.
Each real reference of bench_voice.py (8 s and more), three sentences per language, every base
utterance spoken once and converted every way; the match is made in both languages here, whatever
the default keeps it for. Similarity under both encoders, WER/CER through the packaged Whisper.
Results: bench/results/voice_phonetic.json.
Run: .venv/bin/python bench/bench_voice_phonetic.py [reference names]
"""
from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyworld

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice_paired as paired  # noqa: E402  (puts the project root on sys.path)
from engines.voice.analysis import FRAME_PERIOD_MS, SAMPLE_RATE  # noqa: E402
from engines.voice.conversion import map_f0  # noqa: E402
from engines.voice.default import espeak, voice_variant  # noqa: E402
from engines.voice.fitted import (FittedVoice, _smooth, apply_voice, coded_frames, fit_voice, frame_states,  # noqa: E402
                                  mapped_envelopes, nearest_by_voicing, restore_variance)
from engines.voice.piper_base import PiperBase  # noqa: E402

STATES_ENVELOPE_SHARES = (0.5, 0.6, 0.75)
STATES_ALONE_SHARES = (0.75, 1.0)


def unit_rows(states: np.ndarray) -> np.ndarray:
    states = states.astype(np.float32)
    return states / (np.linalg.norm(states, axis=1, keepdims=True) + 1e-6)


def states_alone(samples: np.ndarray, voice: FittedVoice, speaker, states: np.ndarray, share: float) -> np.ndarray:
    """The conversion with each frame pulled towards the mean of the speaker's frames nearest by the states' cosine alone."""
    f0, coded, aperiodicity, fft_size = coded_frames(samples, float(voice.warp))
    mapped = mapped_envelopes(coded[:, 1:], voice)
    # On unit rows the nearest by distance are the nearest by cosine.
    keys = unit_rows(voice.content_keys)
    targets = nearest_by_voicing(mapped.copy(), unit_rows(frame_states(states, len(f0))), f0 > 0, keys, voice.content_values,
                                 voice.content_voiced, np.ones(keys.shape[1], np.float32))
    coded[:, 1:] = restore_variance(_smooth(mapped + share * (targets - mapped)), voice.speaker_std)
    envelope = pyworld.decode_spectral_envelope(np.ascontiguousarray(coded), SAMPLE_RATE, fft_size)
    pitch = map_f0(f0, speaker.f0_mean, speaker.f0_std_semitones, 0.0)
    output = pyworld.synthesize(pitch, envelope, np.ascontiguousarray(aperiodicity), SAMPLE_RATE, FRAME_PERIOD_MS)[: len(samples)]
    output *= np.sqrt(np.mean(samples.astype(np.float64) ** 2) + 1e-12) / np.sqrt(np.mean(output**2) + 1e-12)
    return np.clip(output, -1, 1).astype(np.float32)


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    piper = PiperBase()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, speaker, clean, heard, segments, references in paired.cloned_references(Path(tmp), encoders, transcriber, sys.argv[1:] or None):
            variant = voice_variant(speaker)
            reference_states = speech_encoder.content_states(clean)
            fits = {"espeak": fit_voice(clean, segments, lambda words: espeak(words, heard, variant), exemplar_language=heard,
                                        content_states=reference_states, content_language=heard)}
            if heard == "en":
                fits["piper"] = fit_voice(clean, segments, piper.speak, content_states=reference_states, content_language=heard)
            for spoken, text in paired.TEXTS.items():
                base_voice = "piper" if spoken == "en" and "piper" in fits else "espeak"
                voice = dataclasses.replace(fits[base_voice], content_language=spoken)
                base = (piper.speak(text, 1.0 / voice.rate) if base_voice == "piper"
                        else espeak(text, spoken, variant, round(165 / voice.rate)))
                states = speech_encoder.content_states(base)
                language = paired.as_default(spoken)
                outputs = {"unconverted": base,
                           "nearest_frames": apply_voice(base, voice, speaker.f0_mean, speaker.f0_std_semitones, language=language)}
                outputs.update({f"states_envelope_{share}": apply_voice(base, voice, speaker.f0_mean, speaker.f0_std_semitones, language=spoken,
                                                                        content_states=states, content_share=share)
                                for share in STATES_ENVELOPE_SHARES})
                outputs.update({f"states_alone_{share}": states_alone(base, voice, speaker, states, share) for share in STATES_ALONE_SHARES})
                for step, samples in outputs.items():
                    row = {"reference": name, "language": spoken, "reference_language": spoken == heard, "base": base_voice, "step": step,
                           **paired.scores(samples, spoken, references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {}
    groups = {"english_speakers_english": lambda row: row["reference_language"] and row["language"] == "en",
              "mandarin_speakers_mandarin": lambda row: row["reference_language"] and row["language"] == "zh",
              "other_language": lambda row: not row["reference_language"]}
    for group, member in groups.items():
        for step in dict.fromkeys(row["step"] for row in rows):
            mine = [row for row in rows if row["step"] == step and member(row)]
            if mine:
                summary[f"{group}_{step}"] = paired.mean_scores(mine)
    paired.save_results(paired.bench_voice.RESULTS / "voice_phonetic.json", summary, rows, texts=paired.TEXTS)


if __name__ == "__main__":
    main()
