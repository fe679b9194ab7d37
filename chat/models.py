from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy as _

from chat.persona import DEFAULT_FALLBACK, DEFAULT_PERSONA
from echofu.ordering import NEWEST_FIRST, OLDEST_FIRST
from echofu.ownership import owner_field

CHAT_FOLDER = "chat"  # media-relative: chat/<conversation>/turn_<turn>/


class Persona(models.Model):
    """Who the guide is: the system prompt the LLM gets, and what it says when it cannot answer."""

    name = models.CharField(verbose_name=_("name"), max_length=100, default="Echo")
    prompt = models.TextField(verbose_name=_("prompt"), default=DEFAULT_PERSONA,
                              help_text=_("system prompt sent to the LLM before the conversation"))
    fallback_reply_zh = models.TextField(verbose_name=_("fallback reply (Chinese)"), default=DEFAULT_FALLBACK["zh"])
    fallback_reply_en = models.TextField(verbose_name=_("fallback reply (English)"), default=DEFAULT_FALLBACK["en"])
    active = models.BooleanField(verbose_name=_("active"), default=True, help_text=_("the newest active persona is used"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("persona")
        verbose_name_plural = _("personas")
        ordering = ["-updated_at", "-pk"]

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

    question = models.TextField(verbose_name=_("question"))
    answer = models.TextField(verbose_name=_("answer"))
    language = models.CharField(verbose_name=_("language"), max_length=2, choices=Language.choices, default=Language.ZH)
    enabled = models.BooleanField(verbose_name=_("enabled"), default=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("knowledge entry")
        verbose_name_plural = _("knowledge entries")
        ordering = ["language", "question"]

    def __str__(self) -> str:
        return self.question[:80]


class Conversation(models.Model):
    owner = owner_field()
    title = models.CharField(verbose_name=_("title"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now, db_index=True)

    file_lookups = ()  # its folder is its own; the turns' files in it go with each turn

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = NEWEST_FIRST

    def __str__(self) -> str:
        return self.title or gettext("conversation {pk}").format(pk=self.pk)

    def owned_files(self) -> list[str]:
        return [f"{CHAT_FOLDER}/{self.pk}"]

    def history(self, before: "Turn", limit: int) -> list[dict]:
        """The earlier answered turns as chat messages, oldest first."""
        # Earlier in the lists' order: a turn made in the same instant counts as earlier when its key is lower.
        earlier = Q(created_at__lt=before.created_at) | Q(created_at=before.created_at, pk__lt=before.pk)
        turns = list(self.turns.filter(earlier, status=Turn.Status.SUCCEEDED).order_by(*NEWEST_FIRST)[:limit])
        messages = []
        for turn in reversed(turns):
            messages += [{"role": "user", "content": turn.transcript}, {"role": "assistant", "content": turn.reply_text}]
        return messages


class Turn(models.Model):
    """One exchange: what the user said, what the assistant answered, and the rendered answer."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    class Stage(models.TextChoices):
        INPUT = "input", _("input")
        ASR = "asr", _("speech recognition")
        LLM = "llm", _("LLM reply")
        TTS = "tts", _("speech synthesis")
        RENDER = "render", _("rendering")

    conversation = models.ForeignKey(Conversation, verbose_name=_("conversation"), on_delete=models.CASCADE, related_name="turns")
    status = models.CharField(verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True)
    input_text = models.TextField(verbose_name=_("typed text"), blank=True, default="", help_text=_("typed instead of spoken"))
    user_audio = models.FileField(verbose_name=_("user audio"), max_length=500, blank=True)
    transcript = models.TextField(verbose_name=_("transcript"), blank=True, default="")
    language = models.CharField(verbose_name=_("language"), max_length=8, blank=True, default="")
    reply_text = models.TextField(verbose_name=_("reply text"), blank=True, default="")
    reply_audio = models.FileField(verbose_name=_("reply audio"), max_length=500, blank=True)
    reply_video = models.FileField(verbose_name=_("reply video"), max_length=500, blank=True)
    duration = models.FloatField(verbose_name=_("duration"), null=True, blank=True, help_text=_("seconds of answer video"))
    segments = models.JSONField(verbose_name=_("segments"), default=list, blank=True, help_text=_("sentence videos ready so far, in order"))
    provider = models.CharField(verbose_name=_("provider"), max_length=64, blank=True, default="",
                                help_text=_("who answered: an LLM provider or the knowledge base"))
    knowledge = models.ForeignKey(KnowledgeEntry, verbose_name=_("knowledge entry"),
                                  null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    timings = models.JSONField(verbose_name=_("timings"), default=dict, blank=True, help_text=_("seconds per stage"))
    error_stage = models.CharField(verbose_name=_("error stage"), max_length=16, choices=Stage.choices, blank=True, default="")
    error = models.TextField(verbose_name=_("error"), blank=True, default="", help_text=_("in Chinese, as /chat_system's message gives it"))
    error_message = models.JSONField(verbose_name=_("error (template)"), null=True, blank=True,
                                     help_text=_("the error as its template and values, shown translated (echofu.messages)"))
    job = models.ForeignKey("monitoring.Job", verbose_name=_("job"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(verbose_name=_("finished at"), null=True, blank=True)

    file_lookups = ("user_audio", "reply_audio", "reply_video")  # owned: removed with the row (echofu.stored_files)

    class Meta:
        verbose_name = _("turn")
        verbose_name_plural = _("turns")
        ordering = OLDEST_FIRST

    def __str__(self) -> str:
        return gettext("turn {pk} ({status})").format(pk=self.pk, status=self.get_status_display())

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
