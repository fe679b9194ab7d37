"""Whose rows a request may list and use.

Every catalog row has a nullable `owner`. A signed-in user lists and uses only their own rows
and gets 404 for anyone else's; staff may also read (open, stream, follow) any row. In
single-user mode the one local user also owns the rows nobody owns (files found by scan_media,
rows from before accounts). Background jobs and management commands scope by the job's owner;
a job without an owner (an operator's command) is not restricted.
"""
from __future__ import annotations

import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from echofu import paths


def owner_field() -> models.ForeignKey:
    """A catalog row's owner. Deleting the account deletes the row, and with it the files the row
    owns (echofu.stored_files): left ownerless, it would show to nobody, or in single-user mode to
    the local account. Null: rows nobody owns (scan_media, operator commands)."""
    return models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+")


def single_user_mode() -> bool:
    return bool(settings.ECHOFU["SINGLE_USER"])


# Every single-user request acts as this account: looking it up was a fifth of a status poll's
# time. Each process keeps it for a few seconds; saving or deleting a user forgets it at once in
# this process (accounts/apps.py), and the others see the change when their copy expires.
LOCAL_USER_SECONDS = 10.0
_local_user_lock = threading.Lock()
_local_user: dict = {}


def local_user():
    """The account single-user mode acts as (created on first use, no usable password)."""
    name = settings.ECHOFU["SINGLE_USER_NAME"]
    with _local_user_lock:
        cached = _local_user.get(name)
        if cached and cached[1] > time.monotonic():
            return cached[0]
    user, created = get_user_model().objects.get_or_create(username=name)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    with _local_user_lock:
        _local_user[name] = (user, time.monotonic() + LOCAL_USER_SECONDS)
    return user


def forget_local_user(**_signal) -> None:
    with _local_user_lock:
        _local_user.clear()


def acting_user(request_or_user):
    """The signed-in (or single-user mode's) user, or None."""
    user = getattr(request_or_user, "user", request_or_user)
    return user if getattr(user, "is_authenticated", False) else None


def is_local_user(user) -> bool:
    return single_user_mode() and user is not None and user.username == settings.ECHOFU["SINGLE_USER_NAME"]


def is_staff(request_or_user) -> bool:
    user = acting_user(request_or_user)
    return bool(user and user.is_staff)


def is_operator(request_or_user) -> bool:
    """Whether this user runs the server (staff, single-user mode's local account, or no user at all: a
    management command): only they may read where it keeps its files and checkouts, or list every user's files."""
    if request_or_user is None:
        return True
    return is_staff(request_or_user) or is_local_user(acting_user(request_or_user))


def owner_q(request_or_user, field: str = "owner") -> Q:
    """The filter for rows this user owns; no restriction for an operator (no user)."""
    user = acting_user(request_or_user)
    if user is None:
        return Q()
    mine = Q(**{field: user})
    if is_local_user(user):
        mine |= Q(**{f"{field}__isnull": True})
    return mine


def owner_q_for_id(owner_id: int | None, field: str = "owner") -> Q:
    """owner_q for background work, which knows only the job's owner id."""
    if owner_id is None:
        return Q()
    return owner_q(get_user_model().objects.filter(pk=owner_id).first(), field)


def numbered_with(owner_id: int | None) -> Q:
    """The rows a new row of this owner takes the next version number among (one voice's profiles,
    one person's models), or a name no other of them has (echofu.versioning): the owner's own.
    Single-user mode's account lists the rows nobody owns as its own, so there the two are numbered
    and named together, or it would list two "anna v1"."""
    if single_user_mode():
        local = local_user()
        if owner_id in (None, local.pk):
            return owner_q(local)
    return Q(owner_id=owner_id)


def owned(queryset: QuerySet, request_or_user, field: str = "owner") -> QuerySet:
    """The rows of `queryset` this user may list and use."""
    return queryset.filter(owner_q(request_or_user, field))


def readable(queryset: QuerySet, request_or_user, field: str = "owner") -> QuerySet:
    """The rows this user may read: their own, or all of them for staff."""
    return queryset if is_staff(request_or_user) else owned(queryset, request_or_user, field)


def recordings_folder(request_or_user) -> str:
    """Where a user's browser recording goes: one folder per account, the legacy folder in single-user mode."""
    user = acting_user(request_or_user)
    if user is None or is_local_user(user):
        return paths.RECORDINGS
    return account_recordings_folder(user.pk)


def account_recordings_folder(user_id: int) -> str:
    return f"{paths.RECORDINGS}/u{user_id}"


def may_use_recording(relative: str, request_or_user) -> bool:
    """Recordings (media/audios/...) belong to whoever's folder they are in."""
    folder = recordings_folder(request_or_user)
    if acting_user(request_or_user) is None:
        return paths.is_recording(relative)
    return relative.rsplit("/", 1)[0] == folder


def may_read_file(relative: str, request_or_user) -> bool:
    """Whether this user may download a stored file: its row's owner or staff; files no row
    describes only staff and the single-user mode's local user."""
    from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
    from chat.models import CHAT_FOLDER, Conversation, Turn
    from generation.models import GeneratedVideo
    from training.models import TalkingHeadModel

    if is_staff(request_or_user):
        return True
    user = acting_user(request_or_user)
    catalogued = [(model.objects.filter(file=relative), "owner") for model in (ReferenceAudio, TrainingVideo, GeneratedAudio, GeneratedVideo)]
    catalogued.append((SpeakerProfile.objects.filter(clean_clip=relative), "owner"))
    catalogued.append((Turn.objects.filter(Q(user_audio=relative) | Q(reply_audio=relative) | Q(reply_video=relative)),
                       "conversation__owner"))
    parts = relative.split("/")
    if len(parts) >= 3 and parts[0] == paths.MODELS:
        catalogued.append((TalkingHeadModel.objects.filter(model_type=parts[1], name=parts[2]), "owner"))
    if len(parts) >= 3 and parts[0] == CHAT_FOLDER and parts[1].isdigit():  # a turn's sentence videos and recording
        catalogued.append((Conversation.objects.filter(pk=int(parts[1])), "owner"))
    for rows, field in catalogued:
        if rows.exists():
            return owned(rows, request_or_user, field).exists()
    if paths.is_recording(relative):
        return may_use_recording(relative, request_or_user)
    return is_local_user(user)
