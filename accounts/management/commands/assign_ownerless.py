from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, no_translations

from accounts.ownerless import assign


class Command(BaseCommand):
    help = ("Give USERNAME the rows nobody owns (uploads, voices, models, renders, conversations and finished jobs "
            "from before accounts, scan_media's finds, operator commands' output). --dry-run lists them and changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--dry-run", action="store_true", help="list what would be assigned, renamed or renumbered; change nothing")

    @no_translations  # the rows' kinds are written in English, as the rest of its output, not in LANGUAGE_CODE's Chinese
    def handle(self, username, dry_run=False, **options):
        owner = get_user_model().objects.filter(username=username).first()
        if owner is None:
            raise CommandError(f"no user {username!r} (create it first: the admin, or manage.py createsuperuser)")
        if not owner.is_active:
            raise CommandError(f"user {username!r} is inactive")
        done = assign(owner, dry_run=dry_run)
        for assignment in done.assignments:
            kind = assignment.row._meta.verbose_name
            line = f"{kind} {assignment.label!r}"
            if assignment.changes:
                line += f" as {assignment.new_label!r} ({assignment.label!r} is taken in {username}'s account)"
            self.stdout.write(line)
        for running in done.left_ownerless:
            self.stdout.write(self.style.WARNING(f"{running.row._meta.verbose_name} {running.label!r} left ownerless: "
                                                 "it has not finished (an operator's command runs it)"))
        verb = "would be given" if dry_run else "given"
        self.stdout.write(self.style.SUCCESS(f"{len(done.assignments)} ownerless row(s) {verb} to {username}"
                                             + (" (dry run: nothing changed)" if dry_run else "")))
