"""Rows numbered 1, 2, 3... within a scope (one person's models, one speaker's profiles)."""
from django.db import IntegrityError, models, transaction

ATTEMPTS = 5


def create_next_version(model: type[models.Model], scope: dict, **fields) -> models.Model:
    """Create the row as the next version in `scope`. A unique constraint on the scope and
    version settles races between workers: the loser takes the following number."""
    for attempt in range(ATTEMPTS):
        latest = model.objects.filter(**scope).aggregate(models.Max("version"))["version__max"] or 0
        try:
            with transaction.atomic():
                return model.objects.create(**scope, version=latest + 1, **fields)
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
