"""Signing in with a password, with password guessing slowed down (limits/sign_ins.py): the login page and
the admin's refuse an address that guessed wrong too often with 429, Retry-After and a form error saying
how long to wait, and so does any other password check Django makes."""
from __future__ import annotations

from functools import wraps

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import ngettext

from limits import sign_ins

WAIT_ATTRIBUTE = "echofu_sign_in_wait"  # set on the request by the backend, read by the form and the view


class SignInLimitedBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None:
            account = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
            wait, attempt = sign_ins.claim_attempt(request, account)
            if wait is not None:
                setattr(request, WAIT_ATTRIBUTE, wait)
                raise PermissionDenied  # Django stops trying backends: the right password is not checked either
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if request is not None and user is not None:
            sign_ins.take_back(attempt)
        return user


class WaitSaidForm:
    """An AuthenticationForm whose refusal says how long to wait when the password was not even checked."""

    def get_invalid_login_error(self):
        wait = getattr(self.request, WAIT_ATTRIBUTE, None)
        if wait is None:
            return super().get_invalid_login_error()
        minutes = max(1, -(-wait // 60))
        return ValidationError(
            ngettext("Too many wrong passwords from this address: try again in %(minutes)d minute.",
                     "Too many wrong passwords from this address: try again in %(minutes)d minutes.", minutes),
            code="too_many_failures", params={"minutes": minutes})


class SignInForm(WaitSaidForm, AuthenticationForm):
    pass


class AdminSignInForm(WaitSaidForm, AdminAuthenticationForm):
    pass


def answers_wait_with_429(view):
    @wraps(view)
    def answered(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        wait = getattr(request, WAIT_ATTRIBUTE, None)
        if wait is not None:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response

    return answered


login = answers_wait_with_429(LoginView.as_view(authentication_form=SignInForm))


def forget_failures(sender, request, user, **_signal):
    if request is not None:
        sign_ins.forget_failures(request, user.get_username())
