from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from backend.accounts import services, tokens
from backend.accounts.error_codes import AccountErrorCode
from backend.accounts.models import SessionEndReason
from backend.accounts.services import RateLimited
from schema.accounts.types import AuthPayloadFields
from schema.core.mutations import BaseMutation
from schema.core.scope import current_user


class AccountMutation(BaseMutation):
    class Meta:
        abstract = True

    @staticmethod
    def client(info: GraphQLResolveInfo) -> tuple[str | None, str]:
        request = info.context
        return request.META.get("REMOTE_ADDR"), request.headers.get("User-Agent", "")

    @classmethod
    def signed_in(cls, pair: tokens.TokenPair, **extra: Any) -> Any:
        return cls(
            access_token=pair.access_token,
            access_token_expires_at=pair.access_expires_at,
            refresh_token=pair.refresh_token,
            refresh_token_expires_at=pair.refresh_expires_at,
            me=pair.session.user,
            errors=[],
            **extra,
        )


class RequestLoginCode(AccountMutation):
    """Send a 6-digit sign-in code by SMS. The answer is the same for known and unknown
    numbers."""

    phone = graphene.String(description="The number the code was sent to, in E.164.")
    expires_in_seconds = graphene.Int()
    retry_after_seconds = graphene.Int(description="When refused for now: wait this long.")

    class Arguments:
        phone = graphene.String(required=True)

    class Meta:
        error_codes = AccountErrorCode
        error_type_name = "AccountError"
        login_required = False

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, phone: str) -> Any:
        ip_address, _agent = cls.client(info)
        try:
            sent = services.request_login_code(phone, ip_address)
        except RateLimited as limited:
            return cls(errors=cls._errors_of(limited), retry_after_seconds=limited.retry_after)
        return cls(phone=sent.phone, expires_in_seconds=sent.expires_in_seconds, errors=[])


class LoginWithCode(AuthPayloadFields, AccountMutation):
    """Sign in with the code from the SMS; the account is created on first sign-in."""

    is_new_user = graphene.Boolean()
    retry_after_seconds = graphene.Int()

    class Arguments:
        phone = graphene.String(required=True)
        code = graphene.String(required=True)

    class Meta:
        error_codes = AccountErrorCode
        error_type_name = "AccountError"
        login_required = False

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, phone: str, code: str) -> Any:
        ip_address, agent = cls.client(info)
        try:
            result = services.login_with_code(phone, code, ip_address, agent)
        except RateLimited as limited:
            return cls(errors=cls._errors_of(limited), retry_after_seconds=limited.retry_after)
        return cls.signed_in(result.tokens, is_new_user=result.is_new_user)


class LoginWithPassword(AuthPayloadFields, AccountMutation):
    """Sign in with a username (or phone number) and password — staff and coordinators."""

    retry_after_seconds = graphene.Int()

    class Arguments:
        login = graphene.String(required=True)
        password = graphene.String(required=True)

    class Meta:
        error_codes = AccountErrorCode
        error_type_name = "AccountError"
        login_required = False

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, login: str, password: str
    ) -> Any:
        ip_address, agent = cls.client(info)
        try:
            result = services.login_with_password(login, password, ip_address, agent)
        except RateLimited as limited:
            return cls(errors=cls._errors_of(limited), retry_after_seconds=limited.retry_after)
        return cls.signed_in(result.tokens)


class RefreshToken(AuthPayloadFields, AccountMutation):
    """Trade a refresh token for a new pair. Each refresh token works once."""

    class Arguments:
        refresh_token = graphene.String(required=True)

    class Meta:
        error_codes = AccountErrorCode
        error_type_name = "AccountError"
        login_required = False

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, refresh_token: str) -> Any:
        return cls.signed_in(tokens.rotate(refresh_token))


class Logout(AccountMutation):
    """End this sign-in: its refresh token and access tokens stop working at once."""

    class Meta:
        error_codes = AccountErrorCode
        error_type_name = "AccountError"

    @classmethod
    def perform_mutation(cls, root: Any, info: GraphQLResolveInfo, **data: Any) -> Any:
        tokens.end_session(info.context.api_session_id, SessionEndReason.LOGOUT)
        return cls(errors=[])


class ChangePassword(AuthPayloadFields, AccountMutation):
    """Set a new password. Every sign-in of the account ends; this device gets new tokens."""

    class Arguments:
        old_password = graphene.String(description="Required when a password is set.")
        new_password = graphene.String(required=True)

    class Meta:
        error_codes = AccountErrorCode
        error_type_name = "AccountError"

    @classmethod
    def perform_mutation(
        cls, root: Any, info: GraphQLResolveInfo, new_password: str, old_password: str = ""
    ) -> Any:
        ip_address, agent = cls.client(info)
        pair = services.change_password(
            current_user(info), old_password or "", new_password, ip_address, agent
        )
        return cls.signed_in(pair)


class AccountMutations(graphene.ObjectType):
    request_login_code = RequestLoginCode.Field()
    login_with_code = LoginWithCode.Field()
    login_with_password = LoginWithPassword.Field()
    refresh_token = RefreshToken.Field()
    logout = Logout.Field()
    change_password = ChangePassword.Field()
