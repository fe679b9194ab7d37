from django.db import migrations, models


def queue_from_slot(apps, schema_editor):
    """Trainings queued before the move keep their device; everything else is interactive."""
    Job = apps.get_model("monitoring", "Job")
    for job in Job.objects.filter(kind="train"):
        job.queue = f"gpu{job.device.partition(':')[2]}" if job.device.startswith("cuda") else "cpu"
        job.save(update_fields=["queue"])


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]

    operations = [
        migrations.RemoveIndex(model_name="job", name="monitoring__slot_1a0f21_idx"),
        migrations.RemoveField(model_name="job", name="slot"),
        migrations.AddField(
            model_name="job",
            name="queue",
            field=models.CharField(db_index=True, default="interactive", max_length=32,
                                   help_text="the django-q2 cluster that runs it: interactive, cpu or gpuN"),
        ),
        migrations.RunPython(queue_from_slot, migrations.RunPython.noop),
        migrations.AddIndex(model_name="job", index=models.Index(fields=["queue", "status", "created_at"], name="monitoring__queue_7e6198_idx")),
    ]
