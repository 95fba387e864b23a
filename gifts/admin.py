from django.contrib import admin

from gifts.models import Gift, LiveSession


@admin.register(Gift)
class GiftAdmin(admin.ModelAdmin):
    list_display = ["name", "emoji", "coins", "active", "sort_order"]
    list_editable = ["active", "sort_order"]
    list_filter = ["active"]
    search_fields = ["name"]


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    list_display = ["title", "creator", "status", "started_at", "ended_at"]
    list_filter = ["status"]
    search_fields = ["title", "creator__handle"]
