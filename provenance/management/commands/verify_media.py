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
        problems = []
        for name in files:
            path = Path(name)
            try:
                if not path.is_file():
                    raise ProvenanceError("no such file")
                verdict = verify_file(path)
            except ProvenanceError as exc:  # said, and the other files still checked
                problems.append(f"{name}: {exc}")
                continue
            self.stdout.write(json.dumps({"file": name, **verdict}, ensure_ascii=False))
            if not verdict["made_here"]:
                problems.append(f"{name}: not made by this studio (no record, marker or provenance row found)")
        if problems:  # exit status 1, as a script checking files needs it
            raise CommandError("\n".join(problems))
