# Jobs that failed before 0004 kept only their English text, which the pages showed untranslated. A
# text that is one of the catalog's reasons without values (a worker lost under an earlier release) is
# that reason's template: kept as one, it reads in the reader's language like a newer row's. Any other
# text (an engine's own words, a reason with values filled in) cannot be told apart and stays as it was.
from django.db import migrations
from django.utils import translation

from echofu.messages import CONTRACT_LANGUAGE


def keep_known_reasons_as_templates(apps, schema_editor):
    Job = apps.get_model("monitoring", "Job")
    with translation.override(CONTRACT_LANGUAGE):
        for job in Job.objects.filter(error_message__isnull=True).exclude(error="").only("error"):
            if "{" not in job.error and translation.gettext(job.error) != job.error:
                Job.objects.filter(pk=job.pk).update(error_message={"template": job.error, "params": {}})


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0008_request_gate'),
    ]

    operations = [
        migrations.RunPython(keep_known_reasons_as_templates, migrations.RunPython.noop),
    ]
