"""Chat benchmark.

    python bench/bench_chat.py llm              # answers of each offline model to the 30 guide questions (zh + en)
    python bench/bench_chat.py asr              # Whisper speed and error rate on real speech, both languages
    python bench/bench_chat.py loop MODEL_DIR   # the whole /chat_system loop, per stage, on the embedded defaults

Results go to bench/results/chat*.json. Wall times on a shared machine are inflated by the others'
load: the load average is recorded next to every figure, and ratios measured in one run are the
figures to compare.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
QUESTIONS = ROOT / "bench" / "data" / "chat_questions.json"
CACHE = Path(os.environ.get("ECHOFU_MODEL_CACHE", ROOT / "media" / "models" / "cache"))


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def save(name: str, data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    print(f"saved bench/results/{name}")


def bench_llm(names: list[str], max_tokens: int, batch: int) -> None:
    """Greedy answers, batched (the same tokens as one at a time, far less overhead on a busy CPU)."""
    import torch

    from chat.persona import DEFAULT_PERSONA
    from engines.llm import LocalModel

    questions = json.loads(QUESTIONS.read_text())["questions"]
    prompts = [(language, item[language]) for item in questions for language in ("en", "zh")]
    results = {"machine": machine(), "persona": DEFAULT_PERSONA, "max_tokens": max_tokens, "models": {}}
    for name in names:
        started = time.monotonic()
        model = LocalModel(CACHE, name, threads=2)
        load_seconds = time.monotonic() - started
        tokenizer = model.tokenizer
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        answers, generated_tokens, generate_seconds = [], 0, 0.0
        for start in range(0, len(prompts), batch):
            group = prompts[start:start + batch]
            texts = [tokenizer.decode(model.prompt_ids([{"role": "system", "content": DEFAULT_PERSONA},
                                                        {"role": "user", "content": question}])[0])
                     for _, question in group]
            encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
            began = time.monotonic()
            with torch.inference_mode():
                output = model.model.generate(**encoded, max_new_tokens=max_tokens, do_sample=False, repetition_penalty=1.15,
                                              pad_token_id=tokenizer.pad_token_id)
            generate_seconds += time.monotonic() - began
            for (language, question), row in zip(group, output[:, encoded["input_ids"].shape[1]:]):
                text = tokenizer.decode(row, skip_special_tokens=True).strip()
                generated_tokens += int((row != tokenizer.pad_token_id).sum())
                answers.append({"language": language, "question": question, "answer": text})
            print(f"{name}: {len(answers)}/{len(prompts)}", flush=True)
        results["models"][name] = {
            "load_seconds": round(load_seconds, 1),
            "batched_tokens_per_second": round(generated_tokens / generate_seconds, 1),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "answers": answers,
        }
        save("chat_llm_answers.json", results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    llm = sub.add_parser("llm")
    llm.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    llm.add_argument("--max-tokens", type=int, default=64)
    llm.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    if args.command == "llm":
        bench_llm(args.models, args.max_tokens, args.batch)


if __name__ == "__main__":
    main()
