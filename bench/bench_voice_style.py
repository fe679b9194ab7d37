"""A Kokoro style pack fitted to the speaker at clone time, against the stock `jm_kumo`, paired, on real people.

Kokoro speaks the default's Chinese (everyone's) and Mandarin speakers' English with its men's voice
`jm_kumo`, and the fitted WORLD conversion moves it to the speaker. `bench/kokoro_style.py`
searches a style pack near `jm_kumo` (the stock packs' differences, decoder and prosody halves apart)
whose speech of the speaker's own words is closest to the reference in aperiodicity, voicing, F0
movement and mel-cepstral statistics: no speaker encoder is used. Here each real reference of 8 s and
more (bench_voice.REFERENCES) is cloned as the app clones it (bench_voice.clone), and again with the
fitted pack (the search, then the same fit with Kokoro speaking with that pack; Piper's fit left out), and both profiles speak
bench_voice.TEXTS:
  default               the default as it is,
  style                 the same engine, Kokoro speaking with the speaker's fitted pack; where Piper
                        speaks (English speakers' English) the pack changes nothing and the default's
                        samples are scored for both (`shared`), so the comparison is paired,
Scored with bench_voice's encoders (resemblyzer, voicefilter) and packaged Whisper (WER/CER); clone
times with and without the search. Results: bench/results/voice_style.json.
Run: .venv/bin/python bench/bench_voice_style.py [--only names] [--evaluations N] [--seed S] [--output path]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import torch  # noqa: E402

from engines import media  # noqa: E402
from engines.speech_states import SpeechEncoder  # noqa: E402
from engines.voice import SpeakerEncoder, create_synthesizer, speaker_similarity  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE  # noqa: E402
from engines.voice.default import KOKORO, kokoro_languages  # noqa: E402
from engines.voice.fitted import transcribe_reference  # noqa: E402
from engines.voice.kokoro_base import MALE_VOICE  # noqa: E402
from engines.voice.self_evaluation import VoiceFilterEncoder  # noqa: E402
from kokoro_style import EVALUATIONS, fit_style  # noqa: E402


class StyledKokoro:
    """A KokoroBase that speaks with one given style pack (what DefaultSynthesizer calls on its Kokoro)."""

    def __init__(self, kokoro, pack: np.ndarray):
        self.kokoro, self.pack = kokoro, pack

    def speak(self, text: str, language: str = "zh", speed: float = 1.0, voice: str | None = None) -> np.ndarray:
        return self.kokoro.speak(text, language, speed, pack=self.pack)


def score(samples: np.ndarray, language: str, references: dict, encoders: dict, transcriber) -> dict:
    return {**{f"similarity_{label}": round(speaker_similarity(encoder.embed(samples), references[label]), 3)
               for label, encoder in encoders.items()},
            ("char_error_rate" if language == "zh" else "word_error_rate"): transcriber.error(samples, language)}


def timed(speak) -> tuple[np.ndarray, float]:
    started = time.monotonic()
    samples = speak()
    return samples, round((time.monotonic() - started) / max(len(samples) / SAMPLE_RATE, 1e-3), 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--evaluations", type=int, default=EVALUATIONS)
    parser.add_argument("--seed", type=int, default=0, help="the search's random steps")
    parser.add_argument("--output", default=str(bench_voice.RESULTS / "voice_style.json"))
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    encoders = {"resemblyzer": SpeakerEncoder(), "voicefilter": VoiceFilterEncoder()}
    transcriber = bench_voice.Intelligibility()
    speech_encoder = SpeechEncoder(transcriber.model.model)
    default = create_synthesizer("default", speech_encoder=lambda: speech_encoder)
    # Piper's fit is left out of the styled profile: where Piper speaks, the default's samples stand for both.
    styled = create_synthesizer("default", neural_english=False, speech_encoder=lambda: speech_encoder)
    kokoro = default.kokoro()
    rows, clones = [], []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, path, language, *_ in bench_voice.REFERENCES:
            if name.endswith("_short") or not path.is_file() or (args.only and name not in args.only):
                continue
            speaker, clone_seconds, heard = bench_voice.clone(path, work, name, encoders["resemblyzer"], transcriber, default)
            clean = media.load_audio(speaker.clean_clip, SAMPLE_RATE)
            _, segments = transcribe_reference(transcriber.model, clean)  # the transcript clone() fitted on
            started = time.monotonic()
            pack, search = fit_style(clean, segments, heard, kokoro.voices, lambda text, candidate: kokoro.speak(text, heard, pack=candidate),
                                     MALE_VOICE, args.evaluations, args.seed)
            search_seconds = time.monotonic() - started
            styled._kokoro = StyledKokoro(kokoro, pack)
            started = time.monotonic()
            styled_speaker = dataclasses.replace(speaker, conversion=styled.fit(speaker, clean, heard, segments, work / f"{name}_style.npz"))
            styled_fit_seconds = time.monotonic() - started
            default_fit_seconds = speaker.conversion["fit_seconds"]
            clones.append({"reference": name, "language_heard": heard, "speech_seconds": speaker.duration,
                           "clone_seconds_default": round(clone_seconds, 1),
                           # in an engine the search comes before the same fits, so it adds its own time only
                           "clone_seconds_style": round(clone_seconds + search_seconds, 1),
                           "style_search_seconds": round(search_seconds, 1), "fit_seconds_default": round(default_fit_seconds, 1),
                           "fit_seconds_style": round(styled_fit_seconds, 1), "search": search})
            print(json.dumps(clones[-1], ensure_ascii=False), flush=True)
            references = {"resemblyzer": np.asarray(speaker.embedding), "voicefilter": encoders["voicefilter"].embed(clean)}
            fit = default.fitted_voice(speaker, KOKORO)
            spoken_by_kokoro = kokoro_languages(fit) if fit is not None else set()
            for spoken, text in bench_voice.TEXTS.items():
                outputs = {"default": timed(lambda: media.load_audio(default.synthesize(text, speaker, work / "default.wav").path, SAMPLE_RATE))}
                if spoken in spoken_by_kokoro:
                    outputs["style"] = timed(lambda: media.load_audio(styled.synthesize(text, styled_speaker, work / "style.wav").path, SAMPLE_RATE))
                for system, (samples, real_time_factor) in outputs.items():
                    row = {"reference": name, "language": spoken, "system": system, "kokoro": spoken in spoken_by_kokoro,
                           "real_time_factor": real_time_factor, **score(samples, spoken, references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                if "style" not in outputs:  # Piper spoke: the pack changes nothing, the same samples stand for both
                    rows.append({**rows[-1], "system": "style", "shared": True})
            save(args.output, rows, clones, args.evaluations, args.seed, load_before)


def save(output: str, rows: list[dict], clones: list[dict], evaluations: int, seed: int, load_before: tuple) -> None:
    """The results so far (after each reference: a long run stopped early keeps what it measured)."""
    names = list(dict.fromkeys(row["reference"] for row in rows))
    kokoro_rows = [row for row in rows if row["kokoro"]]
    results = {
        "machine": {"cpus": os.cpu_count(), "load_average_before": [round(value, 2) for value in load_before],
                    "load_average_after": [round(value, 2) for value in os.getloadavg()]},
        "texts": bench_voice.TEXTS, "evaluations": evaluations, "seed": seed, "base_voice": MALE_VOICE,
        "summary_all_rows": bench_voice.summarise([row for row in rows if row["system"] in ("default", "style")], names),
        "summary_kokoro_rows": bench_voice.summarise(kokoro_rows, list(dict.fromkeys(row["reference"] for row in kokoro_rows))),
        "clone_seconds_mean": {key: round(float(np.mean([clone[key] for clone in clones])), 1)
                               for key in ("clone_seconds_default", "clone_seconds_style", "style_search_seconds")},
        "clones": clones, "rows": rows,
    }
    Path(output).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps({key: results[key] for key in ("summary_all_rows", "summary_kokoro_rows", "clone_seconds_mean")}, indent=2))


if __name__ == "__main__":
    main()
