"""Admin: read-mostly. Tallies and ballots change only through services."""

from django.contrib import admin

from .models import Ballot, Choice, Poll


class ChoiceInline(admin.TabularInline):
    model = Choice
    fields = ["position", "text", "votes"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ["id", "question", "owner", "status", "kind", "total_votes", "created_at"]
    list_filter = ["status", "kind", "results_visibility", "anonymous"]
    search_fields = ["id", "question", "owner__username"]
    # Status and rules change through the API, which bumps the version and
    # (later) broadcasts; only the wording is editable here.
    readonly_fields = [
        "id",
        "owner",
        "kind",
        "max_choices",
        "scale_min",
        "scale_max",
        "eligibility",
        "max_ballots_per_address",
        "anonymous",
        "allow_vote_change",
        "results_visibility",
        "status",
        "opens_at",
        "closes_at",
        "version",
        "total_votes",
        "created_at",
        "updated_at",
    ]
    exclude = ["passcode"]  # shared with a room, never shown back
    inlines = [ChoiceInline]

    def has_add_permission(self, request):
        return False  # join codes and choices are made by the API's service


@admin.register(Ballot)
class BallotAdmin(admin.ModelAdmin):
    list_display = ["poll", "voter_key", "created_at", "updated_at"]
    search_fields = ["poll__id", "voter_key"]
    list_select_related = ["poll"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
