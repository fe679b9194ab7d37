"""A django-q2 schedule that looks for dead workers every minute on the interactive queue.

Workers also look when they start and before each job; the schedule covers the case where a
cluster dies while nothing else runs, so its running jobs end failed and its waiting jobs go
back in line within about a minute."""
from django.db import migrations

NAME = "echofu: recover jobs of dead workers"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "monitoring.runner.recover_stale_jobs", "schedule_type": "I", "minutes": 1,
                  "repeats": -1, "cluster": "interactive"},
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0002_job_queue"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]

    operations = [migrations.RunPython(create, remove)]
