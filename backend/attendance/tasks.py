from celery import shared_task

from backend.attendance import services


@shared_task(name="attendance.close_forgotten_check_outs", ignore_result=True)
def close_forgotten_check_outs() -> int:
    """Periodic (beat): close attendances left open after their shift; a run that finds
    them closed already (by a volunteer, a coordinator or an earlier run) does nothing."""
    return services.close_forgotten_check_outs()
