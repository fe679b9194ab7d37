from django.db import models
from django.utils import timezone

from chat.persona import DEFAULT_FALLBACK, DEFAULT_PERSONA
from echofu.ownership import owner_field

CHAT_FOLDER = "chat"  # media-relative: chat/<conversation>/turn_<turn>/


class Persona(models.Model):
    """Who the guide is: the system prompt the LLM gets, and what it says when it cannot answer."""

    name = models.CharField(max_length=100, default="Echo")
    prompt = models.TextField(default=DEFAULT_PERSONA, help_text="system prompt sent to the LLM before the conversation")
    fallback_reply_zh = models.TextField(default=DEFAULT_FALLBACK["zh"])
    fallback_reply_en = models.TextField(default=DEFAULT_FALLBACK["en"])
    active = models.BooleanField(default=True, help_text="the newest active persona is used")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> "Persona":
        """The newest active persona, or the built-in default (unsaved) when none is."""
        return cls.objects.filter(active=True).order_by("-updated_at", "-pk").first() or cls()

    def fallback_reply(self, language: str) -> str:
        return self.fallback_reply_zh if language == "zh" else self.fallback_reply_en


class KnowledgeEntry(models.Model):
    """A curated question and its answer, spoken as written when a visitor asks something close to it."""

    class Language(models.TextChoices):
        ZH = "zh", "中文"
        EN = "en", "English"

    question = models.TextField()
    answer = models.TextField()
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ZH)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language", "question"]
        verbose_name_plural = "knowledge entries"

    def __str__(self) -> str:
        return self.question[:80]


class Conversation(models.Model):
    owner = owner_field()
    title = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    file_lookups = ()  # its folder is its own; the turns' files in it go with each turn

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or f"conversation {self.pk}"

    def owned_files(self) -> list[str]:
        return [f"{CHAT_FOLDER}/{self.pk}"]

    def history(self, before: "Turn", limit: int) -> list[dict]:
        """The earlier answered turns as chat messages, oldest first."""
        turns = list(self.turns.filter(status=Turn.Status.SUCCEEDED, created_at__lt=before.created_at)
                     .exclude(pk=before.pk).order_by("-created_at")[:limit])
        messages = []
        for turn in reversed(turns):
            messages += [{"role": "user", "content": turn.transcript}, {"role": "assistant", "content": turn.reply_text}]
        return messages


class Turn(models.Model):
    """One exchange: what the user said, what the assistant answered, and the rendered answer."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Stage(models.TextChoices):
        INPUT = "input"
        ASR = "asr"
        LLM = "llm"
        TTS = "tts"
        RENDER = "render"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True)
    input_text = models.TextField(blank=True, default="", help_text="typed instead of spoken")
    user_audio = models.FileField(max_length=500, blank=True)
    transcript = models.TextField(blank=True, default="")
    language = models.CharField(max_length=8, blank=True, default="")
    reply_text = models.TextField(blank=True, default="")
    reply_audio = models.FileField(max_length=500, blank=True)
    reply_video = models.FileField(max_length=500, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="seconds of answer video")
    segments = models.JSONField(default=list, blank=True, help_text="sentence videos ready so far, in order")
    provider = models.CharField(max_length=64, blank=True, default="", help_text="who answered: an LLM provider or the knowledge base")
    knowledge = models.ForeignKey(KnowledgeEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    timings = models.JSONField(default=dict, blank=True, help_text="seconds per stage")
    error_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True, default="")
    error = models.TextField(blank=True, default="", help_text="in Chinese, as /chat_system's message gives it")
    error_message = models.JSONField(null=True, blank=True, help_text="the error as its template and values, shown translated (echofu.messages)")
    job = models.ForeignKey("monitoring.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    file_lookups = ("user_audio", "reply_audio", "reply_video")  # owned: removed with the row (echofu.stored_files)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"turn {self.pk} ({self.status})"

    @property
    def kept_error(self) -> dict | str:
        """The error as echofu.messages reads it: its template and values when it has them, else its text."""
        return self.error_message or self.error

    @property
    def folder(self) -> str:
        """Media-relative folder of the turn's recording and sentence videos."""
        return f"{CHAT_FOLDER}/{self.conversation_id}/turn_{self.pk}"

    def owned_files(self) -> list[str]:
        return [self.folder, self.user_audio.name, self.reply_audio.name, self.reply_video.name]
