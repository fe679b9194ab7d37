"""gunicorn -c echofu/gunicorn_conf.py echofu.wsgi: refuses to start single-user mode on a public address."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echofu.settings")


def on_starting(server):
    import django

    django.setup()
    from accounts.bind import check_bind

    for bind in server.cfg.bind:
        check_bind(bind)
