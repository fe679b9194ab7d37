"""The JSON shape of a chat turn, shared by /chat_system and /api/chat/turns/<id>; its error in the request's language."""
from chat.models import Turn
from echofu import paths
from echofu.messages import localized
from provenance.download_names import download_names


def turn_json(turn: Turn, download_names_by_file: dict[str, str] | None = None) -> dict:
    """`download_names_by_file`: the answer videos' download names, where a list of turns looked them up at once."""
    video = turn.reply_video.name or ""
    names = download_names([video]) if download_names_by_file is None else download_names_by_file
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
        "video_path": paths.public_path(video) if video else "",
        "download_name": names.get(video, ""),  # what the chat page's download link saves the answer as (addition)
        "audio_path": paths.public_path(turn.reply_audio.name) if turn.reply_audio else "",
        "duration": turn.duration,
        "timings": turn.timings,
        "stage": turn.error_stage,
        "error": localized(turn.kept_error),
    }
