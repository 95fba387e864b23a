from django.contrib import admin

from creators.models import Creator


@admin.register(Creator)
class CreatorAdmin(admin.ModelAdmin):
    list_display = ["handle", "display_name", "user", "category", "status", "created_at"]
    list_filter = ["status", "category"]
    search_fields = ["handle", "display_name", "user__email"]
