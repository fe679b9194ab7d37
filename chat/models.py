from django.conf import settings
from django.db import models
from django.utils import timezone


class Conversation(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title or f"conversation {self.pk}"


class Turn(models.Model):
    """One exchange: what the user said, what the assistant answered, and the rendered answer."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    user_audio = models.FileField(max_length=500, blank=True)
    transcript = models.TextField(blank=True, default="")
    reply_text = models.TextField(blank=True, default="")
    reply_audio = models.FileField(max_length=500, blank=True)
    reply_video = models.FileField(max_length=500, blank=True)
    llm = models.CharField(max_length=64, blank=True, default="")
    job = models.ForeignKey("monitoring.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at"]
