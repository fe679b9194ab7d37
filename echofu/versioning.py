"""Rows numbered 1, 2, 3... within a scope of one account (its models of one person, its profiles of
one speaker), and rows named within one account (the person a video shows, the speaker a recording holds)."""
from typing import Callable

from django.db import IntegrityError, models, transaction

from echofu.ownership import numbered_with

ATTEMPTS = 5


def create_next_version(model: type[models.Model], scope: dict, owner_id: int | None = None, **fields) -> models.Model:
    """Create the row as `owner_id`'s next version in `scope`: another account's rows take none of
    its numbers. The highest number is read inside the transaction that saves the next: on SQLite
    (IMMEDIATE transactions) that holds the write lock, so workers saving at once queue rather than
    collide. Where they can still collide (PostgreSQL), a unique constraint on the owner, scope and
    version settles it: the loser takes the following number."""
    def create() -> models.Model:
        latest = model.objects.filter(numbered_with(owner_id), **scope).aggregate(models.Max("version"))["version__max"] or 0
        return model.objects.create(**scope, owner_id=owner_id, version=latest + 1, **fields)

    return _settling_races(create)


def create_with_own_name(model: type[models.Model], stem: str, owner_id: int | None = None, **fields) -> models.Model:
    """Create the row named `stem`, else `stem_2`, `stem_3`... (the numbering of stored file names), the
    first name none of `owner_id`'s rows of `model` has (a row from before names goes by its file's
    name: `display_name`). Another account's names take none of its own, so the name, unlike the file's,
    which is unique across the studio, says nothing of other accounts' files."""
    def create() -> models.Model:
        taken = {row.display_name for row in model.objects.filter(numbered_with(owner_id)).only("name", "file")}
        name = next(candidate for candidate in numbered_names(stem) if candidate not in taken)
        return model.objects.create(name=name, owner_id=owner_id, **fields)

    return _settling_races(create)


def numbered_names(stem: str):
    yield stem
    number = 2
    while True:
        yield f"{stem}_{number}"
        number += 1


def _settling_races(create: Callable[[], models.Model]) -> models.Model:
    """`create()`, tried again when a unique constraint refused it: another worker took the number or
    name meanwhile, and the next try counts that row in."""
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                return create()
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
