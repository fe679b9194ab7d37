"""The voice stack as the Django side uses it: speaker extraction and synthesis into catalog rows."""
from __future__ import annotations

import os
import threading

from django.conf import settings
from django.utils import timezone

from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile
from echofu import paths
from echofu.uploads import claim_unique_path, safe_filename
from echofu.versioning import create_next_version
from engines.progress import Progress
from engines.voice import SpeakerEncoder, SpeakerFeatures, analyse_reference, create_synthesizer
from monitoring import runner

# The speaker encoder takes seconds to load: one per worker process, created on first use.
_encoder: SpeakerEncoder | None = None
_cache_lock = threading.Lock()


def speaker_encoder() -> SpeakerEncoder:
    global _encoder
    with _cache_lock:
        if _encoder is None:
            _encoder = SpeakerEncoder()
        return _encoder


def synthesizer_config(name: str) -> dict:
    config = settings.ECHOFU
    if name == "xtts":
        return {"model_dir": config["XTTS_DIR"]}
    if name == "cosyvoice":
        return {"base_url": config["COSYVOICE_URL"], "sample_rate": config["COSYVOICE_SAMPLE_RATE"]}
    return {}


_synthesizers: dict[tuple[str, str], object] = {}


def get_synthesizer(name: str | None = None):
    """One synthesizer per engine and configuration per worker: XTTS keeps its loaded model."""
    name = name or settings.ECHOFU["TTS_ENGINE"]
    config = synthesizer_config(name)
    key = (name, repr(sorted(config.items())))
    with _cache_lock:
        if key not in _synthesizers:
            _synthesizers[key] = create_synthesizer(name, **config)
        return _synthesizers[key]


def extract_speaker(reference_path: str, speaker_id: str, workdir, progress: Progress, owner_id=None) -> SpeakerProfile:
    """Analyse a catalogued recording and store it as a new version of `speaker_id`."""
    temp_clip = workdir / "clean.wav"
    features = analyse_reference(paths.absolute(reference_path), temp_clip, speaker_encoder(), progress)
    clip = claim_unique_path(paths.absolute(paths.SPEAKERS), f"{safe_filename(speaker_id, 'speaker')}.wav")
    os.replace(temp_clip, clip)
    try:
        return create_next_version(
            SpeakerProfile, {"speaker_id": speaker_id},
            reference=ReferenceAudio.objects.filter(file=reference_path).first(),
            reference_path=reference_path,
            clean_clip=paths.relative_to_media(clip),
            features=features.as_dict(),
            f0_mean=features.f0_mean,
            f0_low=features.f0_low,
            f0_high=features.f0_high,
            duration=features.duration,
            owner_id=owner_id,
        )
    except BaseException:
        clip.unlink(missing_ok=True)  # no clip without its row
        raise


def latest_profile(speaker_id: str) -> SpeakerProfile | None:
    return SpeakerProfile.objects.filter(speaker_id=speaker_id).order_by("-version").first()


def speaker_features(profile: SpeakerProfile | None) -> SpeakerFeatures | None:
    """What a synthesizer needs of a stored profile; None speaks in the engine's own voice."""
    if profile is None:
        return None
    return SpeakerFeatures.from_dict({**profile.features, "clean_clip": str(paths.absolute(profile.clean_clip.name))})


def synthesize(text: str, speaker_id: str, pitch: float, job, progress: Progress, engine: str | None = None, filename: str = "") -> GeneratedAudio:
    """Speak `text` in the newest version of `speaker_id` (or the engine's own voice when blank) into voices/res_voices, as a catalog row."""
    profile = latest_profile(speaker_id) if speaker_id else None
    if speaker_id and profile is None:
        raise ValueError(f"unknown speaker '{speaker_id}'")
    speaker = speaker_features(profile)
    synthesizer = get_synthesizer(engine)
    temp_out = runner.job_workdir(job.pk) / "speech.wav"
    temp_out.parent.mkdir(parents=True, exist_ok=True)
    result = synthesizer.synthesize(text, speaker, temp_out, pitch_semitones=pitch, progress=progress)
    stem = filename or f"{speaker_id or 'speech'}_{timezone.localtime().strftime('%Y%m%d_%H%M%S')}"
    target = claim_unique_path(paths.absolute(paths.RES_VOICES), safe_filename(f"{os.path.splitext(stem)[0]}.wav", "speech"))
    os.replace(temp_out, target)
    return GeneratedAudio.objects.create(
        file=paths.relative_to_media(target),
        original_name=target.name,
        size=target.stat().st_size,
        duration=result.duration,
        speaker=profile,
        text=text,
        engine=result.engine,
        pitch=pitch,
        job=job,
        owner_id=job.owner_id,
    )
