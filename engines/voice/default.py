"""The offline default: a base voice speaks, WORLD converts it toward the speaker.

Chinese is spoken by Kokoro-82M (its men's voice, an int8 ONNX model from the registry, see
`engines.voice.kokoro_base`) for anyone cloned from English or Mandarin, the conversion fitted on Kokoro
saying their own words: espeak-ng's Mandarin, converted, lost about a third of its characters to
Whisper, Kokoro's under 0.1, and it is as close to the speaker (bench/results/voice_kokoro.json); women
too, its men's voice moved by the fit (its women's voice was less like them). So is the English of
people cloned from Mandarin (`kokoro_languages`).
English is spoken by Piper (en_US-joe-medium, a neural voice from the registry, see
`engines.voice.piper_base`) for speakers whose reference was English, the conversion to them
fitted on Piper saying their own words, and, without Kokoro, for men cloned from Mandarin where the
packaged Whisper is at hand: Piper cannot say their words, so their fit rests on statistics and on the
speech states of their Mandarin (STATE_MATCHED; on statistics alone it made them sound less like
themselves than espeak-ng's parallel fit: bench/results/voice_bases.json). Speech without a speaker (the
pages' "default voice") is Kokoro's Chinese and Piper's English as they are: espeak-ng's Mandarin, the
first voice a new user hears, was heard by Whisper as "你熬我是你的主持人" for "你好，我是你的数字人".
Everything else is spoken by espeak-ng: profiles fitted before Piper or Kokoro, and speakers whose words
were not transcribed.
A speaker cloned with a fitted conversion (`engines.voice.fitted`) is spoken with their own spectra
and at their rate (Piper, for Mandarin speakers, at its own): Mandarin speakers' Mandarin with
exemplars (EXEMPLAR_LANGUAGES); English speakers' English and Chinese, and Mandarin speakers'
English, matched to their frames by Whisper's speech states where the packaged Whisper is installed
(STATE_MATCHED). An older profile without a fit gets the statistics-only conversion.
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from engines import media, packaged_whisper
from engines.messages import gettext_noop
from engines.progress import Progress, no_progress, scaled
from engines.speech_states import SpeechEncoder
from engines.text import Chunk
from engines.voice.analysis import SAMPLE_RATE
from engines.voice.conversion import convert, shift_pitch
from engines.voice.denoise import fitting_copy
from engines.voice.fitted import CONTENT_SHARE, CONTENT_UNVOICED_SHARE, READABLE_VERSIONS, FittedVoice, Segment, apply_voice, fit_voice
from engines.voice.kokoro_base import LANGUAGES as KOKORO_LANGUAGES
from engines.voice.kokoro_base import REQUIREMENT as KOKORO_REQUIREMENT
from engines.voice.kokoro_base import KokoroBase, KokoroUnavailable, installed as kokoro_installed
from engines.voice.piper_base import LANGUAGES as PIPER_LANGUAGES
from engines.voice.piper_base import REQUIREMENT as PIPER_REQUIREMENT
from engines.voice.piper_base import PiperBase, PiperUnavailable, installed as piper_installed
from engines.voice.speaker import SpeakerFeatures
from engines.voice.synthesis import SynthesisResult, speak_chunks, write_result

logger = logging.getLogger(__name__)

ESPEAK_VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}
FEMALE_F0 = 165.0
MALE_VARIANT = "m3"
SPEECH_TIMEOUT = 60
PIPER = "piper"  # the name of Piper's fit beside espeak-ng's in the conversion file
KOKORO = "kokoro"  # and Kokoro's
ESPEAK = ""  # espeak-ng's fit is the conversion file's main one
# Languages whose speakers are spoken with exemplars (engines.voice.fitted) in their own language.
# Mandarin only: there the speaker's real frames make espeak-ng's Mandarin (and Kokoro's) both closer and clearer
# (the 14 s Mandarin reference: resemblyzer 0.55 -> 0.62, voicefilter 0.54 -> 0.60, CER 0.24 -> 0.18).
# In English they cost more words than the 1.5x of the base voice allowed: WER 0.025-0.031 ->
# 0.049-0.076 with Piper in two runs (0.024-0.028 as it is), 0.10 -> 0.18 with espeak-ng, for
# +0.02-0.03 similarity (bench/bench_voice_paired.py, results/voice_exemplars*.json).
EXEMPLAR_LANGUAGES = ("zh",)
# Per reference language and base voice: the language that base's fit matches to the speaker's frames
# by Whisper's speech states (engines.voice.fitted), and how far it pulls their voiced and unvoiced frames.
# English speakers: their English (Piper) and their Chinese (espeak-ng), voiced frames further than
# unvoiced ones (CONTENT_SHARE, CONTENT_UNVOICED_SHARE). Paired over three sentences
# (bench/bench_voice_phonetic.py, results/voice_phonetic.json), one share of 0.6 against the nearest
# frames: their English resemblyzer 0.717 -> 0.739, voicefilter 0.733 -> 0.779, WER 0.033 -> 0.046;
# their Chinese 0.655 -> 0.672, 0.593 -> 0.610, CER 0.424 -> 0.439 (espeak-ng as it is 0.464); the split
# then gained more (see CONTENT_SHARE). Chinese is now spoken by Kokoro, matched the same way.
# Mandarin speakers: their English, spoken by Piper fitted on statistics, at 0.75 on every frame. Over
# two runs of the two Mandarin references, three sentences twice each (bench/bench_voice_cross_lingual.py,
# results/voice_cross_lingual.json holds the second): against espeak-ng's parallel fit (0.618 / 0.602, WER
# 0.157) 0.652 / 0.658, WER 0.091 (Piper as it is 0.037); at 0.6 0.611 / 0.566, WER 0.047. Closer
# under both encoders, for about as many words as before: they vary with Piper's draw, and over the
# five paired measurements made (those four draws and bench/bench_voice_pitch.py's) the WER was 0.125
# against 0.157, from 0.02 to 0.35 per three sentences, still above 1.5x Piper's own. Their
# Mandarin keeps the exemplars (matched by states it did worse: 0.669 -> 0.655).
CONTENT_SHARES = (CONTENT_SHARE, CONTENT_UNVOICED_SHARE)
STATE_MATCHED = {"en": {PIPER: ("en", CONTENT_SHARES), ESPEAK: ("zh", CONTENT_SHARES), KOKORO: ("zh", CONTENT_SHARES)},
                 "zh": {PIPER: ("en", (0.75, 0.75)), KOKORO: ("en", (0.75, 0.75))}}
# Reference languages whose speakers get Kokoro's fit, on their own words (Kokoro also speaks English).
KOKORO_FIT_LANGUAGES = ("en", "zh")


def kokoro_languages(fit: FittedVoice) -> set[str]:
    """What Kokoro speaks for a speaker with this fit: Chinese, and the other languages the fit matches to
    their own frames. So Mandarin speakers' English too, which its fit on their own words (their Mandarin) and
    their speech states make closer and clearer than Piper's fit on statistics: paired over three sentences
    on the two Mandarin men (Piper: two draws), resemblyzer 0.644 -> 0.693, voicefilter 0.647 -> 0.720, WER
    0.104 -> 0 (bench/results/voice_kokoro.json). English speakers' English stays with Piper, which is
    closer for them (three men, one prototype run: 0.768 / 0.788 against Kokoro's 0.761 / 0.734)."""
    return ({"zh", fit.content_language, fit.exemplar_language} & set(KOKORO_LANGUAGES)) - {""}


def state_matching(language: str, base: str, states: np.ndarray | None) -> dict:
    """fit_voice's speech-state arguments for `base`'s fit of a speaker whose reference is in `language`
    (`states`: the reference's, None where no Whisper encoder was at hand)."""
    matched = STATE_MATCHED.get(language, {})
    if states is None or base not in matched:
        return {}
    spoken, shares = matched[base]
    return {"content_states": states, "content_language": spoken, "content_shares": shares}


def voice_variant(speaker: SpeakerFeatures | None) -> str:
    """espeak-ng's variant closest to the speaker: the least conversion, the fewest artefacts."""
    return "f3" if speaker is not None and speaker.f0_mean > FEMALE_F0 else MALE_VARIANT


def espeak(text: str, language: str, variant: str, words_per_minute: int = 165) -> np.ndarray:
    """16 kHz samples of espeak-ng speaking `text` (given on stdin, so no text is read as an option)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        voice = f"{ESPEAK_VOICES[language]}+{variant}"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(wav), "--stdin"],
            input=text.encode("utf-8"), check=True, timeout=SPEECH_TIMEOUT, capture_output=True,
        )
        return media.load_audio(wav, SAMPLE_RATE)


def base_language(language: str) -> str | None:
    """The base voice's language for a whisper language code, or None when it has none."""
    return language if language in ESPEAK_VOICES else None


class DefaultSynthesizer:
    name = "default"

    def __init__(self, words_per_minute: int = 165, neural_english: bool = True, neural_mandarin: bool = True,
                 speech_encoder: Callable[[], SpeechEncoder | None] | None = None,
                 exemplar_languages: tuple[str, ...] = EXEMPLAR_LANGUAGES, noise_reduced: bool = True):
        """`neural_english` / `neural_mandarin`: speak with Piper / Kokoro where a profile has their fit (and
        fit them at clone time); off, or not installed, espeak-ng speaks instead. `speech_encoder` returns
        the Whisper encoder a worker already holds (None: there is none, and no speech is matched by states:
        English speakers' speech gets the nearest frames, Mandarin speakers' English espeak-ng); without it
        the engine loads the packaged one itself when it is installed. `exemplar_languages`: the reference
        languages whose fits keep exemplars (see EXEMPLAR_LANGUAGES). `noise_reduced`: fit to a noise-reduced copy
        of a reference whose recording has an audible floor (engines.voice.denoise); off, to the reference as it is."""
        self.words_per_minute = words_per_minute
        self.noise_reduced = noise_reduced
        self.exemplar_languages = exemplar_languages
        self.neural_english = neural_english and piper_installed()
        self.neural_mandarin = neural_mandarin and kokoro_installed()
        self._piper: PiperBase | None = None
        self._kokoro: KokoroBase | None = None
        self._stock_unavailable: set[str] = set()  # base voices that would not load for speech without a speaker
        self._speech_encoder = speech_encoder or self._packaged_speech_encoder
        self._own_speech_encoder: SpeechEncoder | None = None
        self._own_speech_encoder_failed = False
        self._fitted: dict[tuple[str, str], FittedVoice] = {}  # by (file, base): profiles are immutable versions

    def piper(self) -> PiperBase:
        if self._piper is None:
            self._piper = PiperBase()
        return self._piper

    def kokoro(self) -> KokoroBase:
        if self._kokoro is None:
            self._kokoro = KokoroBase()
        return self._kokoro

    def _packaged_speech_encoder(self) -> SpeechEncoder | None:
        if self._own_speech_encoder is None and not self._own_speech_encoder_failed and packaged_whisper.available():
            try:
                self._own_speech_encoder = SpeechEncoder()
            except (OSError, RuntimeError) as error:  # weights that do not check out or load: speak without the states
                self._own_speech_encoder_failed = True
                logger.warning("the packaged Whisper's encoder did not load (%s): voices are matched by nearest frames", error)
        return self._own_speech_encoder

    def fit(self, speaker: SpeakerFeatures, reference: np.ndarray, language: str, segments: list[Segment],
            out_path: Path, progress: Progress = no_progress) -> dict:
        """Fit this speaker's conversion from their cleaned reference and its transcript; store it at `out_path`.

        espeak-ng's fit always; Piper's beside it when the reference is in a language Piper speaks (on
        the same words), or for a man's voice in another language when STATE_MATCHED matches Piper's
        speech to it by speech states and a Whisper encoder is at hand (on statistics and the states);
        Kokoro's for a reference in KOKORO_FIT_LANGUAGES (on the same words).
        Each fit keeps the reference's speech states where STATE_MATCHED names a language for it and
        the encoder is at hand. Every fit is made on the reference with its recording's floor lowered
        (engines.voice.denoise, where the speaker's room tone is audible and `noise_reduced`). Returns what
        the profile keeps (`SpeakerFeatures.conversion`).
        """
        started = time.monotonic()
        reference, reduction = fitting_copy(reference, speaker.room_tone) if self.noise_reduced else (reference, {})
        variant = voice_variant(speaker)
        spoken = base_language(language)
        speak = (lambda text: espeak(text, spoken, variant, self.words_per_minute)) if spoken else None
        exemplar_language = language if language in self.exemplar_languages else ""
        matched = STATE_MATCHED.get(language, {})
        piper_says_the_words = self.neural_english and language in PIPER_LANGUAGES and bool(segments)
        # Without the speaker's words a fit has no formant shift, and Piper's only voice is a man's: women
        # cloned from Chinese keep espeak-ng's women's variant (bench_voice in c3cdd72, where they did not:
        # the 4 s AISHELL clip's English 0.550 -> 0.641 resemblyzer but voicefilter 0.641 -> 0.609, WER 0.10 -> 0.35).
        piper_by_states = (self.neural_english and language not in PIPER_LANGUAGES and PIPER in matched
                           and variant == MALE_VARIANT)
        with_kokoro = self.neural_mandarin and language in KOKORO_FIT_LANGUAGES and bool(segments)
        states, aligning = None, {}
        if ESPEAK in matched or (PIPER in matched and (piper_says_the_words or piper_by_states)) or (KOKORO in matched and with_kokoro):
            progress("speech states", 0.0)
            encoder = self._speech_encoder()
            if encoder is not None:
                states = encoder.content_states(reference)
                # Every fit aligns the base voice's words with the speaker's by them, matched by them or not.
                aligning = {"content_states": states, "speech_states": encoder.content_states}
        piper_matched = state_matching(language, PIPER, states)
        with_piper = piper_says_the_words or (piper_by_states and bool(piper_matched))
        # Each fit's share of the progress bar: Kokoro speaks the words about four times slower than espeak-ng or Piper.
        weights = {ESPEAK: 1.0, **({PIPER: 1.0} if with_piper else {}), **({KOKORO: 4.0} if with_kokoro else {})}
        done, part = 0.0, {}
        for base, weight in weights.items():
            part[base] = scaled(progress, done / sum(weights.values()), (done + weight) / sum(weights.values()))
            done += weight
        voice = fit_voice(reference, segments, speak, part[ESPEAK], exemplar_language, **(aligning | state_matching(language, ESPEAK, states)))
        bases = {}
        if with_piper:
            bases[PIPER] = fit_voice(reference, segments if piper_says_the_words else [], self.piper().speak if piper_says_the_words else None,
                                     part[PIPER], **(aligning | piper_matched))
        if with_kokoro:
            bases[KOKORO] = fit_voice(reference, segments, lambda words: self.kokoro().speak(words, spoken), part[KOKORO],
                                      exemplar_language, **(aligning | state_matching(language, KOKORO, states)))
        voice.save(out_path, bases)
        return {**voice.summary(out_path, time.monotonic() - started, bases), "noise_reduced": reduction}

    def fitted_voice(self, speaker: SpeakerFeatures, base: str = "") -> FittedVoice | None:
        """The speaker's fitted conversion for `base` ("" is espeak-ng), or None for profiles made before it
        (or of a version not read here, or without a fit for that base)."""
        summary = speaker.conversion
        if not summary or summary.get("version") not in READABLE_VERSIONS or not Path(summary.get("file", "")).is_file():
            return None
        if base and base not in summary.get("bases", {}):
            return None
        key = (summary["file"], base)
        if key not in self._fitted:
            self._fitted[key] = FittedVoice.load(summary, base)
        return self._fitted[key]

    def forget(self, fit_file: str) -> None:
        """Let go of the conversions loaded from `fit_file` (a clone's fit, spoken from where it was made
        before it is moved into place)."""
        for key in list(self._fitted):
            if key[0] == fit_file:
                self._fitted.pop(key, None)

    def availability(self) -> tuple[bool, str]:
        if shutil.which("espeak-ng") is None:
            return False, gettext_noop("espeak-ng is not installed (Debian package {package})", package="espeak-ng")
        english = (gettext_noop("Piper en_US-joe-medium for English") if self.neural_english
                   else gettext_noop("espeak-ng for English too (pip install {requirement} for Piper)", requirement=PIPER_REQUIREMENT))
        mandarin = (gettext_noop("Kokoro-82M for Chinese and Mandarin speakers' English") if self.neural_mandarin
                    else gettext_noop("espeak-ng for Chinese (pip install {requirement} for Kokoro)", requirement=KOKORO_REQUIREMENT))
        return True, gettext_noop("offline: espeak-ng + {english} + {mandarin}, WORLD voice conversion fitted to the speaker",
                                  english=english, mandarin=mandarin)

    def synthesize(self, text: str, speaker: SpeakerFeatures | None, out_path: Path, pitch_semitones: float = 0.0, progress: Progress = no_progress) -> SynthesisResult:
        started = time.monotonic()
        samples = self.speak(text, speaker, pitch_semitones, progress)
        return write_result(samples, SAMPLE_RATE, out_path, self.name, started)

    def speak(self, text: str, speaker: SpeakerFeatures | None, pitch_semitones: float = 0.0, progress: Progress = no_progress,
              base_speech: list[np.ndarray] | None = None) -> np.ndarray:
        """16 kHz speech of `text` in `speaker`'s voice; `base_speech`, where given, receives each chunk as its
        base voice (espeak-ng, Piper, Kokoro) spoke it, before the conversion (see speak_with_base)."""
        variant = voice_variant(speaker)
        voice = self.fitted_voice(speaker) if speaker is not None else None
        piper_voice = self.fitted_voice(speaker, PIPER) if speaker is not None and self.neural_english else None
        kokoro_voice = self.fitted_voice(speaker, KOKORO) if speaker is not None and self.neural_mandarin else None
        words_per_minute = round(self.words_per_minute / voice.rate) if voice else self.words_per_minute

        encoder = (self._speech_encoder() if any(fit is not None and fit.content_language for fit in (voice, piper_voice, kokoro_voice))
                   else None)
        # Piper speaks English only where it was fitted to this speaker: on their words, or by the states.
        piper_speaks = piper_voice is not None and (piper_voice.method == "parallel" or encoder is not None)

        def base(chunk: Chunk) -> tuple[np.ndarray, FittedVoice | None]:
            if kokoro_voice is not None and chunk.language in kokoro_languages(kokoro_voice):
                return self.kokoro().speak(chunk.text, chunk.language, 1.0 / kokoro_voice.rate), kokoro_voice
            if piper_speaks and chunk.language in PIPER_LANGUAGES:
                return self.piper().speak(chunk.text, 1.0 / piper_voice.rate), piper_voice
            if speaker is None and (stock := self._stock_voice(chunk)) is not None:
                return stock, None
            return espeak(chunk.text, chunk.language, variant, words_per_minute), voice

        def speak(chunk: Chunk) -> np.ndarray:
            samples, fitted = base(chunk)
            if base_speech is not None:
                base_speech.append(samples)
            if fitted is not None:
                matched = encoder is not None and fitted.content_language == chunk.language
                return apply_voice(samples, fitted, speaker.f0_mean, speaker.f0_std_semitones, pitch_semitones,
                                   language=chunk.language, content_states=encoder.content_states(samples) if matched else None)
            if speaker is not None:
                return convert(samples, speaker, pitch_semitones)
            return shift_pitch(samples, pitch_semitones)

        return speak_chunks(text, SAMPLE_RATE, speak, progress)

    def _stock_voice(self, chunk: Chunk) -> np.ndarray | None:
        """Kokoro's Chinese or Piper's English as they are, for speech without a speaker; None where neither
        speaks the chunk or its model will not load here (a damaged cache), so espeak-ng speaks it as before."""
        if self.neural_mandarin and chunk.language == "zh":
            base, speak = KOKORO, lambda: self.kokoro().speak(chunk.text, chunk.language)
        elif self.neural_english and chunk.language in PIPER_LANGUAGES:
            base, speak = PIPER, lambda: self.piper().speak(chunk.text)
        else:
            return None
        if base in self._stock_unavailable:  # loading it again for every sentence would only fail again
            return None
        try:
            return speak()
        except (KokoroUnavailable, PiperUnavailable) as exc:
            logger.warning("the default voice speaks with espeak-ng: %s", exc)
            self._stock_unavailable.add(base)
            return None

    def speak_with_base(self, text: str, speaker: SpeakerFeatures) -> tuple[np.ndarray, np.ndarray]:
        """(converted, base): `text` in `speaker`'s voice, and the same utterance as its base voices spoke it
        before the conversion, joined the same way: a pair that differs by the conversion alone (Piper draws
        its voice anew at each call, so two calls would differ by more)."""
        chunks: list[np.ndarray] = []
        converted = self.speak(text, speaker, base_speech=chunks)
        spoken = iter(chunks)
        return converted, speak_chunks(text, SAMPLE_RATE, lambda chunk: next(spoken), no_progress)
