from enum import StrEnum


class CampaignErrorCode(StrEnum):
    """Why a write to a campaign, a pledge or the ledger was refused (``CampaignErrorCode``
    in the API). The values are the ``code`` of the ``ValidationError`` a service raises; a
    code that is not listed here reaches clients as INVALID."""

    INVALID = "invalid"
    REQUIRED = "required"
    MAX_LENGTH = "max_length"
    PERMISSION_DENIED = "permission_denied"
    UNAUTHENTICATED = "unauthenticated"
    NOT_FOUND = "not_found"
    # Amounts: exact decimals, positive, at most two places, within the column.
    INVALID_AMOUNT = "invalid_amount"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    TOO_MANY_DECIMALS = "too_many_decimals"
    AMOUNT_TOO_LARGE = "amount_too_large"
    WHOLE_NUMBER_REQUIRED = "whole_number_required"
    # Launching: who, where, which goals, until when.
    ORGANIZATION_INACTIVE = "organization_inactive"
    REGION_OUTSIDE_ORGANIZER = "region_outside_organizer"
    INVALID_GOAL_KIND = "invalid_goal_kind"
    GOALS_REQUIRED = "goals_required"
    TOO_MANY_GOALS = "too_many_goals"
    DUPLICATE_GOAL_LABEL = "duplicate_goal_label"
    ENDS_IN_PAST = "ends_in_past"
    # Life cycle: draft → open → closed, draft/open → cancelled.
    INVALID_STATUS_TRANSITION = "invalid_status_transition"
    GOALS_LOCKED = "goals_locked"
    REASON_REQUIRED = "reason_required"
    # Pledges.
    CAMPAIGN_NOT_OPEN = "campaign_not_open"
    CAMPAIGN_ENDED = "campaign_ended"
    GOAL_NOT_IN_CAMPAIGN = "goal_not_in_campaign"
    QUANTITY_MUST_BE_ONE = "quantity_must_be_one"
    ALREADY_PLEDGED = "already_pledged"
    ORGANIZATION_REQUIRED = "organization_required"
    NOT_CO_BUILDING_UNIT = "not_co_building_unit"
    CLIENT_KEY_REUSED = "client_key_reused"
    PLEDGE_NOT_ACTIVE = "pledge_not_active"
    ALREADY_CONFIRMED = "already_confirmed"
    # The ledger.
    INSUFFICIENT_FUNDS = "insufficient_funds"
    DATE_IN_FUTURE = "date_in_future"
    ALREADY_REVERSED = "already_reversed"
    CANNOT_REVERSE_REVERSAL = "cannot_reverse_reversal"
