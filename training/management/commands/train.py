from django.core.management.base import BaseCommand, CommandError

from training import cli, follow


class Command(BaseCommand):
    help = "Train a talking-head model from one video (a media path or any local file), with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("video", help="catalog path (media/videos/ref_videos/x.mp4) or a local video file")
        cli.add_training_options(parser, "the job")

    def handle(self, video, model, gpu, epochs, params, queue, **options):
        job = cli.training_job(video, model, gpu, epochs, params)
        self.stdout.write(f"task {job.pk}: {model} on {video} ({job.device})")
        workers = follow.start([job], inline=not queue)
        [done] = follow.follow([job], self.stdout.write, workers)
        if done.status != done.Status.SUCCEEDED:
            raise CommandError(f"{done.pk} {done.status}: {done.error or done.stage}")
        metrics = done.result.get("metrics", {})
        self.stdout.write(self.style.SUCCESS(f"model: {done.result['model_path']}"))
        for key, value in metrics.items():
            self.stdout.write(f"  {key}: {value}")
