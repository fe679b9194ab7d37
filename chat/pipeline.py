"""One chat turn as a job: recording -> transcript -> reply, sentence by sentence -> voice -> video.

The reply streams: while the model writes the next sentence (in its own thread), the finished one
is spoken and rendered into its own short MP4, which is moved into place and listed on the turn
at once, so a page can play it while the rest is made. At the end the sentences are joined into
one MP4 for the documented blocking answer. A stage that fails marks the turn failed with that
stage named, and removes whatever of the answer had been made.
"""
from __future__ import annotations

import queue
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assets.consent import ConsentMissing, usable_profiles
from assets.speech import extract_speaker, get_synthesizer, latest_profile, speaker_features
from assets.models import SpeakerProfile
from assets.voice_forms import speaker_id_for
from chat import providers
from chat.forms import conversation_missing
from chat.models import Conversation, KnowledgeEntry, Persona, Turn
from echofu.ownership import owner_q_for_id
from echofu import loaded_models, paths
from echofu.removal import InputGone
from echofu.messages import as_users_read, in_contract_language, reason_of, restored, stored
from echofu.uploads import claim_unique_path
from engines import media
from engines.asr import NoSpeech
from engines.chat_knowledge import KnowledgeIndex
from engines.llm import LLMError, clean_reply, ending_at_a_sentence, sentences
from engines.messages import Message, UnusableInput, gettext_noop
from engines.progress import Cancelled, no_progress, stage_name
from engines.provenance import LabelText
from engines.talking_head import RenderResult, TalkingHeadEngine
from engines.text import LANGUAGE_NAMES, chunks, joined, language_of, supported_script
from engines.voice import SpeakerFeatures, Synthesizer
from monitoring import estimates, repeats, runner
from provenance.models import ProvenanceRecord
from provenance.stamping import asked_label_language, finish_audio, finish_video, publishing, video_label
from monitoring.models import Job
from training.engines import get_engine, render
from training.models import TalkingHeadModel
from training.registry import model_for_job

SAMPLE_RATE = 16000
SENTENCE_PAUSE = 0.2  # seconds of silence after each spoken sentence


def stage_failure(stage: str, error) -> Message:
    """A turn's failure as the pages and /chat_system name it: its stage by the name the job cards give it."""
    return gettext_noop("{stage} stage failed: {error}", stage=stage_name(stage), error=error)


class StageFailed(Exception):
    def __init__(self, stage: str, message: str):
        super().__init__(stage_failure(stage, message))  # the job's error, translatable too
        self.stage = stage
        self.message = message


class ConversationMissing(InputGone):
    """The conversation the form names was deleted after the form found it."""

    def __init__(self, conversation_id: int):
        super().__init__("conversation_id", conversation_missing(conversation_id))


def new_turn(data: dict, owner) -> Turn:
    """A running turn for the checked /chat_system form, in its conversation (a new one unless the form names one)."""
    with transaction.atomic():
        if data["conversation_id"] is None:
            conversation = Conversation.objects.create(owner=owner)
        else:
            conversation = Conversation.objects.filter(pk=data["conversation_id"]).first()
            if conversation is None:
                raise ConversationMissing(data["conversation_id"])
        return Turn.objects.create(conversation=conversation, input_text=data["text"])


def start_turn(data: dict, owner, recording: str = "") -> tuple[Job, bool]:
    """(job, repeat): the chat job answering the form (typed text, or the `recording` it is asked with),
    its turn named by its params' turn_id. The contract rereads input.wav on every call, so Send clicked twice sends one
    utterance twice: the same recording (by its bytes) or text with the same settings moments later gets
    the first one's turn (monitoring.repeats), not a second LLM call and render."""
    asked = {
        "model_id": data["model"].pk, "api_choice": data["api_choice"],
        "voice_clone": data["voice_clone"], "speaker_id": data["speaker_id"] if data["voice_clone"] else "",
        "ref_audio_path": data["ref_audio_path"], "pitch": data["pitch"],
    }
    with repeats.as_asked(recording) as (heard, copy):
        key = repeats.request_key(**asked, text=data["text"], conversation_id=data["conversation_id"], recording=heard,
                                  **asked_label_language())

        def queued_turn() -> Job:
            turn = new_turn(data, owner)
            params = {"turn_id": turn.pk, **asked,
                      # the answer's length is the LLM's to choose: a turn is timed as a whole
                      "workload": estimates.workload(Job.Kind.CHAT, "turn", 1, data["model"].model_type, "cpu"),
                      **asked_label_language()}
            # before the recording is kept: a model or voice deleted meanwhile refuses the request (InputGone)
            # and rolls the turn back, which would leave its folder behind
            turn.job = runner.new_job(Job.Kind.CHAT, params, device="cpu", owner=owner, prefix="chat")
            turn.save(update_fields=["job"])
            if copy is not None:
                keep_recording(turn, copy)
            return turn.job

        return repeats.start_once(Job.Kind.CHAT, owner, key, queued_turn)


def keep_recording(turn: Turn, copy: Path) -> None:
    """The turn keeps the request's copy of the shared input.wav (repeats.as_asked): the next /save_audio overwrites it."""
    folder = paths.absolute(turn.folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.move(copy, folder / "question.wav")
    turn.user_audio = f"{turn.folder}/question.wav"
    turn.save(update_fields=["user_audio"])


def record_failure(turn: Turn, stage: str, message: str, timings: dict | None = None) -> None:
    """The turn keeps its error (in Chinese, and as its template when it has one: echofu.messages);
    nothing half-made of the answer stays listed or on disk. A turn
    deleted while it ran (in the admin, or with its conversation) stays deleted, and so does its folder:
    a plain save would insert the deleted row again. The user reads the error: the server's paths and the
    addresses and keys of the servers it calls are left out of it (the job's failure in the server log keeps them)."""
    shutil.rmtree(paths.absolute(turn.folder) / "segments", ignore_errors=True)
    turn.status, turn.error_stage = Turn.Status.FAILED, stage
    kept = stored(as_users_read(message))
    turn.error, turn.error_message = in_contract_language(kept), kept if isinstance(kept, dict) else None
    turn.segments, turn.reply_video, turn.reply_audio = [], "", ""
    turn.timings = timings or turn.timings
    turn.finished_at = timezone.now()
    ended = ("status", "error_stage", "error", "error_message", "segments", "reply_video", "reply_audio", "timings", "finished_at")
    if not Turn.objects.filter(pk=turn.pk).update(**{field: getattr(turn, field) for field in ended}):
        shutil.rmtree(paths.absolute(turn.folder), ignore_errors=True)


class _Clock:
    def __init__(self, started):
        self.started = started
        self.timings: dict[str, float] = {"llm": 0.0, "tts": 0.0, "render": 0.0}  # "asr" once a recording is recognised

    def add(self, stage: str, seconds: float) -> None:
        self.timings[stage] = round(self.timings.get(stage, 0.0) + seconds, 3)

    def since_request(self) -> float:
        return round((timezone.now() - self.started).total_seconds(), 3)


@runner.handles(Job.Kind.CHAT)
def answer_turn(job: Job, ctx: runner.JobContext) -> dict:
    turn = Turn.objects.select_related("conversation").get(job=job)
    clock = _Clock(turn.created_at)
    try:
        return _answer(turn, job, ctx, clock)
    except StageFailed as failure:
        record_failure(turn, failure.stage, failure.message, clock.timings)
        raise
    except Cancelled:
        record_failure(turn, _stage_reached(ctx.stage), _why_stopped(job), clock.timings)
        raise
    except BaseException as exc:  # a model deleted meanwhile, a full disk, the queue's time limit
        record_failure(turn, turn.error_stage or Turn.Stage.RENDER, runner.describe_failure(exc), clock.timings)
        raise


def _stage_reached(stage: str) -> str:
    """The turn's stage by its job's last progress report: a cancel stops a turn at any of them."""
    if stage == "join":
        return Turn.Stage.RENDER
    return stage if stage in Turn.Stage.values else Turn.Stage.ASR


def _why_stopped(job: Job) -> str:
    """A cancel, unless recovery ended the job meanwhile (its worker thought lost: runner.Superseded, or
    a progress report that found it ended): then the turn reads as its job does, with recovery's reason."""
    recovered = Job.objects.filter(pk=job.pk, status=Job.Status.FAILED).first()
    return restored(recovered.kept_error) if recovered else "cancelled"


def settle_with_job(turn: Turn) -> Turn:
    """A turn whose job ended without ending it (cancelled while queued, its worker lost) fails with
    the job's error, so that no page waits on it for ever. The handler ends its turn before the job
    is recorded as ended, so a finished job with a running turn never ran to the turn's end."""
    if turn.status == Turn.Status.RUNNING and turn.job_id is not None and turn.job.is_finished:
        record_failure(turn, turn.error_stage or Turn.Stage.RENDER, restored(turn.job.kept_error) or turn.job.status)
    return turn


def _answer(turn: Turn, job: Job, ctx: runner.JobContext, clock: _Clock) -> dict:
    params = job.params
    ctx.progress("asr", 0.0)
    transcript, language = _transcribe(turn, clock)
    turn.transcript, turn.language = transcript, language
    turn.save(update_fields=["transcript", "language"])

    provider, warning = providers.resolve_provider(params.get("api_choice", ""))
    if warning:
        ctx.log(warning)
    ctx.progress("llm", 0.1)
    persona = Persona.current()
    hold = threading.Event()
    hold.set()
    reply_stream, provider = _reply_sentences(turn, persona, provider, transcript, language, hold, ctx.log)
    turn.provider = provider
    turn.save(update_fields=["provider"])

    model = model_for_job(params["model_id"])
    profile = _speaker_profile(job, turn)
    speaker = speaker_features(profile)
    synthesizer = get_synthesizer()
    engine = get_engine(model.model_type)
    label = video_label(job, ctx.log)
    segments_dir = paths.absolute(turn.folder) / "segments"
    segments_dir.mkdir(parents=True, exist_ok=True)

    spoken: list[str] = []
    audio_parts: list[np.ndarray] = []
    llm_began = time.monotonic()
    producer = _Prefetch(reply_stream, hold)
    try:
        for index, sentence in enumerate(producer, start=1):
            if index == 1:
                clock.timings["llm_first_sentence"] = round(time.monotonic() - llm_began, 3)
            text = clean_reply(sentence)
            # nothing a voice could say (empty, punctuation only), or a sentence mostly in a script the
            # voices would only spell out (a model answering in Japanese): skipped, as the forms refuse it
            if not chunks(text) or not supported_script(text):
                producer.release()  # nothing to speak: no reason to hold the model
                continue
            ctx.progress("tts", min(0.2 + 0.05 * index, 0.9), gettext_noop("sentence {index}: {text}", index=index, text=text))
            began = time.monotonic()
            wav = ctx.workdir / f"{index:02d}.wav"
            samples = _speak(synthesizer, text, speaker, wav, params.get("pitch", 0.0))
            clock.add("tts", time.monotonic() - began)

            began = time.monotonic()
            temp_video = ctx.workdir / f"{index:02d}.mp4"
            result = _render_sentence(engine, model, wav, temp_video, job.device, label)
            clock.add("render", time.monotonic() - began)
            clock.timings["render_frames"] = clock.timings.get("render_frames", 0) + result.frames

            # The sentence's audio, padded to its video's length, so the joined answer stays in sync.
            length = round(result.frames / result.fps * SAMPLE_RATE)
            audio_parts.append(np.pad(samples, (0, max(0, length - len(samples))))[:length])
            _publish_sentence(turn, job, model, profile, index, text, temp_video, segments_dir / f"{index:02d}.mp4", result, label, clock)
            spoken.append(text)
            if "first_segment" not in clock.timings:
                clock.timings["first_segment"] = clock.since_request()
                producer.release()
    finally:  # however the loop ends, the model is not left held or writing for nobody
        producer.stop()
    clock.add("llm", producer.seconds)
    if producer.error is not None:
        raise StageFailed(Turn.Stage.LLM, reason_of(producer.error))
    if not spoken:
        raise StageFailed(Turn.Stage.LLM, gettext_noop("the model gave no answer that can be spoken"))

    ctx.progress("join", 0.95)
    video = _join_answer(turn, job, model, profile, spoken, np.concatenate(audio_parts), ctx.workdir, label, clock)
    return {"turn_id": turn.pk, "conversation_id": turn.conversation_id, "video_path": paths.public_path(paths.relative_to_media(video)),
            "provider": provider, "warning": warning}


def _speak(synthesizer: Synthesizer, text: str, speaker: SpeakerFeatures | None, wav: Path, pitch_semitones: float) -> np.ndarray:
    """The sentence's speech and the pause after it, written to `wav`: the pause keeps the sentences
    of the joined answer apart."""
    try:
        synthesizer.synthesize(text, speaker, wav, pitch_semitones=pitch_semitones, progress=no_progress)
        samples = np.concatenate([media.load_audio(wav, SAMPLE_RATE), np.zeros(int(SENTENCE_PAUSE * SAMPLE_RATE), np.float32)])
        media.write_wav(wav, samples, SAMPLE_RATE)
    except Exception as exc:
        raise StageFailed(Turn.Stage.TTS, gettext_noop("speech synthesis failed: {reason}", reason=reason_of(exc))) from exc
    return samples


def _render_sentence(engine: TalkingHeadEngine, model: TalkingHeadModel, wav: Path, out_path: Path, device: str,
                     label: LabelText | None) -> RenderResult:
    try:
        return render(engine, model.directory(), wav, out_path, no_progress, device, label)
    except Cancelled:
        raise
    except Exception as exc:
        raise StageFailed(Turn.Stage.RENDER, gettext_noop("video rendering failed: {reason}", reason=reason_of(exc))) from exc


def _publish_sentence(turn: Turn, job: Job, model: TalkingHeadModel, profile: SpeakerProfile | None, index: int, text: str,
                      video: Path, target: Path, result: RenderResult, label: LabelText | None, clock: _Clock) -> None:
    """Move the sentence's video into place and list it on the turn, so that a page plays it while
    the rest of the answer is made."""
    with publishing(job, target) as keep:  # published with its record, marker and label
        keep(finish_video(video, target, job, model, "", label=label, labelled=result.labelled, speaker=profile))
    turn.segments = turn.segments + [{
        "index": index, "text": text, "video_path": paths.public_path(paths.relative_to_media(target)),
        "duration": round(result.frames / result.fps, 3), "ready_after_seconds": clock.since_request(),
    }]
    turn.save(update_fields=["segments"])


def _join_answer(turn: Turn, job: Job, model: TalkingHeadModel, profile: SpeakerProfile | None, spoken: list[str],
                 answer_audio: np.ndarray, workdir: Path, label: LabelText | None, clock: _Clock) -> Path:
    """Join the turn's published sentence videos into the whole answer and save the turn answered with it."""
    began = time.monotonic()
    segment_files = [paths.absolute(segment["video_path"][len(paths.PUBLIC_PREFIX):]) for segment in turn.segments]
    stem = f"chat_{model.name}_{turn.conversation_id}_{turn.pk}"
    wav = claim_unique_path(paths.absolute(paths.RES_VOICES), f"{stem}.wav")
    video = claim_unique_path(paths.absolute(paths.RES_VIDEOS), f"{stem}.mp4")
    # The answer's provenance rows are kept with the turn that lists its files, in one transaction: a
    # turn deleted or superseded meanwhile leaves neither files nor records of files never published.
    with publishing(job, wav, video) as keep:
        try:
            records = _join(job, model, profile, segment_files, answer_audio, workdir, wav, video, label)
        except Cancelled:  # superseded (runner.holding_claim): not a failed join
            raise
        except Exception as exc:
            raise StageFailed(Turn.Stage.RENDER, gettext_noop("joining the answer video failed: {reason}", reason=reason_of(exc))) from exc
        clock.add("join", time.monotonic() - began)
        clock.timings["total"] = clock.since_request()
        turn.reply_text = joined(spoken)
        turn.reply_video, turn.reply_audio = paths.relative_to_media(video), paths.relative_to_media(wav)
        turn.duration = round(len(answer_audio) / SAMPLE_RATE, 3)
        turn.status, turn.timings, turn.finished_at = Turn.Status.SUCCEEDED, clock.timings, timezone.now()
        keep(*records, turn)
    return video


def _transcribe(turn: Turn, clock: _Clock) -> tuple[str, str]:
    if turn.input_text:
        return turn.input_text, language_of(turn.input_text)
    began = time.monotonic()
    try:
        result = loaded_models.transcriber().transcribe(paths.absolute(turn.user_audio.name))
    except NoSpeech as exc:
        raise StageFailed(Turn.Stage.ASR, reason_of(exc)) from exc
    except Exception as exc:
        raise StageFailed(Turn.Stage.ASR, gettext_noop("speech recognition failed: {reason}", reason=reason_of(exc))) from exc
    finally:
        clock.add("asr", time.monotonic() - began)
    if not result.text.strip():
        raise StageFailed(Turn.Stage.ASR, gettext_noop("no speech found in the recording"))
    return result.text, result.language if result.language in ("zh", "en") else language_of(result.text)


def knowledge_answer(question: str) -> KnowledgeEntry | None:
    entries = {entry.pk: entry for entry in KnowledgeEntry.objects.filter(enabled=True)}
    match = KnowledgeIndex((pk, entry.question) for pk, entry in entries.items()).best(question)
    if match is None or match.score < settings.ECHOFU["CHAT_KNOWLEDGE_MIN_SCORE"]:
        return None
    return entries[match.key]


def _reply_sentences(turn: Turn, persona: Persona, provider: str, transcript: str, language: str, hold: threading.Event,
                     log: Callable[[Message], None]):
    """(sentence iterator, who answers): the knowledge base when close, else the model or the fallback, which
    also answers what the model would only garble (a question in a language it does not speak)."""
    entry = knowledge_answer(transcript)
    if entry is not None:
        turn.knowledge = entry
        turn.save(update_fields=["knowledge"])
        return sentences([entry.answer]), "knowledge"
    languages = providers.provider_languages(provider)
    if languages is not None and language not in languages:  # asked before the model loads: it would not be used
        log(gettext_noop("{model} does not answer in {language}: the fallback reply answered (for answers in {language}, "
                         "set a provider that speaks it, ECHOFU_LLM_PROVIDERS, or add the question to the knowledge base)",
                         model=providers.provider_label(provider), language=LANGUAGE_NAMES.get(language, language)))
        return sentences([persona.fallback_reply(language)]), providers.FALLBACK
    try:
        model = providers.chat_model(provider)
    except (LLMError, KeyError) as exc:
        raise StageFailed(Turn.Stage.LLM, gettext_noop("LLM unavailable: {reason}", reason=reason_of(exc))) from exc
    except Exception as exc:
        raise StageFailed(Turn.Stage.LLM, gettext_noop("loading the LLM failed: {reason}", reason=reason_of(exc))) from exc
    if model is None:
        return sentences([persona.fallback_reply(language)]), providers.FALLBACK
    messages = [{"role": "system", "content": persona.prompt}]
    messages += turn.conversation.history(turn, settings.ECHOFU["CHAT_HISTORY_TURNS"])
    messages.append({"role": "user", "content": transcript})
    return sentences(ending_at_a_sentence(model, messages, settings.ECHOFU["LLM_MAX_TOKENS"], hold)), provider


class _Prefetch:
    """Runs the sentence iterator in its own thread, so the model writes on while we speak and render.

    Except during the first sentence's voice and video: on two cores a model writing on beside
    them halves their speed, and the first segment is what the visitor waits for. The model is
    held (`hold` cleared) from the first sentence until `release()`.
    """

    _DONE = object()

    def __init__(self, items, hold: threading.Event):
        self.queue: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.seconds = 0.0  # writing time, without the time held
        self.hold = hold
        self._held_since: float | None = None
        self._held = 0.0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), daemon=True, name="chat-llm")
        self._thread.start()

    def _run(self, items) -> None:
        began = time.monotonic()
        try:
            for position, item in enumerate(items):
                if self._stopped.is_set():
                    break
                if position == 0:
                    self._held_since = time.monotonic()
                    self.hold.clear()
                self.queue.put(item)
        except BaseException as exc:  # handed to the consumer after the sentences before it
            self.error = exc
        finally:
            self.release()
            self.seconds = time.monotonic() - began - self._held
            self.queue.put(self._DONE)

    def release(self) -> None:
        """Let the model write on."""
        if self._held_since is not None and not self.hold.is_set():
            self._held = time.monotonic() - self._held_since
        self.hold.set()

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is self._DONE:
                return
            yield item

    def stop(self) -> None:
        self._stopped.set()
        self.release()


def _speaker_profile(job: Job, turn: Turn) -> SpeakerProfile | None:
    """The voice profile the answer is spoken in, None for the engine's own voice."""
    params = job.params
    if not params.get("voice_clone"):
        return None
    if params.get("speaker_id"):
        profile = latest_profile(params["speaker_id"], turn.conversation.owner_id)
        if profile is None:  # revoked or deleted after the request was accepted: not silently another voice
            raise StageFailed(Turn.Stage.INPUT, gettext_noop("speaker {speaker_id} is no longer available (consent revoked or deleted)", speaker_id=params["speaker_id"]))
        return profile
    reference = params["ref_audio_path"]
    profile = usable_profiles(SpeakerProfile.objects.filter(owner_q_for_id(turn.conversation.owner_id), reference_path=reference))
    profile = profile.order_by("-version").first()
    if profile is None:
        try:
            profile = extract_speaker(reference, speaker_id_for(reference), job, no_progress, owner_id=turn.conversation.owner_id,
                                      evaluate=False)
        except Cancelled:  # superseded (runner.holding_claim): not a failed voice
            raise
        except ConsentMissing as exc:  # revoked after the request was accepted
            raise StageFailed(Turn.Stage.INPUT, reason_of(exc)) from exc
        except Exception as exc:  # a reference with no speech in it is the input's fault (400), anything else the voice's (500)
            stage = Turn.Stage.INPUT if isinstance(exc, UnusableInput) else Turn.Stage.TTS
            raise StageFailed(stage, gettext_noop("no voice features could be taken from the reference audio: {reason}", reason=reason_of(exc))) from exc
    return profile


def _join(job: Job, model: TalkingHeadModel, profile: SpeakerProfile | None, segments: list[Path], audio: np.ndarray,
          workdir: Path, wav: Path, video: Path, label: LabelText | None) -> tuple[ProvenanceRecord, ProvenanceRecord]:
    """One WAV and one MP4 of the whole answer moved to `wav` and `video`; their provenance rows, unsaved
    (the caller keeps them with the turn: provenance.stamping.publishing)."""
    temp_video = workdir / "answer.mp4"
    # The segments are finished videos (labelled, marked, same encoder settings): their frames are
    # copied, not decoded and encoded again; only the sound of the whole answer is new.
    media.join_video_streams(segments, temp_video, audio, SAMPLE_RATE, {"comment": media.AI_GENERATED})
    temp_wav = workdir / "answer.wav"
    media.write_wav(temp_wav, audio, SAMPLE_RATE)
    # Both outputs get their provenance record and marker (and the video its label) as they are finished.
    return (finish_audio(temp_wav, wav, job, profile),
            finish_video(temp_video, video, job, model, paths.relative_to_media(wav), label=label, labelled=True, speaker=profile))
