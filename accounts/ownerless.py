"""Handing the rows nobody owns to one account: rows from before accounts existed, files found by
scan_media, what an operator's commands made. In multi-user mode only staff see them until then.

An account numbers and names its own rows (echofu.versioning): a row whose version or name the
account already uses (or whose version it gave out once, to a row since deleted) takes the account's
next one, as a new row of that account would, and is reported with its old label so the operator can
tell the account."""
from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import models, transaction

from assets.models import IssuedVersion, TrainingVideo
from echofu.versioning import highest_issued, numbered_names, record_row_issued
from monitoring.models import Job
from training.models import TalkingHeadModel

# A job an operator's command still runs is left to it: handed to an account part way, its work
# would be scoped to that account's rows from then on.
_LEFT_OWNERLESS = {Job: ~models.Q(status__in=Job.FINISHED)}


@dataclass
class Assignment:
    row: models.Model
    label: str  # as it read before
    changes: dict = field(default_factory=dict)  # the version or name it takes instead of one the account uses

    @property
    def new_label(self) -> str:
        return label_of(self.row)


@dataclass
class Plan:
    owner: models.Model
    assignments: list[Assignment] = field(default_factory=list)
    left_ownerless: list[Assignment] = field(default_factory=list)


def label_of(row: models.Model) -> str:
    """How a user knows the row: a model as 'anna v1 (EchoLite)', an upload by its name, else as the admin names it."""
    return getattr(row, "display_label", None) or getattr(row, "display_name", None) or str(row)


def owned_models() -> list[type[models.Model]]:
    """The models whose rows are handed over: an account's record of the numbers it gave out is not one."""
    return [model for model in apps.get_models()
            if model is not IssuedVersion and any(f.name == "owner" and f.is_relation and f.related_model._meta.label == settings.AUTH_USER_MODEL
                   for f in model._meta.get_fields())]


def _scopes_per_owner(model: type[models.Model]) -> list[list[str]]:
    """The fields each of the model's per-account unique constraints makes unique within one account."""
    return [[name for name in constraint.fields if name != "owner"] for constraint in model._meta.constraints
            if isinstance(constraint, models.UniqueConstraint) and "owner" in constraint.fields]


class _Taken:
    """The versions and names the account uses, and those given to the rows handed to it so far."""

    def __init__(self, owner):
        self.owner = owner
        self.versions: dict[tuple, set[int]] = {}
        self.highest: dict[tuple, int] = {}
        self.names: dict[type, set[str]] = {}

    def free_version(self, model, scope: dict, version: int) -> int:
        """`version`, unless the account has given that number out already (to a row it may since have deleted)."""
        key = (model, *sorted(scope.items()))
        if key not in self.versions:
            self.versions[key] = set(model.objects.filter(owner=self.owner, **scope).values_list("version", flat=True))
            self.highest[key] = highest_issued(model, scope, self.owner.pk)
        used = self.versions[key]
        chosen = version if version not in used and version > self.highest[key] else max(max(used, default=0), self.highest[key]) + 1
        used.add(chosen)
        return chosen

    def free_name(self, model, name: str) -> str:
        if model not in self.names:
            self.names[model] = {label_of(row) for row in model.objects.filter(owner=self.owner)}
        used = self.names[model]
        chosen = next(candidate for candidate in numbered_names(name) if candidate not in used)
        used.add(chosen)
        return chosen


def plan(owner) -> Plan:
    """What handing every ownerless row to `owner` does, row by row; changes nothing."""
    result, taken = Plan(owner), _Taken(owner)
    renamed_videos: dict[int, str] = {}
    # Uploads before models: a model is of the person its video names, so it follows a video renamed.
    for model in sorted(owned_models(), key=lambda model: model is TalkingHeadModel):
        left = _LEFT_OWNERLESS.get(model, models.Q(pk__in=[]))
        result.left_ownerless += [Assignment(row, label_of(row)) for row in model.objects.filter(left, owner__isnull=True)]
        for row in model.objects.filter(owner__isnull=True).exclude(left).order_by("pk"):
            changes = {}
            if isinstance(row, TalkingHeadModel) and row.source_video_id in renamed_videos:
                changes["person"] = renamed_videos[row.source_video_id]
            for scope in _scopes_per_owner(model):
                if scope == ["name"]:
                    name = taken.free_name(model, row.display_name)
                    if name != row.display_name:
                        changes["name"] = name
                elif "version" in scope:
                    within = {name: changes.get(name, getattr(row, name)) for name in scope if name != "version"}
                    version = taken.free_version(model, within, row.version)
                    if version != row.version:
                        changes["version"] = version
                else:
                    raise NotImplementedError(f"{model.__name__}: no rule frees a per-account {scope} for another account's row")
            if "name" in changes and isinstance(row, TrainingVideo):
                renamed_videos[row.pk] = changes["name"]
            label = label_of(row)
            for name, value in changes.items():  # in memory only, for new_label
                setattr(row, name, value)
            result.assignments.append(Assignment(row, label, changes))
    return result


def assign(owner, *, dry_run: bool) -> Plan:
    """Hand every ownerless row (but the jobs an operator's command still runs) to `owner`, all or none."""
    with transaction.atomic():
        done = plan(owner)
        if not dry_run:
            for assignment in done.assignments:
                row = assignment.row
                type(row).objects.filter(pk=row.pk, owner__isnull=True).update(owner=owner, **assignment.changes)
                row.owner = owner
                record_row_issued(row)
    return done
