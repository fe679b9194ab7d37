"""A job that fails with a given exception, run inline as a worker runs it."""
from monitoring import runner
from monitoring.models import Job


def failed_job(monkeypatch, exc: BaseException, kind: str = Job.Kind.RENDER) -> Job:
    def handler(job, ctx):
        raise exc

    monkeypatch.setitem(runner._handlers, kind, handler)
    job = runner.new_job(kind, {}, prefix=kind)
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    return job
