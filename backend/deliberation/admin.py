"""The deliberation hall in the administration site: read mostly. Topics are moderated,
votes counted and decisions recorded through the app's services (which check the rules and
leave the audit trail); here staff look things up."""

from django.contrib import admin

from backend.audit.admin import AuditedAdmin
from backend.deliberation.models import Decision, FollowUpTask, Opinion, Proposal, Topic


class ReadOnlyAdmin(AuditedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Topic)
class TopicAdmin(ReadOnlyAdmin):
    list_display = ("title", "community", "status", "raised_by", "created_at", "hidden_at")
    list_filter = ("status",)
    search_fields = ("title", "body", "community__name")
    list_select_related = ("community", "raised_by")
    date_hierarchy = "created_at"


@admin.register(Opinion)
class OpinionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "topic", "stance", "author", "created_at", "hidden_at")
    list_filter = ("stance",)
    search_fields = ("body", "topic__title")
    list_select_related = ("topic", "author")
    date_hierarchy = "created_at"


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("title", "topic", "status", "opens_at", "closes_at", "quorum")
    list_filter = ("status",)
    search_fields = ("title", "topic__title")
    list_select_related = ("topic",)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("summary", "topic", "outcome", "decided_at")
    list_filter = ("outcome",)
    search_fields = ("summary", "reasons", "topic__title")
    list_select_related = ("topic",)


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(ReadOnlyAdmin):
    list_display = ("title", "decision", "owner", "due_on", "status", "progress_percent")
    list_filter = ("status",)
    search_fields = ("title", "decision__summary")
    list_select_related = ("decision", "owner")
