import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from engines.provenance import ProvenanceError
from provenance.verify import verify_file


class Command(BaseCommand):
    help = "Say whether this studio made each FILE (metadata record, audio marker, provenance row) and from what."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+")

    def handle(self, files, **options):
        failed = False
        for name in files:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            try:
                verdict = verify_file(path)
            except ProvenanceError as exc:
                raise CommandError(f"{name}: {exc}") from exc
            self.stdout.write(json.dumps({"file": name, **verdict}, ensure_ascii=False))
            failed = failed or not verdict["made_here"]
        if failed and len(files) == 1:
            self.stderr.write("not made by this studio (no record, marker or provenance row found)")
