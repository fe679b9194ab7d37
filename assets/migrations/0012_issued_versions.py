# Numbers given out before this migration are seeded from what still names them: the rows themselves,
# the results of the trainings and voice extractions that made them (jobs outlive the rows they made)
# and the voices named in provenance records (which outlive deletions too). A number read from a
# record whose owner is gone counts for the ownerless rows: a number skipped is harmless, one given
# out twice is what this prevents.
import json
import re

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODEL_LABEL = re.compile(r"^(?P<person>.*) v(?P<version>\d+) \((?P<model_type>[\w-]+)\)$")  # TalkingHeadModel.display_label
VOICE_LABEL = re.compile(r"^(?P<speaker_id>.*) v(?P<version>\d+)$")  # str(SpeakerProfile)


def seed_issued_versions(apps, schema_editor):
    highest: dict[tuple, int] = {}

    def issued(owner_id, numbered, scope, version):
        key = (owner_id, numbered, json.dumps(scope, sort_keys=True, ensure_ascii=False))  # echofu.versioning.scope_key
        highest[key] = max(highest.get(key, 0), int(version))

    speaker_profile, talking_head_model = apps.get_model("assets", "SpeakerProfile"), apps.get_model("training", "TalkingHeadModel")
    for row in speaker_profile.objects.values("owner_id", "speaker_id").annotate(highest=models.Max("version")):
        issued(row["owner_id"], "assets.SpeakerProfile", {"speaker_id": row["speaker_id"]}, row["highest"])
    for row in talking_head_model.objects.values("owner_id", "model_type", "person").annotate(highest=models.Max("version")):
        issued(row["owner_id"], "training.TalkingHeadModel", {"model_type": row["model_type"], "person": row["person"]}, row["highest"])

    jobs = apps.get_model("monitoring", "Job").objects.filter(status="succeeded")
    for owner_id, result in jobs.filter(kind="clone").values_list("owner_id", "result").iterator():
        if isinstance(result, dict) and result.get("speaker_id") and str(result.get("version", "")).isdigit():
            issued(owner_id, "assets.SpeakerProfile", {"speaker_id": result["speaker_id"]}, result["version"])
    for owner_id, result in jobs.filter(kind="train").values_list("owner_id", "result").iterator():
        found = MODEL_LABEL.match(str(result.get("model_label") or "")) if isinstance(result, dict) else None
        if found:
            issued(owner_id, "training.TalkingHeadModel", {"model_type": found["model_type"], "person": found["person"]}, found["version"])

    records = apps.get_model("provenance", "ProvenanceRecord").objects.filter(speaker__isnull=True)
    for owner_id, record in records.values_list("owner_id", "record").iterator():
        found = VOICE_LABEL.match(str(record.get("voice_id") or "")) if isinstance(record, dict) else None
        if found:
            issued(owner_id, "assets.SpeakerProfile", {"speaker_id": found["speaker_id"]}, found["version"])

    apps.get_model("assets", "IssuedVersion").objects.bulk_create(
        apps.get_model("assets", "IssuedVersion")(owner_id=owner_id, numbered=numbered, scope=scope, highest=version)
        for (owner_id, numbered, scope), version in highest.items())


class Migration(migrations.Migration):

    dependencies = [
        ('assets', '0011_ties_broken_by_pk'),
        ('monitoring', '0011_ties_broken_by_pk'),
        ('provenance', '0003_ties_broken_by_pk'),
        ('training', '0008_ties_broken_by_pk'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='IssuedVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('numbered', models.CharField(help_text='the model whose rows are numbered', max_length=64, verbose_name='numbered rows')),
                ('scope', models.CharField(help_text='the fields the rows are numbered within, as JSON', max_length=400, verbose_name='scope')),
                ('highest', models.PositiveIntegerField(verbose_name='highest version')),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='owner')),
            ],
            options={
                'verbose_name': 'issued version',
                'verbose_name_plural': 'issued versions',
                'constraints': [models.UniqueConstraint(fields=('owner', 'numbered', 'scope'), name='unique_issued_version_per_owner'), models.UniqueConstraint(condition=models.Q(('owner__isnull', True)), fields=('numbered', 'scope'), name='unique_ownerless_issued_version')],
            },
        ),
        migrations.RunPython(seed_issued_versions, migrations.RunPython.noop),
    ]
