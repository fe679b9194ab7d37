"""Settings, all from environment variables with safe defaults (see README "Configuration")."""
from pathlib import Path
import os

import dj_database_url

from echofu.env import env_bool, env_choice, env_float, env_int, env_list, env_str
from engines.llm import PACKAGED as PACKAGED_LLMS

BASE_DIR = Path(__file__).resolve().parent.parent

# Jobs run side by side (two CPU trainings, renders beside them), each torch process with a
# thread per core. OpenMP's threads spin while they wait for each other by default, and side by
# side they spin against each other's work: two EchoLite trainings on 2 cores each took 4.5x as
# long as one alone, and 1.6x with sleeping threads (bench/bench_cpu_sharing.py); alone, the two
# policies are alike.
# Set here, before any process of the studio loads torch (and so OpenMP, which reads it once).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEBUG = env_bool("ECHOFU_DEBUG", False)
# Published with the code, so good only where nobody else connects: single-user mode, loopback only.
# Serving in multi-user mode refuses it (accounts/bind.py).
LOCAL_ONLY_SECRET_KEY = "echofu-local-only-change-me-" + "x" * 32
SECRET_KEY = env_str("ECHOFU_SECRET_KEY", LOCAL_ONLY_SECRET_KEY)
ALLOWED_HOSTS = env_list("ECHOFU_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "accounts",  # before staticfiles: its runserver refuses a public address in single-user mode
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "monitoring",  # before django_q: its qcluster command replaces django-q2's
    "django_q",
    "assets",
    "training",
    "generation",
    "chat",
    "provenance",
    "limits",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the collected static files (admin CSS/JS, the pages' assets) without DEBUG.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "echofu.i18n.StudioLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AccessMiddleware",
    "echofu.middleware.ChunkedBodyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "echofu.middleware.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "echofu.urls"
WSGI_APPLICATION = "echofu.wsgi.application"
ASGI_APPLICATION = "echofu.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Kept open between requests by each gunicorn thread: opening SQLite/PostgreSQL per request
        # was a third of a status request's time.
        conn_max_age=env_int("ECHOFU_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to the same file: WAL lets readers run during a
    # write, IMMEDIATE transactions queue writers instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": env_float("ECHOFU_DB_BUSY_TIMEOUT", 30.0),  # a write waits this long for another's lock
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "zh-hans"
# The studio pages speak Chinese unless the visitor picks English (the choice lives in a cookie).
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# The project's own catalog first: where the third-party one (the Chinese that django-q2, Django and DRF leave
# in English, edited by hand) defines the same msgid, the project's wins.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_thirdparty"]
TIME_ZONE = env_str("ECHOFU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# Our own CSS/JS live under /assets/ so that the legacy "static/..." media spellings stay free.
STATIC_URL = "/assets/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("ECHOFU_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# `run.sh install` runs collectstatic; whitenoise serves STATIC_ROOT with gzip/brotli variants.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

MEDIA_ROOT = Path(env_str("ECHOFU_MEDIA_ROOT", str(BASE_DIR / "media"))).resolve()
MEDIA_URL = "/media/"

# Uploads stream to temp files on the media volume (so the final move is an atomic rename).
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_TEMP_DIR = str(MEDIA_ROOT / "tmp" / "uploads")
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

MB = 1024 * 1024
llm_providers = {
    name.lower(): {
        "base_url": env_str(f"ECHOFU_LLM_{name.upper()}_BASE_URL"),
        "api_key": env_str(f"ECHOFU_LLM_{name.upper()}_API_KEY"),
        "model": env_str(f"ECHOFU_LLM_{name.upper()}_MODEL"),
    }
    for name in env_list("ECHOFU_LLM_PROVIDERS", [])
}
ECHOFU = {
    "MAX_AUDIO_BYTES": env_int("ECHOFU_MAX_AUDIO_MB", 50) * MB,
    "MAX_VIDEO_BYTES": env_int("ECHOFU_MAX_VIDEO_MB", 200) * MB,
    # Widest or tallest frame an upload may have (4096: DCI 4K, and a phone's portrait 4K video).
    "MAX_VIDEO_SIDE": env_int("ECHOFU_MAX_VIDEO_SIDE", 4096),
    # Synchronous endpoints (/video_generation, /audio_clone, /chat_system) wait this long
    # for their job before answering with the task id only.
    "SYNC_WAIT_SECONDS": env_float("ECHOFU_SYNC_WAIT_SECONDS", 600.0),
    # /model_training waits this long for an upload's video check before answering.
    "PROBE_WAIT_SECONDS": env_float("ECHOFU_PROBE_WAIT_SECONDS", 60.0),
    # On a stop, running jobs and the requests waiting for them have this long before they are killed
    # (run.sh's stop, gunicorn's graceful_timeout).
    "STOP_GRACE_SECONDS": env_int("ECHOFU_STOP_GRACE_SECONDS", 20),
    "HEARTBEAT_SECONDS": env_float("ECHOFU_HEARTBEAT_SECONDS", 2.0),
    "STALE_AFTER_SECONDS": env_float("ECHOFU_STALE_AFTER_SECONDS", 60.0),
    "LOG_TAIL_LINES": env_int("ECHOFU_LOG_TAIL_LINES", 200),
    "ERNERF_DIR": env_str("ECHOFU_ERNERF_DIR"),
    "ERNERF_PYTHON": env_str("ECHOFU_ERNERF_PYTHON", "python"),
    "ERNERF_DOCKER_IMAGE": env_str("ECHOFU_ERNERF_DOCKER_IMAGE"),
    "ERNERF_AUDIO_FEATURES": env_str("ECHOFU_ERNERF_AUDIO_FEATURES", "deepspeech"),
    "SYNCTALK_DIR": env_str("ECHOFU_SYNCTALK_DIR"),
    "SYNCTALK_PYTHON": env_str("ECHOFU_SYNCTALK_PYTHON", "python"),
    "SYNCTALK_DOCKER_IMAGE": env_str("ECHOFU_SYNCTALK_DOCKER_IMAGE"),
    "SYNCTALK_AUDIO_FEATURES": env_str("ECHOFU_SYNCTALK_AUDIO_FEATURES", "ave"),
    "EXTERNAL_REQUIRE_CUDA": env_bool("ECHOFU_EXTERNAL_REQUIRE_CUDA", True),
    "TTS_ENGINE": env_str("ECHOFU_TTS_ENGINE", "default"),
    "TTS_MAX_CHARS": env_int("ECHOFU_TTS_MAX_CHARS", 2000),
    # Longest speech /video_generation renders from an audio file (a text is bounded by TTS_MAX_CHARS).
    "MAX_RENDER_SECONDS": env_int("ECHOFU_MAX_RENDER_SECONDS", 900),
    "XTTS_DIR": env_str("ECHOFU_XTTS_DIR"),
    "COSYVOICE_URL": env_str("ECHOFU_COSYVOICE_URL"),
    "COSYVOICE_SAMPLE_RATE": env_int("ECHOFU_COSYVOICE_SAMPLE_RATE", 24000),  # CosyVoice2-0.5B, server.py's default model
    "WHISPER_CHECKPOINT": env_str("ECHOFU_WHISPER_CHECKPOINT"),
    # Weights that install from the registry are reassembled / converted once into this folder.
    "MODEL_CACHE": env_str("ECHOFU_MODEL_CACHE", str(Path.home() / ".cache" / "echofu")),
    "LOADED_MODELS": env_int("ECHOFU_LOADED_MODELS", 6),  # models a worker keeps loaded (Whisper, LLM, talking heads)
    # Chat: api_choice names a provider from ECHOFU_LLM_PROVIDERS (each one configured by
    # ECHOFU_LLM_<NAME>_BASE_URL / _API_KEY / _MODEL); "local" is the packaged offline model.
    "LLM_PROVIDERS": llm_providers,
    # Checked here: a default that names no configured provider failed every chat turn at its
    # llm stage, with only that name as the error.
    # "local" and "fallback" are chat/providers.py's LOCAL and FALLBACK.
    "LLM_DEFAULT": env_choice("ECHOFU_LLM_DEFAULT", "local", ["local", "fallback", *llm_providers]),
    "LLM_LOCAL_MODEL": env_choice("ECHOFU_LLM_LOCAL_MODEL", "smollm2-135m", list(PACKAGED_LLMS)),
    "LLM_TIMEOUT_SECONDS": env_float("ECHOFU_LLM_TIMEOUT", 30.0),
    "LLM_RETRIES": env_int("ECHOFU_LLM_RETRIES", 1),
    "LLM_MAX_TOKENS": env_int("ECHOFU_LLM_MAX_TOKENS", 120),
    "CHAT_HISTORY_TURNS": env_int("ECHOFU_CHAT_HISTORY_TURNS", 6),
    "CHAT_KNOWLEDGE_MIN_SCORE": env_float("ECHOFU_CHAT_KNOWLEDGE_MIN_SCORE", 0.6),
    # Trust (README "Accounts, consent, provenance, limits").
    "SINGLE_USER": env_bool("ECHOFU_SINGLE_USER", False),
    "SINGLE_USER_NAME": env_str("ECHOFU_SINGLE_USER_NAME", "studio"),
    "SINGLE_USER_CONSENT": env_str("ECHOFU_SINGLE_USER_CONSENT"),
    "SINGLE_USER_CONSENT_WORDING": env_str(
        "ECHOFU_SINGLE_USER_CONSENT_WORDING",
        "单用户模式: 本工作室的运营者声明, 每个上传的训练视频和参考音频中出现的人或声音就是本人, 或已获得其本人同意。"
        " / Single-user studio: the operator states that they are the person shown or heard in every uploaded"
        " training video and voice reference, or have that person's consent.",
    ),
    "CONSENT_WORDING": env_str(
        "ECHOFU_CONSENT_WORDING",
        "本人声明: 我就是该文件中出现的人或声音, 或已获得其本人同意。"
        " / I am the person shown or heard in this file, or I have that person's consent.",
    ),
    "VIDEO_LABEL": env_bool("ECHOFU_VIDEO_LABEL", True),
    # A font file with the glyphs of the label's translation (Chinese); empty: the one fontconfig finds.
    "LABEL_FONT": env_str("ECHOFU_LABEL_FONT", ""),
    "MARK_KEY": env_str("ECHOFU_MARK_KEY", "echofu"),
    "QUOTA_BYTES": env_int("ECHOFU_QUOTA_MB", 5000) * MB,
    "RATE_LIMIT_REQUESTS": env_int("ECHOFU_RATE_LIMIT_REQUESTS", 30),
    "RATE_LIMIT_SECONDS": env_int("ECHOFU_RATE_LIMIT_SECONDS", 3600),
    # Wrong passwords for one account from one address before that address must wait (limits/sign_ins.py).
    "LOGIN_FAILURES": max(1, env_int("ECHOFU_LOGIN_FAILURES", 5)),
    "LOGIN_FAILURE_SECONDS": env_int("ECHOFU_LOGIN_FAILURE_SECONDS", 900),
}

# Job queues: each is a django-q2 cluster (ALT_CLUSTERS) served by its own
# `Q_CLUSTER_NAME=<queue> manage.py qcluster`. Jobs wait in their queue, never in a worker:
#   interactive  probes, speaker extraction, synthesis, renders, chat (trainings never run here)
#   cpu          trainings on the CPU, ECHOFU_CPU_JOB_SLOTS side by side
#   gpuN         trainings on GPU N, one at a time in the order they were asked for
# GPUs are counted with NVML (no torch import); ECHOFU_GPUS overrides the count.
JOB_TIMEOUT_SECONDS = env_int("ECHOFU_JOB_TIMEOUT", 24 * 3600)
INTERACTIVE_TIMEOUT_SECONDS = env_int("ECHOFU_INTERACTIVE_TIMEOUT", 3600)
GPU_COUNT = env_int("ECHOFU_GPUS", -1)
if GPU_COUNT < 0:
    from engines.devices import visible_gpu_count

    GPU_COUNT = visible_gpu_count()
INTERACTIVE_QUEUE, CPU_QUEUE = "interactive", "cpu"
GPU_QUEUES = [f"gpu{index}" for index in range(GPU_COUNT)]
JOB_QUEUES = [INTERACTIVE_QUEUE, CPU_QUEUE, *GPU_QUEUES]


def _queue(workers: int, timeout: int) -> dict:
    # django-q2's `retry` (redelivery of an unacknowledged task) must stay above `timeout`;
    # `queue_limit` caps how many tasks a cluster takes off the broker ahead of its workers.
    return {"workers": workers, "queue_limit": workers, "timeout": timeout, "retry": timeout + 600}


Q_CLUSTER = {
    "name": env_str("ECHOFU_Q_NAME", "echofu"),  # shared by every queue: it salts the task signatures
    "cluster_name": INTERACTIVE_QUEUE,  # what a plain `manage.py qcluster` serves
    **_queue(max(1, env_int("ECHOFU_INTERACTIVE_WORKERS", 2)), INTERACTIVE_TIMEOUT_SECONDS),
    "recycle": 50,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "poll": env_float("ECHOFU_Q_POLL", 0.5),
    "save_limit": 500,
    "label": "Django Q",
    "sync": env_bool("ECHOFU_Q_SYNC", False),
    "ALT_CLUSTERS": {
        CPU_QUEUE: _queue(max(1, env_int("ECHOFU_CPU_JOB_SLOTS", 2)), JOB_TIMEOUT_SECONDS),
        **{queue: _queue(1, JOB_TIMEOUT_SECONDS) for queue in GPU_QUEUES},
    },
}
if env_str("ECHOFU_REDIS_URL"):
    Q_CLUSTER["redis"] = env_str("ECHOFU_REDIS_URL")
else:
    Q_CLUSTER["orm"] = "default"

# Outgoing mail, used only for password reset links. Without a host the studio sends none, and
# /accounts/password_reset/ says how an administrator sets a new password instead.
EMAIL_HOST = env_str("ECHOFU_EMAIL_HOST")
EMAIL_PORT = env_int("ECHOFU_EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("ECHOFU_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("ECHOFU_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("ECHOFU_EMAIL_TLS", True)
DEFAULT_FROM_EMAIL = env_str("ECHOFU_EMAIL_FROM", "echofu@localhost")

# Django's own password check, refused while an address has guessed wrong too often (limits/sign_ins.py).
AUTHENTICATION_BACKENDS = ["accounts.sign_in.SignInLimitedBackend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# Multi-user serving behind a TLS proxy, which says the browser's scheme in X-Forwarded-Proto (set
# this only then: a client reaching gunicorn directly could send that header itself). Without it
# Django takes every request for plain http and refuses the login form's Origin (https://...) as
# cross-site, so nobody could sign in; the session and CSRF cookies then travel over HTTPS only.
if env_bool("ECHOFU_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

LOG_LEVEL = env_str("ECHOFU_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # faster-whisper logs a line at INFO for every transcription (chat turns, clones, measure_voices).
    "loggers": {"faster_whisper": {"level": LOG_LEVEL if LOG_LEVEL in ("DEBUG", "ERROR", "CRITICAL") else "WARNING"}},
}
