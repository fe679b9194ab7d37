"""Kokoro-82M with its integer convolutions as integer matrix products, against the model as published.

onnxruntime runs the published model's 87 `ConvInteger` nodes on a generic uint8 path (58 % of its
time here); `engines/onnx_convolution.py` rewrites the 84 of stride 1 as im2col and `MatMulInteger` with int8
weights, which runs on the CPU's VNNI / AMX units and gives the same integers. Both sessions speak the
benchmark's Chinese and English paragraphs in turn (A B, then B A, ...), each pair checked for
identical samples; the figures are medians of the pairs: seconds, real-time factor (seconds per second
of speech, before any conversion) and the ratio rewritten / published, with each session's load time.
`--only published|rewritten` speaks both paragraphs once with one session, for timing whole processes
(and their peak memory) from outside.
Results: bench/results/kokoro_speed.json. Run: .venv/bin/python bench/bench_kokoro_speed.py [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engines.onnx_convolution import integer_dot_product  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE  # noqa: E402
from engines.voice.kokoro_base import KokoroBase  # noqa: E402
from paired_texts import TEXTS  # noqa: E402  (Kokoro speaks the Chinese, and Mandarin speakers' English)

RESULTS = Path(__file__).resolve().parent / "results" / "kokoro_speed.json"


def loaded(integer_matmuls: bool) -> tuple[KokoroBase, float]:
    started = time.monotonic()
    return KokoroBase(integer_matmuls=integer_matmuls), time.monotonic() - started


def timed(kokoro: KokoroBase, language: str) -> tuple[np.ndarray, float]:
    started = time.monotonic()
    samples = kokoro.speak(TEXTS[language], language)
    return samples, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("published", "rewritten"))
    args = parser.parse_args()
    if args.only:
        kokoro, _ = loaded(args.only == "rewritten")
        for language in TEXTS:
            timed(kokoro, language)
        return
    sessions = {"published": loaded(False), "rewritten": loaded(True)}
    rows = []
    for language in TEXTS:
        for name, (kokoro, _) in sessions.items():
            timed(kokoro, language)  # warm-up
        pairs = []
        for index in range(args.rounds):
            order = ("published", "rewritten") if index % 2 == 0 else ("rewritten", "published")
            spoken = {name: timed(sessions[name][0], language) for name in order}
            (published, published_s), (rewritten, rewritten_s) = spoken["published"], spoken["rewritten"]
            pairs.append({"published_s": published_s, "rewritten_s": rewritten_s, "ratio": rewritten_s / published_s,
                          "identical": bool(np.array_equal(published, rewritten)), "speech_s": len(published) / SAMPLE_RATE})
        median = {key: float(np.median([pair[key] for pair in pairs])) for key in ("published_s", "rewritten_s", "ratio", "speech_s")}
        rows.append({"language": language, "speech_s": round(median["speech_s"], 2),
                     "published_s": round(median["published_s"], 3), "rewritten_s": round(median["rewritten_s"], 3),
                     "published_rtf": round(median["published_s"] / median["speech_s"], 3),
                     "rewritten_rtf": round(median["rewritten_s"] / median["speech_s"], 3),
                     "ratio_median": round(median["ratio"], 3), "ratio_range": [round(min(p["ratio"] for p in pairs), 3), round(max(p["ratio"] for p in pairs), 3)],
                     "identical_in_every_pair": all(pair["identical"] for pair in pairs), "rounds": args.rounds})
        print(json.dumps(rows[-1]))
    results = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "vnni": integer_dot_product(), "load_s": {name: round(seconds, 2) for name, (_, seconds) in sessions.items()},
               "rows": rows, "load_average_after": [round(value, 2) for value in os.getloadavg()]}
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps({key: results[key] for key in ("vnni", "load_s")}))


if __name__ == "__main__":
    main()
