"""/api/history/chat: the user's chat turns, newest first, with their answer videos and sentence segments."""
from __future__ import annotations

from chat.models import Turn
from chat.pipeline import settle_with_job
from chat.serializers import turn_json
from echofu import ownership, paths
from echofu.ordering import NEWEST_FIRST
from monitoring import history
from provenance.download_names import download_names


@history.provides("chat")
def chat_history(request=None) -> list[dict]:
    turns = list(ownership.owned(Turn.objects.select_related("job"), request, field="conversation__owner")
                 .order_by(*NEWEST_FIRST)[: history.LIMIT])
    names = download_names(turn.reply_video.name for turn in turns)
    return [
        {
            **turn_json(settle_with_job(turn), names),
            "type": "chat",
            "status": turn.status,
            "timestamp": turn.created_at.isoformat(),
            "finished_at": turn.finished_at.isoformat() if turn.finished_at else None,
            "question": turn.input_text or turn.transcript,
            "question_audio_path": paths.public_path(turn.user_audio.name) if turn.user_audio else "",
            "available": bool(turn.reply_video) and paths.absolute(turn.reply_video.name).is_file(),
        }
        for turn in turns
    ]
