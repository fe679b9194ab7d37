"""Settings, all from environment variables with safe defaults (see README "Configuration")."""
from pathlib import Path
import os

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in ("1", "true", "yes", "on")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "").strip()
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


DEBUG = env_bool("ECHOFU_DEBUG", False)
# A development default is fine for a loopback-only install; any public deployment sets its own.
SECRET_KEY = env_str("ECHOFU_SECRET_KEY", "echofu-local-only-change-me-" + "x" * 32)
ALLOWED_HOSTS = env_list("ECHOFU_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_q",
    "monitoring",
    "assets",
    "training",
    "generation",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "echofu.i18n.StudioLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
        conn_max_age=env_int("ECHOFU_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write to the same file: WAL lets readers run during a
    # write, IMMEDIATE transactions queue writers instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "zh-hans"
# The studio pages speak Chinese unless the visitor picks English (the choice lives in a cookie).
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("ECHOFU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# Our own CSS/JS live under /assets/ so that the legacy "static/..." media spellings stay free.
STATIC_URL = "/assets/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("ECHOFU_STATIC_ROOT", str(BASE_DIR / "staticfiles")))

MEDIA_ROOT = Path(env_str("ECHOFU_MEDIA_ROOT", str(BASE_DIR / "media"))).resolve()
MEDIA_URL = "/media/"

# Uploads stream to temp files on the media volume (so the final move is an atomic rename).
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_TEMP_DIR = str(MEDIA_ROOT / "tmp" / "uploads")
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

MB = 1024 * 1024
ECHOFU = {
    "MAX_AUDIO_BYTES": env_int("ECHOFU_MAX_AUDIO_MB", 50) * MB,
    "MAX_VIDEO_BYTES": env_int("ECHOFU_MAX_VIDEO_MB", 200) * MB,
    # Synchronous endpoints (/video_generation, /audio_clone, /chat_system) wait this long
    # for their job before answering with the task id only.
    "SYNC_WAIT_SECONDS": env_float("ECHOFU_SYNC_WAIT_SECONDS", 600.0),
    "HEARTBEAT_SECONDS": env_float("ECHOFU_HEARTBEAT_SECONDS", 2.0),
    "STALE_AFTER_SECONDS": env_float("ECHOFU_STALE_AFTER_SECONDS", 60.0),
    "CPU_JOB_SLOTS": env_int("ECHOFU_CPU_JOB_SLOTS", 2),
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
    "XTTS_DIR": env_str("ECHOFU_XTTS_DIR"),
    "COSYVOICE_URL": env_str("ECHOFU_COSYVOICE_URL"),
    "COSYVOICE_SAMPLE_RATE": env_int("ECHOFU_COSYVOICE_SAMPLE_RATE", 22050),
    "WHISPER_CHECKPOINT": env_str("ECHOFU_WHISPER_CHECKPOINT"),
}

# Training on a GPU can take many hours; django-q2's `retry` must stay above `timeout`.
JOB_TIMEOUT_SECONDS = env_int("ECHOFU_JOB_TIMEOUT", 24 * 3600)

# django-q2: the ORM broker on the default database unless a Redis URL is given.
Q_CLUSTER = {
    "name": env_str("ECHOFU_Q_NAME", "echofu"),
    "workers": env_int("ECHOFU_Q_WORKERS", 2),
    "recycle": 50,
    "timeout": JOB_TIMEOUT_SECONDS,
    "retry": JOB_TIMEOUT_SECONDS + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "poll": env_float("ECHOFU_Q_POLL", 0.5),
    "save_limit": 500,
    "label": "Django Q",
    "sync": env_bool("ECHOFU_Q_SYNC", False),
}
if env_str("ECHOFU_REDIS_URL"):
    Q_CLUSTER["redis"] = env_str("ECHOFU_REDIS_URL")
else:
    Q_CLUSTER["orm"] = "default"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("ECHOFU_LOG_LEVEL", "INFO")},
}
