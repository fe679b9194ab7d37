"""What the train / batch_train / render commands share: turning arguments into catalog rows and jobs."""
from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError, CommandParser

from assets import catalog, consent, jobs as asset_jobs
from assets.models import TrainingVideo
from echofu import paths, removal, responses
from echofu.messages import in_contract_language
from echofu.uploads import UploadRejected
from engines.talking_head import MODEL_TYPES
from monitoring import runner
from monitoring.models import Job
from training.forms import TrainingRequest, refusal
from training.jobs import prepare_training


def add_training_options(parser: CommandParser, jobs: str) -> None:
    """The options train and batch_train share; `jobs` says what --queue hands over ("the job", "the jobs")."""
    parser.add_argument("--model", default="EchoLite", choices=MODEL_TYPES)
    parser.add_argument("--gpu", default="GPU0", help="GPU0, GPU1, ... or CPU")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--params", default="", help="custom params, e.g. lr=0.001,batch_size=8")
    parser.add_argument("--queue", action="store_true", help=f"hand {jobs} to the running qcluster instead of training here")


def catalog_video(argument: str) -> TrainingVideo:
    """A catalogued training video named by a media path, or a local file copied into the catalog and checked."""
    try:
        relative = paths.resolve_request_path(argument)
        video = TrainingVideo.objects.filter(file=relative).first()
    except paths.PathRejected:
        video = None
    if video is None:
        source = Path(argument).expanduser()
        if not source.is_file():
            raise CommandError(f"{argument}: no such video file")
        try:
            video = catalog.import_training_video(source, **consent.operator_statement())
        except (UploadRejected, consent.ConsentMissing) as exc:
            raise CommandError(f"{argument}: {exc}") from exc
    if video.probe_status != TrainingVideo.ProbeStatus.OK:
        runner.execute(asset_jobs.start_probe(video, submit=False).pk)
        video.refresh_from_db()
    return video


def training_job(argument: str, model_type: str, gpu: str, epochs: int | None, params: str) -> Job:
    """Validate exactly as /model_training does and create the (not yet submitted) job."""
    video = catalog_video(argument)
    form = TrainingRequest(data={
        "model_choice": model_type, "ref_video": video.relative_path, "gpu_choice": gpu,
        "epoch": "" if epochs is None else str(epochs), "custom_params": params,
    })
    if not form.is_valid():
        raise CommandError(f"{argument}: {in_contract_language(responses.first_error(form))}")
    data = form.validated_data
    refused = refusal(data, None)
    if refused:
        raise CommandError(f"{argument}: {refused}")
    try:
        return prepare_training(data["model_choice"], data["ref_video"], data["gpu_choice"], data["epoch"], data["custom_params"])
    except removal.InputGone as gone:  # the video deleted from the studio since the form found it
        raise CommandError(f"{argument}: {in_contract_language(gone.message())}") from None
