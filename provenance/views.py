"""POST /api/verify-media (field `file`): whether this studio made the file, and from what."""
import logging
from pathlib import Path

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt

from echofu import responses
from echofu.messages import reason_of
from echofu.uploads import UploadRejected, limit_uploads, read_uploaded_file
from engines.messages import gettext_noop
from engines.provenance import ProvenanceError
from limits.checks import rate_limited
from provenance.verify import verify_file

logger = logging.getLogger(__name__)


@csrf_exempt
@responses.allow_methods("POST")
@rate_limited("verification")
def verify_media(request):
    limit_uploads(request, settings.ECHOFU["MAX_VIDEO_BYTES"])
    try:
        upload = read_uploaded_file(request, "file")
        verdict = verify_file(Path(upload.temporary_file_path()), request)
    except (UploadRejected, ProvenanceError) as exc:
        return responses.error(reason_of(exc), 400)
    message = (gettext_noop("made by this studio") if verdict["made_here"]
               else gettext_noop("no mark of this studio was found: not made here"))
    return responses.success(message, **verdict)
