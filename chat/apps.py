from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = _("Chat")

    def ready(self):
        import chat.history  # noqa: F401  (registers /api/history/chat)
        import chat.pipeline  # noqa: F401  (registers the chat job handler)
        from chat.models import Conversation, Turn
        from echofu.stored_files import remove_files_with

        remove_files_with(Conversation, Turn)
