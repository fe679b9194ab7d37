from django.contrib import admin, messages

from monitoring import runner
from monitoring.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "stage", "percent", "queue", "device", "created_at", "finished_at")
    list_filter = ("kind", "status", "queue", "device", "created_at")
    search_fields = ("id", "error", "log")
    readonly_fields = [field.name for field in Job._meta.fields]
    actions = ["cancel_jobs"]

    @admin.display(description="progress")
    def percent(self, obj):
        return f"{obj.progress:.0%}"

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request, queryset):
        for job in queryset:
            if not job.is_finished:
                runner.request_cancel(job)
        messages.info(request, "cancel requested")
