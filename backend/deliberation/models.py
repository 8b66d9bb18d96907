"""The deliberation hall (红色议事厅): topics, opinions, votes, decisions and their follow-up.

A resident raises a topic for their community; residents add opinions; a coordinator may
schedule a deliberation meeting (an ordinary Activity of kind ``deliberation``, so it has
shifts, sign-up and reminders); proposals are put to a vote of the verified residents; the
outcome is recorded as a published decision, which may spawn activities, campaigns and tasks
whose progress residents follow and rate. Abusive topics and opinions are hidden, with a
recorded reason, never deleted.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Moderated(models.Model):
    """Hidden content stays in the database (and in the audit log) with who hid it and why;
    the public sees a placeholder."""

    hidden_at = models.DateTimeField(_("hidden at"), null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("hidden by"),
        related_name="+",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    hidden_reason = models.CharField(_("why it was hidden"), max_length=500, blank=True)

    class Meta:
        abstract = True

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class TopicStatus(models.TextChoices):
    OPEN = "open", _("Open for discussion")
    DECIDED = "decided", _("Decided")
    CLOSED = "closed", _("Closed without a decision")


class Topic(Moderated):
    """A matter a resident raises for their community (e.g. parking under ground-floor
    windows)."""

    community = models.ForeignKey(
        "regions.Region",
        verbose_name=_("community"),
        related_name="topics",
        on_delete=models.PROTECT,
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("raised by"),
        related_name="raised_topics",
        on_delete=models.PROTECT,
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("description"))
    status = models.CharField(
        _("status"), max_length=16, choices=TopicStatus.choices, default=TopicStatus.OPEN
    )
    meeting = models.ForeignKey(
        "activities.Activity",
        verbose_name=_("deliberation meeting"),
        related_name="deliberation_topics",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    closed_reason = models.CharField(_("why it was closed"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("deliberation topic")
        verbose_name_plural = _("deliberation topics")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=TopicStatus.values), name="topic_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "status", "created_at"], name="topic_community"),
            models.Index(fields=["created_at"], name="topic_created"),
        ]

    def __str__(self) -> str:
        return self.title


class Stance(models.TextChoices):
    SUPPORT = "support", _("Support")
    OPPOSE = "oppose", _("Oppose")
    NEUTRAL = "neutral", _("Neutral")


class Opinion(Moderated):
    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), related_name="opinions", on_delete=models.CASCADE
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        related_name="opinions",
        on_delete=models.PROTECT,
    )
    stance = models.CharField(
        _("stance"), max_length=16, choices=Stance.choices, default=Stance.NEUTRAL
    )
    body = models.TextField(_("opinion"))
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)

    class Meta:
        verbose_name = _("opinion")
        verbose_name_plural = _("opinions")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stance__in=Stance.values), name="opinion_stance_valid"
            ),
        ]
        indexes = [models.Index(fields=["topic", "created_at"], name="opinion_topic")]

    def __str__(self) -> str:
        return self.body[:50]


class ProposalStatus(models.TextChoices):
    VOTING = "voting", _("Voting")
    ADOPTED = "adopted", _("Adopted")
    REJECTED = "rejected", _("Rejected")
    TIED = "tied", _("Tied")
    NO_QUORUM = "no_quorum", _("Quorum not reached")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Outcomes of a counted vote.
COUNTED_STATUSES = (
    ProposalStatus.ADOPTED,
    ProposalStatus.REJECTED,
    ProposalStatus.TIED,
    ProposalStatus.NO_QUORUM,
)


class Proposal(models.Model):
    """A proposal put to a vote of the community's verified residents within a window.

    ``eligible_voters`` is the number of verified residents when voting opened and
    ``quorum`` the number of ballots (abstentions included) the vote needs to count; both
    are fixed at opening so that residents moving in or out cannot move the bar. When the
    window closes the ballots are counted once: adopted when quorum is met and yes > no,
    tied when yes = no, rejected otherwise.
    """

    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), related_name="proposals", on_delete=models.CASCADE
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("proposal"), blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("put to the vote by"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.VOTING
    )
    opens_at = models.DateTimeField(_("voting opens at"))
    closes_at = models.DateTimeField(_("voting closes at"))
    eligible_voters = models.PositiveIntegerField(_("eligible voters"))
    quorum = models.PositiveIntegerField(_("quorum (ballots)"))
    yes_count = models.PositiveIntegerField(_("yes"), default=0)
    no_count = models.PositiveIntegerField(_("no"), default=0)
    abstain_count = models.PositiveIntegerField(_("abstentions"), default=0)
    # Kept up to date as ballots come in (under the proposal's row lock), so that the
    # turnout can be shown while the choices stay secret until the count.
    ballots_cast = models.PositiveIntegerField(_("ballots cast"), default=0)
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("why it was withdrawn"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        ordering = ["opens_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ProposalStatus.values), name="proposal_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="proposal_window_not_empty",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["voting", "withdrawn"])
                | models.Q(counted_at__isnull=False),
                name="proposal_outcome_counted",
            ),
        ]
        indexes = [models.Index(fields=["status", "closes_at"], name="proposal_to_count")]

    def __str__(self) -> str:
        return self.title


class BallotChoice(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    ABSTAIN = "abstain", _("Abstain")


class Ballot(models.Model):
    """One resident's vote on a proposal; cast again within the window to change it (it
    stays one ballot)."""

    proposal = models.ForeignKey(
        Proposal, verbose_name=_("proposal"), related_name="ballots", on_delete=models.CASCADE
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voter"),
        related_name="ballots",
        on_delete=models.PROTECT,
    )
    residence = models.ForeignKey(
        "residents.Residence",
        verbose_name=_("residence"),
        related_name="ballots",
        on_delete=models.PROTECT,
    )
    choice = models.CharField(_("choice"), max_length=16, choices=BallotChoice.choices)
    cast_at = models.DateTimeField(_("cast at"), auto_now_add=True)
    changed_at = models.DateTimeField(_("last changed at"), auto_now=True)

    class Meta:
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "voter"], name="ballot_one_per_voter"),
            models.UniqueConstraint(
                fields=["proposal", "residence"], name="ballot_one_per_residence"
            ),
            models.CheckConstraint(
                condition=models.Q(choice__in=BallotChoice.values), name="ballot_choice_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.voter} → {self.get_choice_display()}"


class DecisionOutcome(models.TextChoices):
    ADOPTED = "adopted", _("Adopted")
    REJECTED = "rejected", _("Rejected")
    DEFERRED = "deferred", _("Deferred")


class Decision(models.Model):
    """The recorded outcome of a topic, with its reasons; published when recorded. It may
    spawn follow-up work: activities, campaigns and tasks."""

    topic = models.OneToOneField(
        Topic, verbose_name=_("topic"), related_name="decision", on_delete=models.CASCADE
    )
    proposal = models.ForeignKey(
        Proposal,
        verbose_name=_("proposal voted on"),
        related_name="decisions",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=DecisionOutcome.choices)
    summary = models.CharField(_("summary"), max_length=500)
    reasons = models.TextField(_("reasons"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    decided_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    # Kept with each rating (under the decision's row lock): the average is shown on every
    # decision of a list without an aggregate per row.
    rating_count = models.PositiveIntegerField(_("number of ratings"), default=0)
    rating_total = models.PositiveIntegerField(_("sum of the stars"), default=0)
    activities = models.ManyToManyField(
        "activities.Activity",
        verbose_name=_("follow-up activities"),
        related_name="decisions",
        blank=True,
    )
    campaigns = models.ManyToManyField(
        "campaigns.Campaign",
        verbose_name=_("follow-up campaigns"),
        related_name="decisions",
        blank=True,
    )

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=DecisionOutcome.values),
                name="decision_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.summary


class TaskStatus(models.TextChoices):
    TODO = "todo", _("To do")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class FollowUpTask(models.Model):
    """Work a decision assigned, with an owner and a due date; residents see its progress."""

    decision = models.ForeignKey(
        Decision, verbose_name=_("decision"), related_name="tasks", on_delete=models.CASCADE
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        related_name="deliberation_tasks",
        on_delete=models.PROTECT,
    )
    owner_organization = models.ForeignKey(
        "organizations.Organization",
        verbose_name=_("owning organization"),
        related_name="deliberation_tasks",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    due_on = models.DateField(_("due on"), help_text=_("Local date."))
    status = models.CharField(
        _("status"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.TODO
    )
    progress_percent = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=TaskStatus.values), name="task_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(progress_percent__lte=100), name="task_progress_at_most_100"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="done")
                | (models.Q(progress_percent=100) & models.Q(completed_at__isnull=False)),
                name="task_done_is_complete",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="task_due")]

    def __str__(self) -> str:
        return self.title


class TaskUpdate(models.Model):
    """A line of a task's progress log (append-only): what was done, by whom."""

    task = models.ForeignKey(
        FollowUpTask, verbose_name=_("task"), related_name="updates", on_delete=models.CASCADE
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        related_name="+",
        on_delete=models.PROTECT,
    )
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=TaskStatus.choices)
    progress_percent = models.PositiveSmallIntegerField(_("progress (%)"))
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)

    class Meta:
        verbose_name = _("task update")
        verbose_name_plural = _("task updates")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.task} {self.progress_percent}%"


class Rating(models.Model):
    """A resident's rating (1–5 stars) of how well a decision was carried out; rating again
    replaces it."""

    decision = models.ForeignKey(
        Decision, verbose_name=_("decision"), related_name="ratings", on_delete=models.CASCADE
    )
    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resident"),
        related_name="decision_ratings",
        on_delete=models.PROTECT,
    )
    stars = models.PositiveSmallIntegerField(_("stars"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("rated at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "resident"], name="rating_one_per_resident"
            ),
            models.CheckConstraint(
                condition=models.Q(stars__gte=1, stars__lte=5), name="rating_stars_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} ★{self.stars}"
