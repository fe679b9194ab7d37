from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        import chat.history  # noqa: F401  (registers /api/history/chat)
        import chat.pipeline  # noqa: F401  (registers the chat job handler)
