from django.contrib import admin
from django.urls import include, path

from accounts import sign_in
from accounts import views as accounts_views
from assets import views as assets_views
from assets import voice_views
from chat import views as chat_views
from echofu import pages
from echofu import views as media_views
from generation import views as generation_views
from monitoring import views as monitoring_views
from provenance import views as provenance_views
from training import views as training_views

urlpatterns = [
    path("", pages.home, name="home"),
    path("voice/", pages.voice, name="voice"),
    path("training/", pages.training, name="training"),
    path("generate/", pages.generate, name="generate"),
    path("chat/", pages.chat, name="chat"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/login/", sign_in.answers_wait_with_429(admin.site.login)),  # before the admin's own
    path("admin/", admin.site.urls),
    path("accounts/login/", sign_in.login, name="login"),  # before Django's own, as the next
    path("accounts/password_reset/", accounts_views.password_reset, name="password_reset"),  # before Django's own
    path("accounts/", include("django.contrib.auth.urls")),
    # The legacy contract (shared/spec/legacy-api.zh.md), unchanged.
    path("api/upload-reference-audio", assets_views.upload_reference_audio),
    path("api/reference-audios", assets_views.reference_audios),
    path("api/upload-training-video", assets_views.upload_training_video),
    path("api/training-videos", assets_views.training_videos),
    path("api/available-models", training_views.available_models),
    path("api/model-details/<str:model_type>/<str:model_name>", training_views.model_details),
    path("api/cloned-audios", assets_views.cloned_audios),
    path("save_audio", chat_views.save_audio),
    path("video_generation", generation_views.video_generation),
    path("model_training", training_views.model_training),
    path("audio_clone", voice_views.audio_clone),
    path("chat_system", chat_views.chat_system),
    path("api/chat/turns/<int:turn_id>", chat_views.turn_detail),
    path("api/status", monitoring_views.status),
    path("api/history/<path:history_type>", monitoring_views.history_list),  # slashes reach the name check
    path("video/<path:filename>", media_views.video_file),
    # Additions.
    path("media/<path:path>", media_views.media_file),
    path("api/tasks", monitoring_views.task_list),
    path("api/engines", pages.engines),
    path("api/tasks/<str:task_id>", monitoring_views.task_detail),
    path("api/tasks/<str:task_id>/cancel", monitoring_views.task_cancel),
    path("api/train-status/<str:task_id>", monitoring_views.train_status),
    path("api/verify-media", provenance_views.verify_media),
    path("api/reference-audios/<int:audio_id>/delete", assets_views.delete_reference_audio),
    path("api/training-videos/<int:video_id>/delete", assets_views.delete_training_video),
    path("api/available-models/<int:model_id>/delete", training_views.delete_model),
    path("api/cloned-audios/<str:speaker_id>/delete", assets_views.delete_speaker),
    path("api/generated-audios/<int:audio_id>/delete", assets_views.delete_generated_audio),
    path("api/cloned-audios/<str:speaker_id>/versions/<int:version>/delete", assets_views.delete_speaker_version),
    path("api/generated-videos/<int:video_id>/delete", generation_views.delete_video),
    path("api/chat/turns/<int:turn_id>/delete", chat_views.delete_turn),
]

handler400 = media_views.bad_request
handler404 = media_views.not_found
handler500 = media_views.server_error
