from enum import StrEnum


class DeliberationErrorCode(StrEnum):
    """Why a write in the deliberation hall was refused (``DeliberationErrorCode``)."""

    INVALID = "invalid"
    REQUIRED = "required"
    MAX_LENGTH = "max_length"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    # Residents.
    NOT_A_RESIDENT = "not_a_resident"
    RESIDENCE_NOT_VERIFIED = "residence_not_verified"
    # Topics, opinions and moderation.
    TOPIC_CLOSED = "topic_closed"
    TOPIC_HIDDEN = "topic_hidden"
    ALREADY_HIDDEN = "already_hidden"
    NOT_HIDDEN = "not_hidden"
    REASON_REQUIRED = "reason_required"
    TOO_MANY_TOPICS = "too_many_topics"
    MEETING_NOT_DELIBERATION = "meeting_not_deliberation"
    MEETING_ALREADY_SCHEDULED = "meeting_already_scheduled"
    # Voting.
    VOTING_NOT_OPEN = "voting_not_open"
    VOTING_CLOSED = "voting_closed"
    INVALID_WINDOW = "invalid_window"
    INVALID_QUORUM = "invalid_quorum"
    NO_ELIGIBLE_VOTERS = "no_eligible_voters"
    PROPOSAL_NOT_VOTING = "proposal_not_voting"
    VOTE_STILL_OPEN = "vote_still_open"
    # Decisions and follow-up.
    ALREADY_DECIDED = "already_decided"
    PROPOSAL_NOT_COUNTED = "proposal_not_counted"
    OUTCOME_CONTRADICTS_VOTE = "outcome_contradicts_vote"
    DECISION_NOT_ADOPTED = "decision_not_adopted"
    INVALID_STATUS_TRANSITION = "invalid_status_transition"
    DUE_DATE_IN_PAST = "due_date_in_past"
    INVALID_PROGRESS = "invalid_progress"
    INVALID_RATING = "invalid_rating"
