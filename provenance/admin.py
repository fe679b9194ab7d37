from django.contrib import admin
from django.utils.translation import gettext, gettext_lazy as _

from echofu.admin_helpers import WrittenByTheStudioAdmin, media_link, readable_json
from provenance.models import ProvenanceRecord


@admin.register(ProvenanceRecord)
class ProvenanceRecordAdmin(WrittenByTheStudioAdmin):
    list_display = ("file", "kind", "request_id", "model", "speaker", "owner", "label", "marker", "created_at", "open_link")
    list_filter = ("kind", "label", "marker", "created_at")
    search_fields = ("file", "request_id", "sha256", "owner__username")
    readonly_fields = [readable_json(field.name, field.verbose_name) if field.name in ("sources", "record") else field.name
                       for field in ProvenanceRecord._meta.fields]
    exclude = ("sources", "record")  # shown readable above

    @admin.display(description=_("file"))
    def open_link(self, obj):
        return media_link(obj.file, gettext("open"))
