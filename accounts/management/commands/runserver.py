"""runserver that refuses a non-loopback address in single-user mode (static files as before)."""
from django.contrib.staticfiles.management.commands.runserver import Command as StaticFilesRunserver
from django.core.management.base import CommandError

from accounts.bind import PublicBindRefused, check_bind


class Command(StaticFilesRunserver):
    def run(self, **options):
        try:
            check_bind(self.addr or self.default_addr)
        except PublicBindRefused as exc:
            raise CommandError(str(exc)) from exc
        super().run(**options)
