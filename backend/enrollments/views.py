from django.http import Http404, HttpRequest, HttpResponse

from backend.enrollments.calendar import feed, volunteer_for_secret


def calendar_feed(request: HttpRequest, secret: str) -> HttpResponse:
    """GET /calendar/<secret>.ics: the volunteer's shifts. An unknown or revoked secret is a
    plain 404 (it says nothing about whether it ever existed)."""
    volunteer = volunteer_for_secret(secret)
    if volunteer is None:
        raise Http404
    response = HttpResponse(feed(volunteer), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
