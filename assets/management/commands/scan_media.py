from django.core.management.base import BaseCommand, CommandError, no_translations

from assets.scan import NoneOfTheCatalogHere, scan_media


class Command(BaseCommand):
    help = "Catalog files copied into the media folders by hand; report rows whose file vanished."

    def add_arguments(self, parser):
        parser.add_argument("--no-probe", action="store_true", help="do not queue the face/quality probe of new training videos")
        parser.add_argument("--prune", action="store_true", help="delete rows whose file or model directory is gone")

    @no_translations  # the rows' kinds are written in English, as the rest of its output, not in LANGUAGE_CODE's Chinese
    def handle(self, *args, no_probe=False, prune=False, **options):
        try:
            report = scan_media(probe=not no_probe, prune=prune)
        except NoneOfTheCatalogHere as exc:
            raise CommandError(str(exc)) from None
        for path in report.added:
            self.stdout.write(f"added    {path}")
        for entry in report.skipped:
            self.stdout.write(self.style.WARNING(f"skipped  {entry}"))
        for entry in report.missing:
            outcome = f" ({report.kept.get(entry, 'row deleted')})" if prune else ""
            self.stdout.write(self.style.WARNING(f"missing  {entry}{outcome}"))
        self.stdout.write(self.style.SUCCESS(
            f"{len(report.added)} added, {len(report.skipped)} skipped, {len(report.missing)} missing"
        ))
