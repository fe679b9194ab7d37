from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Hit(models.Model):
    """One accepted request to a heavy endpoint, counted for the per-user rate limit."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(verbose_name=_("scope"), max_length=32)
    at = models.DateTimeField(verbose_name=_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("rate-limited request")
        verbose_name_plural = _("rate-limited requests")
        indexes = [models.Index(fields=["user", "scope", "at"])]

    def __str__(self) -> str:
        # As the admin shows every other time and name: the scope in the admin's language, the time in the studio's zone.
        return f"{self.user} {self.scope_shown} {timezone.localtime(self.at):%Y-%m-%d %H:%M:%S}"

    @property
    def scope_shown(self) -> str:
        from echofu.messages import localized
        from limits.checks import SCOPES

        return localized(SCOPES[self.scope]) if self.scope in SCOPES else self.scope


class FailedSignIn(models.Model):
    """A wrong password for one account from one client address, counted to slow down password guessing."""

    username = models.CharField(verbose_name=_("username"), max_length=150)
    address = models.CharField(verbose_name=_("address"), max_length=64)
    at = models.DateTimeField(verbose_name=_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins")
        indexes = [models.Index(fields=["username", "address", "at"])]

    def __str__(self) -> str:
        return f"{self.username} from {self.address} {self.at:%Y-%m-%d %H:%M:%S}"
