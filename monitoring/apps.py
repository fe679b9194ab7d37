from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Jobs and system status")

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from echofu import paths
        from echofu.stored_files import remove_files_with
        from monitoring import runner
        from monitoring.models import Job

        paths.ensure_media_tree()
        remove_files_with(Job)

        post_spawn.connect(runner.on_worker_spawn, dispatch_uid="echofu-recover-stale-jobs")
