"""Rows numbered 1, 2, 3... within a scope of one account (its models of one person, its profiles of
one speaker), and rows named within one account (the person a video shows, the speaker a recording holds)."""
import json
from typing import Callable

from django.db import IntegrityError, models, transaction

from assets.models import IssuedVersion
from echofu.ownership import numbered_with

ATTEMPTS = 5


def create_next_version(model: type[models.Model], scope: dict, owner_id: int | None = None, **fields) -> models.Model:
    """Create the row as `owner_id`'s next version in `scope`: another account's rows take none of
    its numbers, and no number is given out twice, even once its row is deleted (IssuedVersion). The
    highest number is read inside the transaction that saves the next: on SQLite (IMMEDIATE
    transactions) that holds the write lock, so workers saving at once queue rather than collide.
    Where they can still collide (PostgreSQL), the unique constraints on the owner, scope and version
    settle it: the loser takes the following number."""
    def create() -> models.Model:
        version = highest_issued(model, scope, owner_id) + 1
        row = model.objects.create(**scope, owner_id=owner_id, version=version, **fields)
        record_issued(model, scope, owner_id, version)
        return row

    return settling_races(create)


def highest_issued(model: type[models.Model], scope: dict, owner_id: int | None) -> int:
    """The highest version `owner_id` has had in `scope`: its rows' or, where the newest were deleted, theirs.
    Rows saved without a number given here (fixtures, the shell) count too."""
    among = numbered_with(owner_id)
    existing = model.objects.filter(among, **scope).aggregate(highest=models.Max("version"))["highest"] or 0
    issued = IssuedVersion.objects.filter(among, numbered=model._meta.label, scope=scope_key(scope)).aggregate(
        highest=models.Max("highest"))["highest"] or 0
    return max(existing, issued)


def record_issued(model: type[models.Model], scope: dict, owner_id: int | None, version: int) -> None:
    """Remember that `owner_id` has given out `version` in `scope`: no later row there is numbered at or below it."""
    mark, created = IssuedVersion.objects.get_or_create(owner_id=owner_id, numbered=model._meta.label, scope=scope_key(scope),
                                                        defaults={"highest": version})
    if not created:
        IssuedVersion.objects.filter(pk=mark.pk, highest__lt=version).update(highest=version)


def version_scope(model: type[models.Model]) -> list[str] | None:
    """The fields a numbered model's version counts within (its per-account unique constraint with
    `version`, less the owner): ["model_type", "person"] for a model, ["speaker_id"] for a voice."""
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and {"owner", "version"} <= set(constraint.fields):
            return [name for name in constraint.fields if name not in ("owner", "version")]
    return None


def record_row_issued(row: models.Model) -> None:
    """Remember `row`'s version as given out in the scope it is in now: a row moved to another person,
    voice or account (the admin, assign_ownerless) keeps that scope's next version above its own."""
    scope = version_scope(type(row))
    if scope is not None:
        record_issued(type(row), {name: getattr(row, name) for name in scope}, row.owner_id, row.version)


def renumber_if_moved(row: models.Model) -> None:
    """A saved row moved to another person, voice or account (the admin) takes the next version there:
    its own number may be taken there, or have been given out to a row since deleted, whose downloaded
    copies and provenance records know it by that number."""
    scope = version_scope(type(row))
    if scope is None or row.pk is None:
        return
    now = {name: getattr(row, name) for name in scope}
    stored = type(row).objects.filter(pk=row.pk).values(*scope, "owner_id").first()
    if stored is not None and stored != {**now, "owner_id": row.owner_id}:
        row.version = highest_issued(type(row), now, row.owner_id) + 1


def scope_key(scope: dict) -> str:
    """IssuedVersion.scope: the same fields, whatever their order, give the same key."""
    return json.dumps(scope, sort_keys=True, ensure_ascii=False)


def create_with_own_name(model: type[models.Model], stem: str, owner_id: int | None = None, **fields) -> models.Model:
    """Create the row named `stem`, else `stem_2`, `stem_3`... (the numbering of stored file names), the
    first name none of `owner_id`'s rows of `model` has (a row from before names goes by its file's
    name: `display_name`). Another account's names take none of its own, so the name, unlike the file's,
    which is unique across the studio, says nothing of other accounts' files."""
    def create() -> models.Model:
        taken = {row.display_name for row in model.objects.filter(numbered_with(owner_id)).only("name", "file")}
        name = next(candidate for candidate in numbered_names(stem) if candidate not in taken)
        return model.objects.create(name=name, owner_id=owner_id, **fields)

    return settling_races(create)


def numbered_names(stem: str):
    yield stem
    number = 2
    while True:
        yield f"{stem}_{number}"
        number += 1


def settling_races(create: Callable[[], models.Model]) -> models.Model:
    """`create()` (or a save), each try in its own transaction, tried again when a unique constraint
    refused it: another worker took the number or name meanwhile, and the next try counts that row in."""
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic():
                return create()
        except IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
