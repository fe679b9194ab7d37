"""Files under MEDIA_ROOT go with the catalog row that owns them.

A model whose rows own files (uploads, generated media, a speaker's clip, a model's folder) has
`owned_files()`, the media-relative paths of those files and folders, and `file_lookups`, the
query lookups that find a row by one of those paths. `remove_files_with(Model)` connects a
post_delete handler, so every way a row is deleted removes its files: the admin's delete page
and bulk action, queryset deletes, cascades from a deleted source. Without it a deleted row's
file would still be served, escape the storage quota (which sums rows), and a model folder
left on disk would be registered again by the registry's discovery.

Files are removed once the deletion is committed (a rolled-back delete keeps them), only inside
the media root, and not while another row still names the same path.
"""
from __future__ import annotations

import logging
import shutil
from functools import reduce
from operator import or_

from django.db import models, transaction
from django.db.models.signals import post_delete

from echofu import paths

logger = logging.getLogger(__name__)

_file_owners: list[type[models.Model]] = []


def remove_files_with(*owners: type[models.Model]) -> None:
    for owner in owners:
        if owner not in _file_owners:
            _file_owners.append(owner)
        post_delete.connect(_row_deleted, sender=owner, dispatch_uid=f"remove_files_with_{owner._meta.label}")


def _row_deleted(sender, instance, using=None, **_signal) -> None:
    owned = [relative for relative in instance.owned_files() if relative]
    if owned:
        transaction.on_commit(lambda: remove_unreferenced(owned), using=using)


def still_referenced(relative: str) -> bool:
    """Whether any row of a file-owning model names this path."""
    for owner in _file_owners:
        if owner.file_lookups and owner.objects.filter(reduce(or_, (models.Q(**{lookup: relative}) for lookup in owner.file_lookups))).exists():
            return True
    return False


def remove_unreferenced(relatives: list[str]) -> None:
    """Remove these files and folders, except those another row still names or that are not
    plainly inside the media root. A failure is logged: the row is gone already either way."""
    for relative in relatives:
        if still_referenced(relative):
            continue
        try:
            path = paths.owned_path(relative)
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except (paths.PathRejected, OSError) as exc:
            logger.warning("kept %s of a deleted row: %s", relative, exc)
