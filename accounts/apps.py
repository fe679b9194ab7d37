from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and access")

    def ready(self):
        from django.contrib import admin
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.core import checks
        from django.db.models.signals import post_delete, post_save

        from accounts.bind import secret_key_check
        from accounts.deletion import remove_recordings
        from accounts.sign_in import AdminSignInForm, forget_failures
        from echofu.ownership import forget_local_user

        post_save.connect(forget_local_user, sender=get_user_model(), dispatch_uid="forget_local_user_on_save")
        post_delete.connect(forget_local_user, sender=get_user_model(), dispatch_uid="forget_local_user_on_delete")
        post_delete.connect(remove_recordings, sender=get_user_model(), dispatch_uid="remove_recordings_of_deleted_user")
        user_logged_in.connect(forget_failures, dispatch_uid="forget_failed_sign_ins")
        admin.site.login_form = AdminSignInForm
        checks.register(secret_key_check, checks.Tags.security, deploy=True)
