"""The JSON shape of a chat turn, shared by /chat_system and /api/chat/turns/<id>; its error in the request's language."""
from chat.models import Turn
from echofu import paths
from echofu.messages import localized


def turn_json(turn: Turn) -> dict:
    return {
        "task_id": turn.job_id or "",
        "turn_id": turn.pk,
        "conversation_id": turn.conversation_id,
        "turn_status": turn.status,
        "transcript": turn.transcript,
        "language": turn.language,
        "reply": turn.reply_text,
        "provider": turn.provider,
        "knowledge_id": turn.knowledge_id,
        "segments": turn.segments,
        "video_path": paths.public_path(turn.reply_video.name) if turn.reply_video else "",
        "audio_path": paths.public_path(turn.reply_audio.name) if turn.reply_audio else "",
        "duration": turn.duration,
        "timings": turn.timings,
        "stage": turn.error_stage,
        "error": localized(turn.kept_error),
    }
