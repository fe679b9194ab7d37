"""`manage.py qcluster`: django-q2's command, whose workers also learn that their cluster was told to
stop (monitoring.shutdown). It replaces django-q2's own, which is why monitoring comes before django_q
in INSTALLED_APPS."""
import os

from django.conf import settings
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.management.commands import qcluster

from monitoring import runner, shutdown


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
        if Conf.CLUSTER_NAME in settings.JOB_QUEUES:
            # The tasks on the broker were signed when their jobs were queued: under an earlier
            # ECHOFU_SECRET_KEY or ECHOFU_Q_NAME (an upgrade that had to set its own key) a cluster drops
            # them as bad signatures and their jobs would wait forever. Sent again, in order, they are
            # signed as this cluster reads them.
            runner.restore_queue(Conf.CLUSTER_NAME)
        shutdown.share_with_workers()
        cluster = StopAnnouncingCluster()
        cluster.start()
        if options.get("run_once", False):
            cluster.stop()
