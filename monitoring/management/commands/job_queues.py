from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print the job queues this installation serves, one per line: start `Q_CLUSTER_NAME=<queue> manage.py qcluster` for each."

    def handle(self, *args, **options):
        for queue in settings.JOB_QUEUES:
            self.stdout.write(queue)
