import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from echofu.uploads import VIDEO_EXTENSIONS
from training import cli, follow

COLUMNS = ("video", "model", "epochs", "params", "gpu")


def read_plan(source: Path, defaults: dict) -> list[dict]:
    """One entry per video: every video file in a folder, or the rows of a CSV (header: video[,model,epochs,params,gpu])."""
    if source.is_dir():
        return [{**defaults, "video": str(path)} for path in sorted(source.iterdir()) if path.suffix.lower() in VIDEO_EXTENSIONS]
    if source.suffix.lower() != ".csv" or not source.is_file():
        raise CommandError(f"{source}: give a folder of videos or a .csv file")
    try:
        return _read_csv_plan(source, defaults)
    except UnicodeDecodeError as exc:  # Excel on Chinese Windows saves CSV as GBK
        raise CommandError(f"{source}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    except csv.Error as exc:
        raise CommandError(f"{source}: not a readable CSV ({exc})") from None


def _read_csv_plan(source: Path, defaults: dict) -> list[dict]:
    with open(source, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "video" not in reader.fieldnames:
            raise CommandError(f"{source}: the CSV needs a 'video' column (optional: model, epochs, params, gpu)")
        unknown = set(reader.fieldnames) - set(COLUMNS)
        if unknown:
            raise CommandError(f"{source}: unknown CSV columns {', '.join(sorted(unknown))}")
        plan = []
        for line, row in enumerate(reader, start=2):
            entry = {**defaults, **{key: value for key, value in row.items() if value not in (None, "")}}
            if "video" not in entry:
                raise CommandError(f"{source}, line {line}: no video named")
            video = Path(entry["video"])
            if not video.is_absolute() and (source.parent / video).exists():
                entry["video"] = str(source.parent / video)
            plan.append(entry)
        return plan


def epochs_of(entry: dict) -> int | None:
    """The entry's epoch count: --epochs (a number already) or the CSV cell; none means the time budget's."""
    value = entry.get("epochs")
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise CommandError(f"{entry['video']}: epochs {value!r} is not a whole number") from None


class Command(BaseCommand):
    help = "Train many videos through the job queue (a folder or a CSV) and print a table of results."

    def add_arguments(self, parser):
        parser.add_argument("source", help="folder of videos, or CSV with columns video[,model,epochs,params,gpu]")
        cli.add_training_options(parser, "the jobs")

    def handle(self, source, model, gpu, epochs, params, queue, **options):
        defaults = {"model": model, "gpu": gpu, "epochs": epochs, "params": params}
        plan = read_plan(Path(source).expanduser(), defaults)
        if not plan:
            raise CommandError(f"{source}: no videos to train")
        results, jobs = [], []
        for entry in plan:
            try:
                job = cli.training_job(entry["video"], entry["model"], entry["gpu"], epochs_of(entry), entry.get("params", ""))
            except (CommandError, ValueError) as exc:
                results.append({"video": entry["video"], "task": "-", "status": "refused", "detail": str(exc)})
                continue
            jobs.append(job)
            results.append({"video": entry["video"], "task": job.pk})
        if jobs:
            workers = follow.start(jobs, inline=not queue)
            finished = {job.pk: job for job in follow.follow(jobs, self.stdout.write, workers)}
            for row in results:
                job = finished.get(row["task"])
                if job is not None:
                    row["status"] = job.status
                    row["detail"] = job.result.get("model_path", "") if job.status == job.Status.SUCCEEDED else (job.error or job.stage)
                    row["metrics"] = job.result.get("metrics", {})
        self._table(results)
        failed = sum(row["status"] != "succeeded" for row in results)
        if failed:  # a script running the batch sees it did not all succeed
            raise CommandError(f"{failed} of {len(results)} not trained")

    def _table(self, results):
        self.stdout.write("")
        header = f"{'video':<40} {'task':<26} {'status':<10} {'PSNR':>6} {'SSIM':>6} {'sync':>6}  model / reason"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in results:
            metrics = row.get("metrics", {})
            figures = [metrics.get("mouth_psnr"), metrics.get("mouth_ssim"), metrics.get("sync_correlation")]
            cells = " ".join(f"{value:6.2f}" if isinstance(value, (int, float)) else f"{'-':>6}" for value in figures)
            self.stdout.write(f"{Path(row['video']).name[:40]:<40} {row['task']:<26} {row['status']:<10} {cells}  {row['detail']}")
        succeeded = sum(row["status"] == "succeeded" for row in results)
        self.stdout.write(f"{succeeded} of {len(results)} trained")
