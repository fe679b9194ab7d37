"""The studio's five pages and the JSON addition they need to offer only the engines usable here (the
recent-jobs list the pages follow is monitoring.views.task_list).

The pages are templates plus static JS that call the documented API; nothing here runs work.
"""
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from assets.consent import operator_consent_name
from assets.speech import all_engine_availability
from chat.providers import all_provider_availability
from echofu import ownership, responses
from echofu.api_table import API_TABLE
from echofu.messages import localized
from engines.progress import STAGE_NAMES
from engines.voice.synthesis import SYNTHESIZER_LABELS
from monitoring.forecast import START_UNKNOWN_EXPLAINED

NAV = [
    ("home", _("Home")),
    ("voice", _("Voice")),
    ("training", _("Training")),
    ("generate", _("Video generation")),
    ("chat", _("Chat")),
]

# Text the scripts put on the page, translated with the rest of the catalog.
UI_STRINGS = {
    "request_failed": _("The request failed (HTTP {status})."),
    "network_error": _("The server could not be reached. Is it running?"),
    "state_queued": _("queued"),
    "state_running": _("running"),
    "state_succeeded": _("done"),
    "state_failed": _("failed"),
    "state_cancelled": _("cancelled"),
    "kind_probe": _("Video check"),
    "kind_train": _("Training"),
    "kind_render": _("Video rendering"),
    "kind_clone": _("Voice profile"),
    "kind_synthesize": _("Speech synthesis"),
    "kind_chat": _("Chat turn"),
    "stage": _("Stage"),
    "eta": _("Time left"),
    "starts_in": _("Starts in about {time}"),
    "starts_now": _("Starts any moment"),
    "ends_in": _("Done in about {time}"),
    **{f"start_unknown:{reason}": explained for reason, explained in START_UNKNOWN_EXPLAINED.items()},
    "past_estimate": _("Taking {time} longer than estimated"),
    "estimate_learned": _("Estimated from the last {n} jobs like it"),
    "estimate_builtin": _("First estimate, until jobs like it have finished here"),
    "estimate_engine": _("The training engine's estimate, until 3 trainings like it have finished here"),
    "elapsed": _("Elapsed"),
    "duration_seconds": _("{s}s"),
    "duration_minutes": _("{m}m {s}s"),
    "duration_hours": _("{h}h {m}m"),
    "duration_days": _("{d}d {h}h"),
    "device": _("Device"),
    "queue_position": _("Position {n} in the queue"),
    "cancel": _("Cancel"),
    "log_tail": _("Log"),
    "no_recorder": _("This browser cannot record audio."),
    "no_microphone": _("The microphone is not available: {reason}"),
    "recording_seconds": _("Recording… {s} s"),
    "recorded_seconds": _("Recorded {s} s"),
    "stop_recording": _("Stop recording"),
    "no_quality_figures": _("no quality figures"),
    "sync": _("lip sync"),
    "versus_loop": _("{value} (loop {loop})"),
    "lip_opening_r": _("lip-opening r"),
    "audio_delay": _("audio delay"),
    "audio_delay_shift": _("{frames} frames"),
    "audio_delay_by": _("{shift} (by {basis})"),
    "audio_delay_not_found": _("not found (nothing corrected)"),
    "delay_basis:loudness": _("loudness"),
    "delay_basis:speech content": _("speech content"),
    "mouth_detail": _("mouth detail"),
    "mouth_shimmer": _("mouth shimmer"),
    "offset": _("offset"),
    "frames": _("frames"),
    "download": _("Download"),
    "uploading": _("Uploading… {percent}%"),
    "uploaded": _("Uploaded: {name}"),
    "choose_file": _("Choose a file first."),
    # An upload refused for want of consent (the API's `consent_missing`), asked in the form's words.
    "consent_missing_statement": _("Tick the consent box and enter the name of the person shown or heard, then upload again."),
    "consent_missing_name": _("Enter the name of the person shown or heard (at most 200 characters), then upload again."),
    "consent_missing_statement_or_setting": _("Tick the consent box and enter the name of the person shown or heard, then upload "
                                              "again. To state it once for every upload, the operator can start the studio with "
                                              "ECHOFU_SINGLE_USER_CONSENT set to that person's name (see the README)."),
    "play": _("Play"),
    "job_cancelled": _("The job was cancelled."),
    "job_deleted": _("The job was deleted."),
    "unavailable": _("unavailable"),
    "engine_unavailable": _("{type} cannot run here: {reason}"),
    "delete": _("Delete"),
    "delete_named": _("Delete {name}"),
    "deleted": _("Deleted: {name}"),
    # Home
    "cpu": _("CPU"),
    "memory": _("Memory"),
    "disk": _("Disk"),
    "no_gpu": _("No GPU detected: work runs on the CPU."),
    "updated": _("Updated {time}"),
    "no_jobs": _("No jobs yet. Start one from the tools above."),
    "no_results": _("No videos yet. Render one on the video generation page."),
    # Voice
    "reference_uploaded": _("Reference audio stored: {name}"),
    "no_references": _("No reference audio yet: upload or record one."),
    "no_profiles": _("No speaker profiles yet: create one from a reference audio."),
    "profile_created": _("Speaker profile {id} is ready (version {version})."),
    "pick_reference": _("Pick a reference audio."),
    "bad_profile_name": _("A profile name holds only letters, digits, Chinese characters, _ . - and at most 64 characters."),
    "pick_speaker": _("Pick a speaker profile."),
    "enter_text": _("Enter the text to speak."),
    "speech_ready": _("Speech is ready."),
    "version": _("version {n}"),
    "f0": _("mean pitch {f0} Hz"),
    "no_speech": _("No synthesised speech yet."),
    "default_voice": _("Default voice (no cloning)"),
    # The name in quotes: a file name with spaces, a sentence (a render's text) ending in "." before the "?".
    "confirm_delete_reference": _("Delete the reference audio “{name}”? The voices cloned from it are deleted with it."),
    "confirm_delete_voice": _("Delete the voice “{name}”, every version of it? Its reference audio stays."),
    "confirm_delete_speech": _("Delete the speech “{name}”? Videos rendered from it keep their sound."),
    "confirm_delete_version": _("Delete “{name}”? The voice's other versions stay."),
    "versions_of": _("Versions of {name}"),
    # A clone's self-evaluation: cosine similarity to its recording (1: the same voice), and Whisper's misreadings.
    "likeness": _("Likeness to the recording: {figures}"),
    "likeness_figure": _("{encoder} {clone}, its base voice before conversion {base}"),
    "likeness_short": _("likeness {clone}"),
    "misheard": _("Misheard: {figures}"),
    "misheard_words": _("{language} {clone} of words (base voice {base})"),
    "misheard_characters": _("{language} {clone} of characters (base voice {base})"),
    "language_en": _("English"),
    "language_zh": _("Chinese"),
    "provider_languages": _("{provider} answers only in {languages}: questions in other languages get the fallback reply "
                            "(or the knowledge base's answer)."),
    "voice_figures_hint": _("Measured when the voice was cloned (or by manage.py measure_voices), for the offline default engine: two check sentences, English and "
                            "Chinese, spoken in this voice and by its base voice before conversion, compared with the recording by two "
                            "speaker encoders (1: the same voice) and read back by the offline speech recognition."),
    "voice_not_measured": _("Not measured: voices made by a chat turn or one-shot speech skip it, as did clones before it existed, "
                            "and a clone whose measurement failed has none either (its job log says why); "
                            "an administrator's manage.py measure_voices measures them."),
    "voice_not_closer": _("This clone is not closer to the recording than its base voice before conversion: try a longer or cleaner recording."),
    # Training
    "probe_running": _("Checking the video…"),
    "check_ok": _("The video can be used for training."),
    "consent_revoked": _("Its consent was revoked by the studio's operator: it can no longer be used."),
    "check_bad": _("The video cannot be used for training:"),
    "check_pending": _("The check has not finished yet."),
    "check_failed": _("The check failed: {error}"),
    "duration": _("Duration"),
    "fps": _("Frame rate"),
    "resolution": _("Resolution"),
    "face_share": _("Frames with one face"),
    "audio": _("Audio"),
    "warnings": _("Warnings"),
    "yes": _("yes"),
    "no": _("no"),
    "none": _("none"),
    "no_videos": _("No training videos yet: upload one above."),
    "pick_video": _("Pick a training video."),
    "training_started": _("Training started ({id})."),
    "training_done": _("Training finished: {model}"),
    "no_models": _("No trained models yet."),
    "preview": _("Preview"),
    "cpu_device": _("CPU"),
    "confirm_delete_video": _("Delete the training video “{name}”? The models trained from it are deleted with it."),
    "confirm_delete_model": _("Delete the model “{name}”? The videos rendered with it stay."),
    # Generation
    "pick_model": _("Pick a model."),
    "train_first": _("No trained model yet: train one from a video on the Training page first."),
    "no_usable_model": _("None of the trained models can be used here (the list says why for each): train one again on the Training page."),
    "pick_audio": _("Pick an audio file."),
    "record_first": _("Record something first."),
    "recording_kept": _("The recording is kept in the file field: send it again with Upload."),
    "video_ready": _("The video is ready."),
    "no_history": _("No rendered videos yet."),
    "reference_group": _("Reference audio"),
    "synthesised_group": _("Synthesised speech"),
    "confirm_delete_render": _("Delete the video “{name}”?"),
    "text_engine_unavailable": _("Text is spoken by the server's voice engine {type}, which cannot run here: {reason}"),
    # Chat
    "server_default": _("server default"),
    "hold_to_talk": _("Hold to talk"),
    "release_to_send": _("Release to send"),
    "hold_longer": _("Hold the button while you speak."),
    "connection_lost": _("The server cannot be reached; still trying…"),
    "you": _("You"),
    "assistant": _("Digital human"),
    "timing:asr": _("recognition {s} s"),
    "timing:llm": _("reply {s} s"),
    "timing:tts": _("voice {s} s"),
    "timing:render": _("video {s} s"),
    "timing:total": _("total {s} s"),
    "provider": _("answered by {provider}"),
    "conversation_new": _("New conversation started."),
    "empty_message": _("Type a message or hold the talk button."),
    "segment": _("sentence {n}"),
    "answer_to": _("the answer to “{question}”"),
    # After a player's caption, while the browser would not start the video unasked (a reload: no click yet).
    "press_play": _("press ▶ to play it"),
    "first_segment": _("first sentence after {s} s"),
    "stage_failed": _("The {stage} stage failed: {error}"),
    "turn_cancelled": _("The answer was cancelled."),
    "confirm_delete_turn": _("Delete this question and its answer ({name}), with its recording and video?"),
    "confirm_delete_failed_turn": _("Delete this question ({name}) and the failure under it, with its recording?"),
    "answer_engine_unavailable": _("Answers are spoken by the server's voice engine {type}, which cannot run here: {reason}"),
}

# The contract's form fields, as the pages' forms label them: a refusal naming one ("original_audio_path: ...")
# is said by the label of the box it came from.
FIELD_LABELS = {
    "original_audio_path": _("Reference audio"),
    "target_audio_id": _("Profile name (optional)"),
    "room_tone": _("Room tone of the reference recording"),
    "generate_text": _("Text (Chinese, English or mixed)"),
    "target_text": _("Text (Chinese, English or mixed)"),
    "text": _("Message"),
    "audio_id": _("Speaker profile"),
    "speaker_id": _("Voice"),
    "pitch": _("Pitch shift (semitones)"),
    "engine": _("Engine"),
    "model_name": _("Model"),
    "model_param": _("Model"),
    "ref_audio": _("Audio"),
    "gpu_choice": _("Device"),
    "ref_video": _("Video to train on"),
    "model_choice": _("Model type"),
    "epoch": _("Epochs"),
    "custom_params": _("Parameters"),
    "api_choice": _("Language model"),
}


def _page(request, template: str, page: str, status: int = 200, **context):
    strings = {key: str(text) for key, text in UI_STRINGS.items()}
    strings.update((f"field:{name}", str(label)) for name, label in FIELD_LABELS.items())
    strings.update((f"stage:{stage}", localized(name)) for stage, name in STAGE_NAMES.items())
    # A signed-in account that is not staff would find only the admin's "not authorized" page.
    links_to_admin = request.echofu_auth != "session" or request.user.is_staff
    return render(request, template, {"page": page, "nav": NAV, "ui_strings": strings, "links_to_admin": links_to_admin,
                                      "operator_consent": operator_consent_name(ownership.acting_user(request)), **context}, status=status)


def home(request):
    return _page(request, "studio/home.html", "home", api=API_TABLE)


def voice(request):
    return _page(request, "studio/voice.html", "voice",
                 speech_engines=[(name, localized(label)) for name, label in SYNTHESIZER_LABELS.items()])


def training(request):
    return _page(request, "studio/training.html", "training")


def generate(request):
    return _page(request, "studio/generate.html", "generate")


def chat(request):
    return _page(request, "studio/chat.html", "chat")


def not_found(request):
    """What a browser opening an address that is no page gets (see echofu.views.not_found)."""
    return _page(request, "studio/not_found.html", "", status=404)


@responses.allow_methods("GET")
def engines(request):
    """Speech engines and chat providers, each with whether it can run on this machine and why not
    (addition): the voice and chat pages offer only those. The talking-head engines are in
    /api/available-models's `engines`."""
    return responses.success(speech_engines=all_engine_availability(request), chat_providers=all_provider_availability(request))
