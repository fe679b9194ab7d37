from django.conf import settings
from django.contrib.auth.views import PasswordResetView
from django.shortcuts import render
from django.utils.translation import gettext as _


def password_reset(request):
    """Django's reset link by email where the studio can send mail (ECHOFU_EMAIL_HOST). Without it,
    Django's page would still say the email was sent: this one says that none is sent and how an
    administrator sets a new password, the same page whatever was asked, so it names no account."""
    if settings.EMAIL_HOST:
        return PasswordResetView.as_view()(request)
    return render(request, "registration/password_reset_without_mail.html", {"title": _("Password reset")})
