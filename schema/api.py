"""The one place where the GraphQL schema is assembled."""

import graphene
from django.utils import translation
from graphql import assert_valid_schema

# graphene-django copies model help texts into field descriptions as plain strings, some when
# a type class is defined and some when the schema first builds its fields. Do both in English
# so that the schema never depends on the language active when it was first imported.
with translation.override("en"):
    from schema.accounts.mutations import AccountMutations
    from schema.accounts.queries import AccountQueries
    from schema.activities.mutations import ActivityMutations
    from schema.activities.queries import ActivityQueries
    from schema.activities.series import ActivitySeriesMutations
    from schema.attendance.mutations import AttendanceMutations
    from schema.attendance.queries import AttendanceQueries
    from schema.audit.queries import AuditQueries
    from schema.campaigns.mutations import CampaignMutations
    from schema.campaigns.queries import CampaignQueries
    from schema.certificates.mutations import CertificateMutations
    from schema.certificates.queries import CertificateQueries
    from schema.core.types import LinliNode
    from schema.deliberation.mutations import DeliberationMutations
    from schema.deliberation.queries import DeliberationQueries
    from schema.deliberation.voting_mutations import VotingMutations
    from schema.deliberation.voting_queries import VotingQueries
    from schema.enrollments.mutations import EnrollmentMutations
    from schema.enrollments.queries import EnrollmentQueries
    from schema.hours.mutations import HoursMutations
    from schema.hours.queries import HoursQueries
    from schema.matching.invitation_queries import InvitationQueries
    from schema.matching.mutations import MatchingMutations
    from schema.matching.planning import PlanningMutations
    from schema.matching.planning_queries import PlanningQueries
    from schema.matching.queries import MatchingQueries
    from schema.notifications.mutations import NotificationMutations
    from schema.notifications.queries import NotificationQueries
    from schema.organizations.mutations import OrganizationMutations
    from schema.organizations.queries import OrganizationQueries
    from schema.realtime.subscriptions import Subscription
    from schema.regions.queries import RegionQueries
    from schema.residents.mutations import ResidentMutations
    from schema.residents.queries import ResidentQueries
    from schema.servicepoints.mutations import ServicePointMutations
    from schema.servicepoints.queries import ServicePointQueries
    from schema.statistics.queries import StatisticsQueries
    from schema.volunteers.mutations import VolunteerMutations
    from schema.volunteers.queries import VolunteerQueries

    class Query(
        AccountQueries,
        NotificationQueries,
        MatchingQueries,
        InvitationQueries,
        PlanningQueries,
        AuditQueries,
        EnrollmentQueries,
        AttendanceQueries,
        HoursQueries,
        VolunteerQueries,
        ServicePointQueries,
        ActivityQueries,
        RegionQueries,
        OrganizationQueries,
        ResidentQueries,
        DeliberationQueries,
        VotingQueries,
        CampaignQueries,
        StatisticsQueries,
        CertificateQueries,
        graphene.ObjectType,
    ):
        node = LinliNode.Field()

    class Mutation(
        AccountMutations,
        NotificationMutations,
        MatchingMutations,
        PlanningMutations,
        VolunteerMutations,
        EnrollmentMutations,
        AttendanceMutations,
        HoursMutations,
        ActivityMutations,
        ActivitySeriesMutations,
        ServicePointMutations,
        OrganizationMutations,
        ResidentMutations,
        DeliberationMutations,
        VotingMutations,
        CampaignMutations,
        CertificateMutations,
        graphene.ObjectType,
    ):
        pass

    schema = graphene.Schema(query=Query, mutation=Mutation, subscription=Subscription)
    assert_valid_schema(schema.graphql_schema)
