"""The pull towards the speaker's real frames, matched by what is said instead of by the envelope.

The default conversion pulls each mapped frame halfway towards the speaker's recorded frames whose
envelopes are nearest (a match across two voices) or, for Mandarin speakers' Mandarin, towards the
frames DTW-paired with the base voice's nearest frames (exemplars). Here the match is made on the
encoder states of the packaged Whisper instead (trained on many voices to carry what is said, as
kNN-VC matches WavLM features): each base-voice frame takes the mean of the speaker's 4 frames
whose Whisper states are most alike (cosine), voiced with voiced, and is pulled towards it by
0.5, 0.75 or 1 (everything else as the default: map, smoothing, restored spread, pitch).
Each real reference of bench_voice.py (8 s and more), three sentences per language, every base
utterance spoken once and converted every way; similarity under both encoders, WER/CER through the
packaged Whisper. Results: bench/results/voice_phonetic.json.
Run: .venv/bin/python bench/bench_voice_phonetic.py [reference names]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import bench_voice_paired as paired  # noqa: E402
from engines.talking_head.echolite.features import STATES_PER_SECOND, SpeechEncoder  # noqa: E402
from engines.voice import SpeakerEncoder, speaker_similarity  # noqa: E402
from engines.voice.analysis import FRAME_PERIOD_MS, SAMPLE_RATE  # noqa: E402
from engines.voice.conversion import map_f0  # noqa: E402
from engines.voice.default import espeak, voice_variant  # noqa: E402
from engines.voice.fitted import (BANK_STEP, NEIGHBOURS, _smooth, _speaking, apply_voice, coded_frames, fit_voice,  # noqa: E402
                                  mapped_envelopes, restore_variance)
from engines.voice.piper_base import PiperBase  # noqa: E402

SHARES = (0.5, 0.75, 1.0)
FRAMES_PER_STATE = round(1000 / STATES_PER_SECOND / FRAME_PERIOD_MS)


def unit_rows(states: np.ndarray) -> np.ndarray:
    states = states.astype(np.float32)
    return states / (np.linalg.norm(states, axis=1, keepdims=True) + 1e-6)


def frame_states(states: np.ndarray, frames: int) -> np.ndarray:
    """The Whisper state under each WORLD frame (four frames per state)."""
    return states[np.minimum(np.arange(frames) // FRAMES_PER_STATE, len(states) - 1)]


class PhoneticBank:
    """The speaker's spoken frames: their Whisper states (keys) and coded envelopes (values)."""

    def __init__(self, clean: np.ndarray, encoder: SpeechEncoder):
        f0, coded, _, _ = coded_frames(clean)
        keep = _speaking(clean, len(f0))
        keep[np.arange(len(keep)) % BANK_STEP != 0] = False
        self.keys = unit_rows(frame_states(encoder.states(clean), len(f0))[keep])
        self.values = coded[keep, 1:].astype(np.float32)
        self.voiced = f0[keep] > 0

    def targets(self, states: np.ndarray, voiced: np.ndarray, mapped: np.ndarray) -> np.ndarray:
        queries = unit_rows(frame_states(states, len(voiced)))
        targets = mapped.copy()
        for mask, paired_mask in ((voiced, self.voiced), (~voiced, ~self.voiced)):
            if mask.any() and paired_mask.sum() >= NEIGHBOURS:
                similarity = queries[mask] @ self.keys[paired_mask].T
                nearest = np.argpartition(-similarity, NEIGHBOURS - 1, axis=1)[:, :NEIGHBOURS]
                targets[mask] = self.values[paired_mask][nearest].mean(1)
        return targets


def converted_phonetically(samples, voice, speaker, bank: PhoneticBank, encoder: SpeechEncoder, share: float) -> np.ndarray:
    f0, coded, aperiodicity, fft_size = coded_frames(samples, float(voice.warp))
    mapped = mapped_envelopes(coded[:, 1:], voice)
    pulled = mapped + share * (bank.targets(encoder.states(samples), f0 > 0, mapped) - mapped)
    coded[:, 1:] = restore_variance(_smooth(pulled), voice.speaker_std)
    envelope = pyworld.decode_spectral_envelope(np.ascontiguousarray(coded), SAMPLE_RATE, fft_size)
    pitch = map_f0(f0, speaker.f0_mean, speaker.f0_std_semitones, 0.0)
    output = pyworld.synthesize(pitch, envelope, np.ascontiguousarray(aperiodicity), SAMPLE_RATE, FRAME_PERIOD_MS)[: len(samples)]
    output *= np.sqrt(np.mean(samples.astype(np.float64) ** 2) + 1e-12) / np.sqrt(np.mean(output**2) + 1e-12)
    return np.clip(output, -1, 1).astype(np.float32)


def main() -> None:
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    bench_voice.TEXTS = paired.TEXTS  # the transcriber scores against these
    encoders = {"resemblyzer": SpeakerEncoder(), "voicefilter": bench_voice.SecondEncoder()}
    transcriber = bench_voice.Intelligibility()
    speech_encoder = SpeechEncoder(transcriber.model.model)
    piper = PiperBase()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, speaker, clean, heard, segments, references in paired.cloned_references(Path(tmp), encoders, transcriber, sys.argv[1:] or None):
            variant = voice_variant(speaker)
            fits = {"espeak": fit_voice(clean, segments, lambda words: espeak(words, heard, variant), exemplar_language=heard)}
            if heard == "en":
                fits["piper"] = fit_voice(clean, segments, piper.speak, exemplar_language=heard)
            bank = PhoneticBank(clean, speech_encoder)
            for spoken, text in paired.TEXTS.items():
                base_voice = "piper" if spoken == "en" and "piper" in fits else "espeak"
                voice = fits[base_voice]
                base = (piper.speak(text, 1.0 / voice.rate) if base_voice == "piper"
                        else espeak(text, spoken, variant, round(165 / voice.rate)))
                outputs = {"unconverted": base,
                           "default": apply_voice(base, voice, speaker.f0_mean, speaker.f0_std_semitones, language=paired.as_default(spoken))}
                outputs.update({f"phonetic_{share}": converted_phonetically(base, voice, speaker, bank, speech_encoder, share) for share in SHARES})
                for step, samples in outputs.items():
                    row = {"reference": name, "language": spoken, "reference_language": spoken == heard, "base": base_voice, "step": step,
                           **{f"similarity_{label}": round(speaker_similarity(encoder.embed(samples), references[label]), 3)
                              for label, encoder in encoders.items()},
                           "char_error_rate" if spoken == "zh" else "word_error_rate": transcriber.error(samples, spoken)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {}
    for same in (True, False):
        for step in dict.fromkeys(row["step"] for row in rows):
            mine = [row for row in rows if row["step"] == step and row["reference_language"] == same]
            summary[f"{'reference_language' if same else 'other_language'}_{step}"] = {
                key: round(float(np.mean([row[key] for row in mine if key in row])), 3)
                for key in ("similarity_resemblyzer", "similarity_voicefilter", "word_error_rate", "char_error_rate")
                if any(key in row for row in mine)}
    results = {"texts": paired.TEXTS, "summary": summary, "rows": rows,
               "load_average_after": [round(value, 2) for value in os.getloadavg()]}
    (bench_voice.RESULTS / "voice_phonetic.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
