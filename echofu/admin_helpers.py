"""Admin display helpers shared by every app that catalogs files."""
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _

from echofu import paths
from echofu.messages import localized, localized_within
from echofu.versioning import record_row_issued, renumber_if_moved, settling_races


def human_size(size: int | None) -> str:
    size = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def media_link(relative: str, label: str) -> str:
    if not relative:
        return "-"
    return format_html('<a href="/{}" target="_blank">{}</a>', paths.public_path(relative), label)


def media_player(relative: str, kind: str) -> str:
    if not relative or not paths.absolute(relative).is_file():
        return gettext("file missing")
    tag = "video" if kind == "video" else "audio"
    return format_html('<{} controls preload="metadata" src="/{}" style="max-width:480px"></{}>', tag, paths.public_path(relative), tag)


def readable_json(field: str, description):
    """A read-only display of a JSON field as a curator reads it: the messages kept in it (a job's device
    warning, a model's verdict and warnings) in the admin's language instead of their templates and values,
    non-ASCII text as written, one key a line. Django showed the stored JSON on one line, English templates included."""
    @admin.display(description=description)
    def shown(row) -> str:
        value = getattr(row, field)
        if value in (None, {}, []):
            return "-"
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
                           json.dumps(localized_within(value), ensure_ascii=False, indent=2))

    shown.__name__ = f"{field}_shown"
    return shown


@admin.display(description=_("error"))
def translated_error(row) -> str:
    """A job's or chat turn's error in the curator's language, from the template its row keeps (its
    `error` text is English for a job, Chinese for a turn)."""
    return localized(row.kept_error)


class WrittenByTheStudioAdmin(admin.ModelAdmin):
    """Rows that jobs and requests write (jobs, chat turns, provenance records, rate-limit hits), every
    field read-only here: "add" would save a blank row or fail on a field nobody can fill."""

    def has_add_permission(self, request):
        return False


class MediaFileAdmin(admin.ModelAdmin):
    """Common columns for MediaFile rows: size, availability, a playable preview."""

    player_kind = "audio"
    list_display = ("__str__", "owner", "file_size", "duration", "available", "preview_link", "created_at")
    list_filter = ("created_at",)
    search_fields = ("file", "original_name", "owner__username")
    # The file, and the facts measured from it, came with the upload or the render: a file swapped
    # here would skip every check, land outside its folder and leave the old one on disk.
    readonly_fields = ("player", "file", "file_size", "duration", "created_at")
    exclude = ("size",)  # shown readable, as file_size
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # files arrive by upload, by a job, or by `manage.py scan_media`

    @admin.display(description=_("size"), ordering="size")
    def file_size(self, obj):
        return human_size(obj.size)

    @admin.display(boolean=True, description=_("file present"))
    def available(self, obj):
        return obj.exists()

    @admin.display(description=_("preview"))
    def preview_link(self, obj):
        return media_link(obj.file.name, gettext("play"))

    @admin.display(description=_("player"))
    def player(self, obj):
        return media_player(obj.file.name, self.player_kind)


class WholeConstraintsForm(forms.ModelForm):
    """Checks the model's unique constraints over the read-only fields too. Django leaves out a
    constraint with a field the form does not edit, so a voice renamed to an id that has its
    version already (v1 to v1), or a model's person to one with its version, was a server error
    from the database instead of a message on the page."""

    def validate_unique(self):
        try:
            self.instance.validate_constraints()
        except ValidationError as error:
            self._update_errors(error)
        super().validate_unique()


class MovedRowRenumberedForm(WholeConstraintsForm):
    """A numbered row moved to another person, voice or account takes the next version there before its
    constraints are checked, so the move is not refused over a number it no longer keeps."""

    def validate_unique(self):
        renumber_if_moved(self.instance)
        super().validate_unique()


class VersionedRowAdmin(admin.ModelAdmin):
    """A row numbered by echofu.versioning (a model, a voice). Its number is shown, not edited: a curator
    renumbering anna v3 would give it a number downloaded copies and provenance records know as another
    version, and skip the record of numbers given out. Moved to another person, voice or account, the
    row takes the next version there, which is then recorded as given out."""
    form = MovedRowRenumberedForm
    # The upload whose consent statement the row rests on, and which takes the row with it when deleted.
    rests_on = ""

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + ("version",) if obj is not None and "version" not in fields else fields

    def save_model(self, request, obj, form, change):
        def save():
            # Numbered again, inside the save's transaction: a training may have numbered the person since
            # the form was checked. On SQLite the transaction holds the write lock; on PostgreSQL a training
            # committing in that same moment still meets the unique constraint, and the next try counts it in.
            renumber_if_moved(obj)
            super(VersionedRowAdmin, self).save_model(request, obj, form, change)
            record_row_issued(obj)
            return obj

        settling_races(save)
        self._warn_of_another_accounts_source(request, obj)

    def _warn_of_another_accounts_source(self, request, obj):
        """A row moved to another account still rests on its old owner's upload: that owner deleting it, or that
        account being deleted, deletes the row too. Said on the page, where it had gone unseen until the row vanished."""
        source = getattr(obj, self.rests_on) if self.rests_on else None
        if source is None or source.owner_id == obj.owner_id:
            return
        self.message_user(request, gettext("{row} rests on {source} of {owner}, whose consent statement it needs: deleting that upload, "
                                           "or that account, deletes {row} too").format(
            row=obj, source=source, owner=source.owner or gettext("no account")), messages.WARNING)
