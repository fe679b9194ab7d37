"""The conversion fitted to a noise-reduced copy of the reference, against the reference as uploaded, paired.

The clone fits its conversion (mel-cepstral envelope, the speaker's frames, voicing, modulation spectrum)
and takes its F0 statistics from the reference's frames; in a noisy recording the hiss fills the
spectral valleys of its quiet and unvoiced frames. Here each real reference of 8 s and more
(bench_voice.REFERENCES) is cloned as the app clones it, but fitted on the reference as it is, and its
cleaned clip is then reduced (engines.voice.denoise.reduce_noise, with the room tone cloning measured on
the upload) and fitted again, as DefaultSynthesizer fits it, on the same transcript. Two strengths were
declared before any run (the gain's floor, -12 and -20 dB); nothing was tuned on the scores. The stored
clip, and what the outputs are scored against, stays the reference as it is. Systems, each speaking
bench_voice_paired.TEXTS (three sentences per language):
  unconverted     the base voice as it is (Piper for English speakers' English, Kokoro otherwise),
  as_uploaded     the default before the reduction: fit and F0 statistics on the reference as it is,
  reduced_12      fit and F0 statistics on the copy reduced with a -12 dB floor (the default since),
  reduced_20      the same with a -20 dB floor,
  reduced_20_f0_as_uploaded  the -20 dB fit with the F0 statistics of the reference as it is (what the fit alone does).
Every base utterance is spoken once and converted by each fit: the base voices are wrapped so each
text is spoken once (in the fits too) and replayed, at the first fit's rate (the fits' rates are
recorded per reference; the reduced fits' times leave out the replayed speech). Similarity under both
encoders against the stored reference, WER/CER through the packaged Whisper, per reference and mean,
with each reference's floor before and after reduction (measured on the upload, reduced the same way).
Results: bench/results/voice_denoise.json. Run: .venv/bin/python bench/bench_voice_denoise.py [names]
"""
from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import bench_voice_paired as paired  # noqa: E402
from engines import media  # noqa: E402
from engines.progress import no_progress  # noqa: E402
from engines.voice import analyse_reference, create_synthesizer  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE, f0_statistics  # noqa: E402
from engines.voice.denoise import reduce_noise  # noqa: E402
from engines.voice.fitted import transcribe_reference  # noqa: E402
from engines.voice.room import RoomTone  # noqa: E402
from engines.voice.synthesis import speak_chunks  # noqa: E402

GAIN_FLOORS_DB = {"reduced_12": -12.0, "reduced_20": -20.0}
F0_AS_UPLOADED = "reduced_20_f0_as_uploaded"
SYSTEMS = ("unconverted", "as_uploaded", *GAIN_FLOORS_DB, F0_AS_UPLOADED)


class SpokenOnce:
    """A base voice (PiperBase or KokoroBase) that speaks each (text, language) once and replays it after."""

    def __init__(self, voice, takes_language: bool):
        self.voice, self.takes_language, self.said = voice, takes_language, {}

    def speak(self, text: str, *arguments, **keywords) -> np.ndarray:
        language = (arguments[0] if arguments else keywords.get("language", "zh")) if self.takes_language else "en"
        if (text, language) not in self.said:
            self.said[text, language] = self.voice.speak(text, *arguments, **keywords)
        return self.said[text, language]


def with_f0_of(speaker, samples: np.ndarray):
    """`speaker` with the F0 statistics of `samples` (the profile's f0_* fields)."""
    f0 = f0_statistics(samples)
    return dataclasses.replace(speaker, f0_mean=f0["mean"], f0_std_semitones=f0["std_semitones"], f0_low=f0["low"], f0_high=f0["high"])


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    # Fits on what it is given: the reference as it is, or the copies reduced here.
    synthesizer = create_synthesizer("default", speech_encoder=lambda: speech_encoder, noise_reduced=False)
    piper, kokoro = SpokenOnce(synthesizer.piper(), False), SpokenOnce(synthesizer.kokoro(), True)
    synthesizer._piper, synthesizer._kokoro = piper, kokoro
    rows, clones = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, path, language, *_ in bench_voice.REFERENCES:
            if name.endswith("_short") or not path.is_file() or (sys.argv[1:] and name not in sys.argv[1:]):
                continue
            started = time.monotonic()
            piper.said.clear()  # each reference's utterances at its own rate
            kokoro.said.clear()
            analysed = analyse_reference(path, work / f"{name}_clean.wav", encoders["resemblyzer"])
            clean = media.load_audio(analysed.clean_clip, SAMPLE_RATE)
            speaker = with_f0_of(analysed, clean)  # the pitch of the reference as it is, not of cloning's reduced copy
            heard, segments = transcribe_reference(transcriber.model, clean)
            speaker.conversion = synthesizer.fit(speaker, clean, heard, segments, work / f"{name}.npz")
            clone_seconds = time.monotonic() - started
            references = {"resemblyzer": np.asarray(speaker.embedding), "voicefilter": encoders["voicefilter"].embed(clean)}
            upload = media.load_declared_audio(path, SAMPLE_RATE)
            tone = RoomTone.from_dict(speaker.room_tone)  # as cloning measured it, on the upload
            profiles = {"as_uploaded": speaker}
            clone = {"reference": name, "language_heard": heard, "speech_seconds": speaker.duration,
                     "speech_to_floor_db": round(tone.speech_to_floor_db, 1), "clone_seconds": round(clone_seconds, 1),
                     "rate": {"as_uploaded": speaker.conversion["rate"]}, "f0_mean": {"as_uploaded": speaker.f0_mean},
                     "f0_std_semitones": {"as_uploaded": speaker.f0_std_semitones}}
            for system, gain_floor in GAIN_FLOORS_DB.items():
                fit_started = time.monotonic()
                reduced = reduce_noise(clean, SAMPLE_RATE, tone, gain_floor)
                reduced_speaker = with_f0_of(speaker, reduced)
                reduced_speaker.conversion = synthesizer.fit(reduced_speaker, reduced, heard, segments, work / f"{name}_{system}.npz")
                profiles[system] = reduced_speaker
                reduced_upload = reduce_noise(upload, SAMPLE_RATE, tone, gain_floor)
                clone["rate"][system] = reduced_speaker.conversion["rate"]
                clone["f0_mean"][system], clone["f0_std_semitones"][system] = reduced_speaker.f0_mean, reduced_speaker.f0_std_semitones
                clone.setdefault("speech_to_floor_db_reduced", {})[system] = round(RoomTone.measure(reduced_upload, SAMPLE_RATE).speech_to_floor_db, 1)
                clone.setdefault("fit_seconds", {})[system] = round(time.monotonic() - fit_started, 1)
            profiles[F0_AS_UPLOADED] = dataclasses.replace(profiles["reduced_20"], f0_mean=speaker.f0_mean, f0_std_semitones=speaker.f0_std_semitones,
                                                           f0_low=speaker.f0_low, f0_high=speaker.f0_high)
            clone["fit_seconds"]["as_uploaded"] = speaker.conversion["fit_seconds"]
            clones.append(clone)
            print(json.dumps(clone), flush=True)
            for spoken, text in paired.TEXTS.items():
                outputs = {system: media.load_audio(synthesizer.synthesize(text, profile, work / "speech.wav").path, SAMPLE_RATE)
                           for system, profile in profiles.items()}
                # The base voice's pieces as the first synthesis spoke them, joined as the engine joins them.
                base = piper if (heard, spoken) == ("en", "en") else kokoro
                said = {text: samples for (text, language), samples in base.said.items() if language == spoken}
                outputs = {"unconverted": speak_chunks(text, SAMPLE_RATE, lambda chunk: said[chunk.text], no_progress), **outputs}
                for system, samples in outputs.items():
                    row = {"reference": name, "reference_language": heard, "language": spoken, "system": system,
                           "speech_to_floor_db": clone["speech_to_floor_db"],
                           **paired.scores(samples, spoken, references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            print(f"{name}: {time.monotonic() - started:.0f} s", flush=True)
            save(rows, clones)


def save(rows: list[dict], clones: list[dict]) -> None:
    """The results so far (after each reference: a run stopped early keeps what it measured)."""
    summary = {system: {**paired.mean_scores([row for row in rows if row["system"] == system]),
                        "rows": sum(row["system"] == system for row in rows)} for system in SYSTEMS}
    per_reference = {}
    for name in dict.fromkeys(row["reference"] for row in rows):
        per_reference[name] = {system: paired.mean_scores([row for row in rows if row["reference"] == name and row["system"] == system])
                               for system in SYSTEMS}
    paired.save_results(bench_voice.RESULTS / "voice_denoise.json", {"mean": summary, "per_reference": per_reference}, rows,
                        texts=paired.TEXTS, gain_floors_db=GAIN_FLOORS_DB, clones=clones)


if __name__ == "__main__":
    main()
