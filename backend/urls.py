from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _

from backend.core.downloads import download
from backend.enrollments.views import calendar_feed
from schema.view import LinliGraphQLView

admin.site.site_header = _("Linli community administration")
admin.site.site_title = _("Linli")
admin.site.index_title = _("Community management")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql/", LinliGraphQLView.as_view(), name="graphql"),
    path("calendar/<str:secret>.ics", calendar_feed, name="calendar-feed"),
    path("downloads/<str:token>", download, name="download"),
]
