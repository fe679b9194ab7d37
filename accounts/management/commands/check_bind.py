from django.core.management.base import BaseCommand, CommandError

from accounts.bind import PublicBindRefused, check_bind


class Command(BaseCommand):
    help = ("Exit non-zero when the server may not listen on ADDRESS (single-user mode allows loopback only) "
            "or may not serve at all (multi-user mode without a good ECHOFU_SECRET_KEY of its own).")

    def add_arguments(self, parser):
        parser.add_argument("address", help="host or host:port the server will listen on")

    def handle(self, address, **options):
        try:
            check_bind(address)
        except PublicBindRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"ok: {address}")
