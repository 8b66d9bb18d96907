"""Bearer tokens on the API: who is calling, and clear answers when the token is bad."""

import datetime as dt

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from backend.accounts.models import AuthSession
from tests.fixtures import make_volunteer, sign_in

LOGOUT = "mutation { logout { errors { field code message } } }"
CATEGORIES = "{ serviceCategories { code } }"


@pytest.fixture
def volunteer(db):
    return make_volunteer("auth-volunteer")


def test_logout_ends_the_session_and_its_access_token_stops_working_at_once(gql, volunteer):
    signed_in = gql.with_token(sign_in(volunteer))

    assert signed_in.mutate(LOGOUT) == {"errors": []}

    assert AuthSession.objects.get().end_reason == "logout"
    assert signed_in.post(CATEGORIES)["errors"][0]["extensions"]["code"] == "SESSION_ENDED"


def test_mutations_that_need_a_user_say_so_to_anonymous_callers(gql):
    [error] = gql.mutate(LOGOUT)["errors"]

    assert (error["field"], error["code"]) == (None, "UNAUTHENTICATED")
    assert error["message"]


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer not-a-jwt", "INVALID_TOKEN"),
        ("Token abc", "INVALID_TOKEN"),
        ("Bearer ", "INVALID_TOKEN"),
    ],
)
def test_a_bad_authorization_header_is_a_401_with_a_code(client, db, header, code):
    response = client.post(
        "/graphql/",
        {"query": CATEGORIES},
        content_type="application/json",
        HTTP_HOST="localhost",
        HTTP_AUTHORIZATION=header,
    )

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == code


def test_an_expired_access_token_asks_for_a_refresh(gql, volunteer):
    session = AuthSession.objects.create(user=volunteer)
    past = timezone.now() - dt.timedelta(hours=1)
    expired = jwt.encode(
        {
            "sub": str(volunteer.pk),
            "sid": str(session.pk),
            "typ": "access",
            "iat": int(past.timestamp()),
            "exp": int((past + dt.timedelta(minutes=15)).timestamp()),
        },
        settings.ACCESS_TOKEN_SIGNING_KEY,
        algorithm="HS256",
    )

    content = gql.with_token(expired).post(CATEGORIES)

    assert content["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"


def test_a_token_signed_with_another_key_is_refused(gql, volunteer):
    session = AuthSession.objects.create(user=volunteer)
    forged = jwt.encode(
        {
            "sub": str(volunteer.pk),
            "sid": str(session.pk),
            "typ": "access",
            "exp": int((timezone.now() + dt.timedelta(minutes=5)).timestamp()),
        },
        "not-the-signing-key-of-this-service-at-all",
        algorithm="HS256",
    )

    assert gql.with_token(forged).post(CATEGORIES)["errors"][0]["extensions"]["code"] == (
        "INVALID_TOKEN"
    )


def test_a_valid_token_reads_like_anyone_else(gql, volunteer):
    assert len(gql.with_token(sign_in(volunteer)).data(CATEGORIES)["serviceCategories"]) == 18
