"""Voice benchmark: real-time factor, speaker similarity (vs the unconverted voice) and intelligibility.

Engines measured: the offline default always; XTTS-v2 when ECHOFU_XTTS_DIR names a model
directory; CosyVoice when ECHOFU_COSYVOICE_URL names a running server. Intelligibility
(WER for English, CER for Chinese) needs a whisper checkpoint in ECHOFU_WHISPER_CHECKPOINT.

Prints a table and saves bench/results/voice.json. Run: .venv/bin/python bench/bench_voice.py
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engines import media  # noqa: E402
from engines.testing.voices import other_speaker  # noqa: E402
from engines.voice import SpeakerEncoder, analyse_reference, create_synthesizer, speaker_similarity  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE  # noqa: E402
from engines.voice.default import espeak, voice_variant  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
REFERENCE_TEXT = ("Please call Stella. Ask her to bring these things with her from the store. Six spoons of fresh "
                  "snow peas, five thick slabs of blue cheese, and maybe a snack for her brother Bob.")
# Reference speakers: espeak voices re-shaped with WORLD (pitch factor, formant factor, base voice).
SPEAKERS = {"speaker_high": (1.7, 1.12, "m1"), "speaker_low": (0.8, 0.9, "f2")}
TEXTS = {
    "en": "The weather will be dry and sunny for the rest of the week, with a light breeze in the afternoon.",
    "zh": "今天的天气很好，我们一起去公园散步吧。明天可能会下雨，记得带伞。",
}


def engines_to_measure() -> dict[str, dict]:
    engines = {"default": {}}
    if os.environ.get("ECHOFU_XTTS_DIR"):
        engines["xtts"] = {"model_dir": os.environ["ECHOFU_XTTS_DIR"]}
    if os.environ.get("ECHOFU_COSYVOICE_URL"):
        engines["cosyvoice"] = {"base_url": os.environ["ECHOFU_COSYVOICE_URL"]}
    return engines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default=str(RESULTS / "voice.json"))
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    encoder = SpeakerEncoder()
    transcriber = None
    if os.environ.get("ECHOFU_WHISPER_CHECKPOINT"):
        from engines.asr import Transcriber

        transcriber = Transcriber(os.environ["ECHOFU_WHISPER_CHECKPOINT"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        speakers = {}
        for name, (pitch, formants, voice) in SPEAKERS.items():
            media.write_wav(work / f"{name}.wav", other_speaker(REFERENCE_TEXT, pitch, formants, voice), SAMPLE_RATE)
            speakers[name] = analyse_reference(work / f"{name}.wav", work / f"{name}_clean.wav", encoder)
        for engine_name, config in engines_to_measure().items():
            synthesizer = create_synthesizer(engine_name, **config)
            usable, reason = synthesizer.availability()
            if not usable:
                rows.append({"engine": engine_name, "skipped": reason})
                continue
            for speaker_name, speaker in speakers.items():
                for language, text in TEXTS.items():
                    out = work / f"{engine_name}_{speaker_name}_{language}.wav"
                    started = time.monotonic()
                    result = synthesizer.synthesize(text, speaker, out)
                    seconds = time.monotonic() - started
                    output = media.load_audio(out, SAMPLE_RATE)
                    plain = espeak(text, language, voice_variant(speaker))
                    row = {
                        "engine": engine_name, "speaker": speaker_name, "language": language,
                        "audio_seconds": round(result.duration, 2), "real_time_factor": round(seconds / result.duration, 3),
                        "similarity": round(speaker_similarity(encoder.embed(output), speaker.embedding), 3),
                        "unconverted_similarity": round(speaker_similarity(encoder.embed(plain), speaker.embedding), 3),
                    }
                    if transcriber is not None:
                        from engines.asr import error_rate

                        heard = transcriber.transcribe(output, language=language).text
                        unit = "char" if language == "zh" else "word"
                        row[f"{unit}_error_rate"] = round(error_rate(text, heard, unit), 3)
                    rows.append(row)
    measured = [row for row in rows if "similarity" in row]
    summary = {}
    for engine_name in dict.fromkeys(row["engine"] for row in measured):
        mine = [row for row in measured if row["engine"] == engine_name]
        summary[engine_name] = {
            "mean_real_time_factor": round(float(np.mean([row["real_time_factor"] for row in mine])), 3),
            "mean_similarity": round(float(np.mean([row["similarity"] for row in mine])), 3),
            "mean_unconverted_similarity": round(float(np.mean([row["unconverted_similarity"] for row in mine])), 3),
        }
    results = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version()},
        "intelligibility": "measured" if transcriber else "not measured: set ECHOFU_WHISPER_CHECKPOINT to a whisper .pt file",
        "summary": summary,
        "rows": rows,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    for row in rows:
        print("  ".join(f"{key}={value}" for key, value in row.items()))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
