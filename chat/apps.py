from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        import chat.history  # noqa: F401  (registers /api/history/chat)
        import chat.pipeline  # noqa: F401  (registers the chat job handler)
        from chat.models import Conversation, Turn
        from echofu.stored_files import remove_files_with

        remove_files_with(Conversation, Turn)
