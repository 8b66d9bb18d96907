"""Who runs a community's deliberation hall (``user.has_perm(perm, obj)``).

- ``deliberation.manage_hall`` (obj: the community Region): the community's administrators
  (or of a region above it) and the admins / coordinators of organizations based in the
  community (its party committee, a residents' committee). They schedule meetings, put
  proposals to the vote, record decisions, assign follow-up tasks, moderate.
- ``deliberation.update_task`` (obj: a FollowUpTask): those who manage the hall of the
  task's community, and the task's owner.

What residents may do (raise topics, give opinions, vote, rate) is not a role but a fact
about where they live (``backend.residents``); the services check it.
Needs ``community.path`` (and for a task ``task.decision.topic.community``) loaded.
"""

from typing import Any

import rules

from backend.accounts.scopes import Scope, scope_of
from backend.regions.models import Region


def manages_hall_of(scope: Scope, community: Region) -> bool:
    return scope.administers_region(community) or any(
        path.startswith(community.path) for path in scope.coordinated_region_paths
    )


@rules.predicate
def manages_hall(user: Any, community: Region | None) -> bool:
    return community is not None and manages_hall_of(scope_of(user), community)


@rules.predicate
def may_update_task(user: Any, task: Any) -> bool:
    if task is None or not getattr(user, "is_authenticated", False):
        return False
    return task.owner_id == user.pk or manages_hall_of(
        scope_of(user), task.decision.topic.community
    )


rules.add_perm("deliberation.manage_hall", manages_hall)
rules.add_perm("deliberation.update_task", may_update_task)
