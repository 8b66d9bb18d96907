from celery import shared_task

from backend.attendance import services
from backend.task_options import SWEEP


@shared_task(name="attendance.close_forgotten_check_outs", **SWEEP.options())
def close_forgotten_check_outs() -> int:
    """Periodic (beat): close attendances left open after their shift; a run that finds
    them closed already (by a volunteer, a coordinator or an earlier run) does nothing."""
    return services.close_forgotten_check_outs()


@shared_task(name="attendance.mark_no_shows", **SWEEP.options())
def mark_no_shows() -> int:
    """Periodic (beat): confirmed places nobody checked in to, once the shift's check-out
    window is over, become no-shows; a second run finds nothing to mark."""
    return services.mark_no_shows()
