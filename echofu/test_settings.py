"""Settings for the test suite: jobs run inline unless a test starts a real qcluster."""
import atexit
import os
import shutil
import tempfile

from echofu.settings import *  # noqa: F401,F403
from echofu.settings import BASE_DIR, DATABASES, ECHOFU, Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "sync": True}
ECHOFU = {**ECHOFU, "SYNC_WAIT_SECONDS": 300.0, "HEARTBEAT_SECONDS": 0.5, "STALE_AFTER_SECONDS": 30.0,
          # The existing API tests act as the single local user who stated consent once, by setting;
          # the trust tests switch single-user mode off and use real accounts.
          "SINGLE_USER": True, "SINGLE_USER_CONSENT": "the test operator",
          "RATE_LIMIT_REQUESTS": 10_000}
# A file, not memory: the qcluster subprocess of the end-to-end tests opens the same database.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("ECHOFU_TEST_DB", str(BASE_DIR / ".test-db.sqlite3"))}
MEDIA_ROOT = tempfile.mkdtemp(prefix="echofu-test-media-")
FILE_UPLOAD_TEMP_DIR = os.path.join(MEDIA_ROOT, "tmp", "uploads")
os.makedirs(FILE_UPLOAD_TEMP_DIR, exist_ok=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_ROOT = tempfile.mkdtemp(prefix="echofu-test-static-")  # whitenoise wants the folder to exist
# Every process of a run (the controller and each xdist worker) makes its own two folders: gone when it ends.
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
atexit.register(shutil.rmtree, STATIC_ROOT, ignore_errors=True)
