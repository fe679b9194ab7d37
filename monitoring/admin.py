from django.contrib import admin, messages
from django.utils.translation import gettext, gettext_lazy as _

from echofu.admin_helpers import WrittenByTheStudioAdmin, readable_json, translated_error
from echofu.messages import localized
from engines.progress import stage_name
from monitoring import forecast, runner
from monitoring.models import Job


def _seconds(seconds: float) -> str:
    return f"{seconds:.0f} s"


@admin.register(Job)
class JobAdmin(WrittenByTheStudioAdmin):
    list_display = ("id", "kind", "owner", "status", "stage_shown", "percent", "expected", "queue", "device", "created_at", "finished_at")
    list_filter = ("kind", "status", "queue", "device", "created_at")
    search_fields = ("id", "error", "log", "owner__username")
    # The stage, error and log read in the curator's language, from the templates the row keeps
    # (error_message, log_messages), instead of the English text and the templates as JSON; the
    # progress as the list shows it.
    fields = readonly_fields = [
        {"stage": "stage_shown", "progress": "percent", "error": translated_error, "log": "log_shown",
         "params": readable_json("params", _("params")), "result": readable_json("result", _("result"))}.get(field.name, field.name)
        for field in Job._meta.fields if field.name not in ("error_message", "log_messages")
    ] + ["expected"]
    actions = ["cancel_jobs"]

    def get_changelist_instance(self, request):
        # One look at each queue for the whole page, not one per row.
        changelist = super().get_changelist_instance(request)
        timings = forecast.forecasts_for(changelist.result_list)
        for job in changelist.result_list:
            job.timing = timings[job.pk]
        return changelist

    @admin.display(description=_("stage"), ordering="stage")
    def stage_shown(self, obj):
        return localized(stage_name(obj.stage))

    @admin.display(description=_("log"))
    def log_shown(self, obj):
        return "\n".join(obj.log_tail(lines=None))

    @admin.display(description=_("progress"))
    def percent(self, obj):
        return f"{obj.progress:.0%}"

    @admin.display(description=_("expected (from now)"))
    def expected(self, obj):
        """A queued job's start and end counted from the jobs ahead of it in its queue (forecast), or
        why its start is not known, as its job card says; a running one's end, and how far it has
        overrun its estimate; nothing for a finished one."""
        if obj.is_finished:
            return "-"
        timing = getattr(obj, "timing", None) or forecast.of(obj)
        if obj.status == Job.Status.QUEUED and timing.starts_in is None:
            return forecast.START_UNKNOWN_EXPLAINED[timing.start_unknown_because]
        if timing.ends_in is None:
            ends = gettext("end not known yet")
        else:
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
