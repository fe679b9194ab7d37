"""Consent before a face or voice is used: the statement stored with the upload, checks, revocation.

An upload of a training video or a voice reference carries `consent=true` and `consent_name`
(the person shown or heard); the server stores who stated it, when, and the wording in force.
In single-user mode the operator states it once by setting ECHOFU_SINGLE_USER_CONSENT, with
its own wording. Models and speaker profiles are made only from assets with a statement, a
revoked asset disables everything made from it, and a deleted one takes it along (on_delete
CASCADE, files included).
"""
from __future__ import annotations

import re

from django.conf import settings
from django.utils import timezone

from assets.models import ConsentedMediaFile, TrainingVideo
from echofu import ownership
from echofu.messages import template_of
from engines.messages import Message, gettext_noop

YES = ("1", "true", "yes", "on", "agree", "同意", "是")
MAX_NAME = 200
CONTROL = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


class ConsentMissing(ValueError):
    """No valid statement, or the asset's consent was revoked; the message is shown to the user.
    `missing`: for an upload without a usable statement, what it lacks (STATEMENT, NAME,
    STATEMENT_OR_SETTING): the message is worded for API clients, the pages ask in their own words."""

    def __init__(self, message, missing: str = ""):
        super().__init__(message)
        self.missing = missing


STATEMENT, NAME, STATEMENT_OR_SETTING = "statement", "name", "statement_or_setting"


def statement_from(request) -> dict:
    """Row fields for the statement in this upload request, or ConsentMissing."""
    user = ownership.acting_user(request)
    now = timezone.now()
    stated = str(request.POST.get("consent", "")).strip().lower()
    if stated:
        if stated not in YES:
            raise ConsentMissing(gettext_noop("consent must be true: the uploader states being the person or voice in the file, "
                                              "or having that person's consent"), missing=STATEMENT)
        name = str(request.POST.get("consent_name", "")).strip()
        if not name or len(name) > MAX_NAME or CONTROL.search(name):
            raise ConsentMissing(gettext_noop("consent_name: enter the name of the person in the file (1-{most} characters, "
                                              "no control characters)", most=MAX_NAME), missing=NAME)
        return {"consent_name": name, "consent_wording": settings.ECHOFU["CONSENT_WORDING"],
                "consent_method": ConsentedMediaFile.ConsentMethod.FORM, "consent_by": user, "consent_at": now}
    configured = operator_consent_name(user)
    if configured:
        return {"consent_name": configured, "consent_wording": settings.ECHOFU["SINGLE_USER_CONSENT_WORDING"],
                "consent_method": ConsentedMediaFile.ConsentMethod.SETTING, "consent_by": user, "consent_at": now}
    if ownership.single_user_mode():
        raise ConsentMissing(gettext_noop("a consent statement is needed: send consent=true and consent_name=<the person in the file>, "
                                          "stating that you are that person or have their consent "
                                          "(single-user mode can set ECHOFU_SINGLE_USER_CONSENT)"), missing=STATEMENT_OR_SETTING)
    raise ConsentMissing(gettext_noop("a consent statement is needed: send consent=true and consent_name=<the person in the file>, "
                                      "stating that you are that person or have their consent"), missing=STATEMENT)


def operator_consent_name(user) -> str:
    """The person ECHOFU_SINGLE_USER_CONSENT states consent for, where it covers this user's
    uploads sent without a statement of their own (single-user mode's local account); else ""."""
    configured = settings.ECHOFU["SINGLE_USER_CONSENT"].strip()
    return configured[:MAX_NAME] if ownership.is_local_user(user) else ""


def operator_statement() -> dict:
    """The statement for files an operator imports with a management command (train, batch_train):
    the single-user setting, which the operator sets explicitly."""
    configured = settings.ECHOFU["SINGLE_USER_CONSENT"].strip()
    if not configured:
        raise ConsentMissing("导入的视频/音频需要同意声明: 请设置 ECHOFU_SINGLE_USER_CONSENT=<文件中出现的人>")
    return {"consent_name": configured[:MAX_NAME], "consent_wording": settings.ECHOFU["SINGLE_USER_CONSENT_WORDING"],
            "consent_method": ConsentedMediaFile.ConsentMethod.SETTING, "consent_at": timezone.now()}


REFERENCE_AUDIO = gettext_noop("reference audio")
TRAINING_VIDEO = gettext_noop("training video")


REVOKED_FILE_SENT_AGAIN = gettext_noop("the consent for this file was revoked by the studio's operator: it cannot be uploaded again")


def require_usable(asset: ConsentedMediaFile | None, what: Message) -> None:
    """`what`: REFERENCE_AUDIO or TRAINING_VIDEO, named in the refusal."""
    if asset is None:
        raise ConsentMissing(gettext_noop("the {what} is not in the library: it has no consent statement", what=what))
    if asset.revoked:
        raise ConsentMissing(gettext_noop("the {what}'s consent was revoked: it can no longer be used", what=what))
    if not asset.has_consent:
        raise ConsentMissing(gettext_noop("the {what} has no consent statement: it cannot be used for training or voice extraction", what=what))


def model_disabled(model) -> bool:
    """A model trained from a video whose consent was revoked."""
    return model.source_video_id is not None and TrainingVideo.objects.filter(pk=model.source_video_id, revoked_at__isnull=False).exists()


def usable_models(queryset):
    return queryset.exclude(source_video__revoked_at__isnull=False)


def usable_profiles(queryset):
    return queryset.exclude(reference__revoked_at__isnull=False)


def revoke(queryset, by=None, reason: str = "") -> int:
    """Revoke the consent of these assets (staff): their models, profiles and future renders stop. A
    Message reason keeps its template too, so that each curator reads it in their own language."""
    return queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_by=by, revoked_reason=str(reason),
                                                            revoked_reason_message=template_of(reason))
