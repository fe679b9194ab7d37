"""/api/history/chat lists each user's own chat turns, newest first, with their videos."""
import pytest

from accounts.tests.conftest import alice, as_alice, as_bob, bob, multi_user  # noqa: F401  (fixtures)
from chat.models import Conversation, Turn
from engines.testing.simple_media import write_plain_video

pytestmark = pytest.mark.django_db


def test_chat_history_lists_only_the_users_turns_with_their_videos(as_alice, as_bob, alice, bob, media_root):
    video = "videos/res_videos/chat_guide_1_1.mp4"
    write_plain_video(media_root / video, seconds=1.0)
    mine = Conversation.objects.create(owner=alice)
    answered = Turn.objects.create(conversation=mine, status=Turn.Status.SUCCEEDED, input_text="Hello", reply_text="Welcome.",
                                   reply_video=video, duration=1.0, provider="local",
                                   segments=[{"index": 1, "text": "Welcome.", "video_path": "media/chat/1/turn_1/segments/01.mp4",
                                              "duration": 1.0, "ready_after_seconds": 2.5}],
                                   timings={"total": 4.0, "first_segment": 2.5})
    failed = Turn.objects.create(conversation=mine, status=Turn.Status.FAILED, transcript="Tell me more",
                                 error_stage=Turn.Stage.LLM, error="大模型不可用")
    Turn.objects.create(conversation=Conversation.objects.create(owner=bob), status=Turn.Status.SUCCEEDED, input_text="Bob's question")

    listed = as_alice.get("/api/history/chat").json()
    assert [entry["turn_id"] for entry in listed] == [failed.pk, answered.pk]  # newest first
    latest, first = listed
    assert latest["status"] == "failed" and latest["stage"] == "llm" and latest["error"] == "大模型不可用"
    assert latest["question"] == "Tell me more" and latest["video_path"] == "" and latest["available"] is False
    assert first["status"] == "succeeded" and first["type"] == "chat" and first["question"] == "Hello"
    assert first["video_path"] == "media/" + video and first["available"] is True and first["reply"] == "Welcome."
    assert first["segments"][0]["ready_after_seconds"] == 2.5 and first["timings"]["first_segment"] == 2.5
    assert first["conversation_id"] == mine.pk and first["timestamp"]

    assert [entry["question"] for entry in as_bob.get("/api/history/chat").json()] == ["Bob's question"]


def test_the_conversation_a_turn_continues_counts_a_turn_made_in_the_same_instant(alice):
    # A coarse clock, or two turns saved together, gives equal created_at: the list order's key breaks the tie.
    conversation = Conversation.objects.create(owner=alice)
    first = Turn.objects.create(conversation=conversation, status=Turn.Status.SUCCEEDED, transcript="Hello", reply_text="Welcome.")
    second = Turn.objects.create(conversation=conversation, status=Turn.Status.RUNNING, transcript="And then?")
    Turn.objects.filter(pk=second.pk).update(created_at=first.created_at)
    second.refresh_from_db()
    assert conversation.history(second, 5) == [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Welcome."}]
    assert conversation.history(first, 5) == []
