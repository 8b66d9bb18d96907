"""Migrate the database of ``DATABASE_URL`` and build a scene in it for the PostgreSQL
restart test; print the scene as one line of JSON.

Run as ``python -m tests.faults.seed`` in a process of its own: that test's PostgreSQL is a
private cluster, which the test process (connected to the test database) cannot write to
through the ORM.
"""

import json
import os


def build() -> dict[str, object]:
    from django.core.management import call_command
    from graphql_relay import to_global_id

    from notifications.models import NotificationSettings
    from tests.fixtures import build_community, make_activity, make_volunteer, sign_in
    from tests.notifications.fixtures import make_devices

    call_command("migrate", verbosity=0, interactive=False)
    community = build_community()
    activity = make_activity(community.committee, community.community, shifts=1, capacity=5)
    volunteers = []
    for name in ("restart-first", "restart-second"):
        volunteer = make_volunteer(name)
        # Pushes at any hour: the test must not depend on the time of day it runs.
        NotificationSettings.objects.create(user=volunteer, quiet_hours_enabled=False)
        [phone] = make_devices(volunteer)
        volunteers.append({"token": sign_in(volunteer), "phone": phone.identifier})
    return {
        "shift": to_global_id("Shift", activity.shifts.get().pk),
        "volunteers": volunteers,
    }


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
    print(json.dumps(build()))


if __name__ == "__main__":
    main()
