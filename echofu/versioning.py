"""Rows numbered 1, 2, 3... within a scope of one account (its models of one person, its profiles of one speaker)."""
from django.db import IntegrityError, models, transaction

from echofu.ownership import numbered_with

ATTEMPTS = 5


def create_next_version(model: type[models.Model], scope: dict, owner_id: int | None = None, **fields) -> models.Model:
    """Create the row as `owner_id`'s next version in `scope`: another account's rows take none of
    its numbers. A unique constraint on the owner, scope and version settles races between workers:
    the loser takes the following number."""
    for attempt in range(ATTEMPTS):
        latest = model.objects.filter(numbered_with(owner_id), **scope).aggregate(models.Max("version"))["version__max"] or 0
        try:
            with transaction.atomic():
                return model.objects.create(**scope, owner_id=owner_id, version=latest + 1, **fields)
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
