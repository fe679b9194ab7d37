from django.contrib import admin, messages
from django.utils.translation import gettext, gettext_lazy as _

from monitoring import forecast, runner
from monitoring.models import Job


def _seconds(seconds: float | None) -> str:
    return gettext("unknown") if seconds is None else f"{seconds:.0f} s"


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "owner", "status", "stage", "percent", "queue", "device", "created_at", "finished_at")
    list_filter = ("kind", "status", "queue", "device", "created_at")
    search_fields = ("id", "error", "log", "owner__username")
    readonly_fields = [field.name for field in Job._meta.fields] + ["expected"]
    actions = ["cancel_jobs"]

    @admin.display(description=_("progress"))
    def percent(self, obj):
        return f"{obj.progress:.0%}"

    @admin.display(description=_("expected (from now)"))
    def expected(self, obj):
        """A queued job's start and end counted from the jobs ahead of it in its queue (forecast); a
        running one's end, and how far it has overrun its estimate."""
        timing = forecast.of(obj)
        ends = gettext("ends in {time}").format(time=_seconds(timing.ends_in))
        if timing.past_estimate_by is not None:
            ends = gettext("{ends}, {time} past its estimate").format(ends=ends, time=_seconds(timing.past_estimate_by))
        if obj.status != Job.Status.QUEUED:
            return ends
        return gettext("starts in {time}, {ends}").format(time=_seconds(timing.starts_in), ends=ends)

    @admin.action(description=_("Cancel selected jobs"))
    def cancel_jobs(self, request, queryset):
        for job in queryset:
            if not job.is_finished:
                runner.request_cancel(job)
        messages.info(request, gettext("cancel requested"))
