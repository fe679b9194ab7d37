from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Print an API token for USERNAME (send it as 'Authorization: Token <key>')."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--create", action="store_true", help="create the user when missing (no password)")
        parser.add_argument("--reset", action="store_true", help="replace an existing token")

    def handle(self, username, create=False, reset=False, **options):
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None:
            if not create:
                raise CommandError(f"no user {username!r} (use --create, or manage.py createsuperuser)")
            try:
                get_user_model().username_validator(username)
            except ValidationError as exc:
                raise CommandError(f"cannot create user {username!r}: {' '.join(exc.messages)}") from exc
            user = users.create_user(username=username)
            user.set_unusable_password()
            user.save()
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive")
        if reset:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
