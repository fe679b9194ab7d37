"""`manage.py qcluster`: django-q2's command, whose workers also learn that their cluster was told to
stop (monitoring.shutdown). It replaces django-q2's own, which is why monitoring comes before django_q
in INSTALLED_APPS."""
import os

from django.conf import settings
from django_q.cluster import Cluster
from django_q.management.commands import qcluster

from monitoring import shutdown


class StopAnnouncingCluster(Cluster):
    def sig_handler(self, signum, frame):
        shutdown.request_stop()
        super().sig_handler(signum, frame)


class Command(qcluster.Command):
    def handle(self, *args, **options):
        # As django-q2's handle, with the cluster above.
        settings.SECRET_KEY  # signing needs it: refuse to start without one
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        shutdown.share_with_workers()
        cluster = StopAnnouncingCluster()
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
