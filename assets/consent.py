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

from assets.models import ConsentedMediaFile, ReferenceAudio, SpeakerProfile, TrainingVideo
from echofu import ownership

YES = ("1", "true", "yes", "on", "agree", "同意", "是")
MAX_NAME = 200
CONTROL = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


class ConsentMissing(ValueError):
    """No valid statement, or the asset's consent was revoked; the message is shown to the user."""


def statement_from(request) -> dict:
    """Row fields for the statement in this upload request, or ConsentMissing."""
    user = ownership.acting_user(request)
    now = timezone.now()
    stated = str(request.POST.get("consent", "")).strip().lower()
    if stated:
        if stated not in YES:
            raise ConsentMissing("consent 必须为 true: 上传者需声明本人就是文件中的人/声音, 或已获其本人同意")
        name = str(request.POST.get("consent_name", "")).strip()
        if not name or len(name) > MAX_NAME or CONTROL.search(name):
            raise ConsentMissing(f"consent_name: 请填写文件中出现的人的姓名 (1-{MAX_NAME} 个字符, 不含控制字符)")
        return {"consent_name": name, "consent_wording": settings.ECHOFU["CONSENT_WORDING"],
                "consent_method": ConsentedMediaFile.ConsentMethod.FORM, "consent_by": user, "consent_at": now}
    configured = settings.ECHOFU["SINGLE_USER_CONSENT"].strip()
    if ownership.single_user_mode() and ownership.is_local_user(user) and configured:
        return {"consent_name": configured[:MAX_NAME], "consent_wording": settings.ECHOFU["SINGLE_USER_CONSENT_WORDING"],
                "consent_method": ConsentedMediaFile.ConsentMethod.SETTING, "consent_by": user, "consent_at": now}
    hint = " (单用户模式可设置 ECHOFU_SINGLE_USER_CONSENT)" if ownership.single_user_mode() else ""
    raise ConsentMissing("需要同意声明: 请提交 consent=true 和 consent_name=<文件中出现的人>, 声明您就是此人或已获其同意" + hint)


def operator_statement() -> dict:
    """The statement for files an operator imports with a management command (train, batch_train):
    the single-user setting, which the operator sets explicitly."""
    configured = settings.ECHOFU["SINGLE_USER_CONSENT"].strip()
    if not configured:
        raise ConsentMissing("导入的视频/音频需要同意声明: 请设置 ECHOFU_SINGLE_USER_CONSENT=<文件中出现的人>")
    return {"consent_name": configured[:MAX_NAME], "consent_wording": settings.ECHOFU["SINGLE_USER_CONSENT_WORDING"],
            "consent_method": ConsentedMediaFile.ConsentMethod.SETTING, "consent_at": timezone.now()}


def require_usable(asset: ConsentedMediaFile | None, what: str) -> None:
    if asset is None:
        raise ConsentMissing(f"{what}不在素材库中, 没有同意声明")
    if asset.revoked:
        raise ConsentMissing(f"{what}的授权已被撤销, 不能再使用")
    if not asset.has_consent:
        raise ConsentMissing(f"{what}没有同意声明, 不能用于训练或提取声音")


def model_disabled(model) -> bool:
    """A model trained from a video whose consent was revoked."""
    return model.source_video_id is not None and TrainingVideo.objects.filter(pk=model.source_video_id, revoked_at__isnull=False).exists()


def profile_disabled(profile: SpeakerProfile) -> bool:
    return profile.reference_id is not None and ReferenceAudio.objects.filter(pk=profile.reference_id, revoked_at__isnull=False).exists()


def usable_models(queryset):
    return queryset.exclude(source_video__revoked_at__isnull=False)


def usable_profiles(queryset):
    return queryset.exclude(reference__revoked_at__isnull=False)


def revoke(queryset, by=None, reason: str = "") -> int:
    """Revoke the consent of these assets (staff): their models, profiles and future renders stop."""
    return queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now(), revoked_by=by, revoked_reason=reason)
