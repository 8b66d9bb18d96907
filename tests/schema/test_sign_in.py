"""Signing in from the app: phone + SMS code, password for staff, tokens that rotate."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from backend.accounts.models import AuthSession, LoginCode, RefreshToken, User
from tests.fixtures import make_user

REQUEST_CODE = """
mutation Request($phone: String!) {
  requestLoginCode(phone: $phone) {
    phone expiresInSeconds retryAfterSeconds errors { field code message }
  }
}
"""
LOGIN_WITH_CODE = """
mutation Login($phone: String!, $code: String!) {
  loginWithCode(phone: $phone, code: $code) {
    accessToken refreshToken accessTokenExpiresAt refreshTokenExpiresAt isNewUser
    retryAfterSeconds
    me { id phone volunteer { id } }
    errors { field code message }
  }
}
"""
LOGIN_WITH_PASSWORD = """
mutation Login($login: String!, $password: String!) {
  loginWithPassword(login: $login, password: $password) {
    accessToken refreshToken me { username isStaff } errors { field code }
  }
}
"""
REFRESH = """
mutation Refresh($token: String!) {
  refreshToken(refreshToken: $token) { accessToken refreshToken errors { field code } }
}
"""
CHANGE_PASSWORD = """
mutation Change($old: String, $new: String!) {
  changePassword(oldPassword: $old, newPassword: $new) {
    accessToken refreshToken errors { field code }
  }
}
"""
ME = "{ me { phone } }"
PHONE = "138 1234 5678"
E164 = "+8613812345678"


@pytest.fixture
def ask_code(gql, django_capture_on_commit_callbacks):
    """requestLoginCode, with the SMS sent as it is after a real commit."""

    def ask(phone=PHONE, client=None):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or gql).mutate(REQUEST_CODE, {"phone": phone})

    return ask


def code_from(outbox) -> str:
    return re.search(r"\b(\d{6})\b", outbox[-1].text).group(1)


def sign_in(gql, ask_code, outbox, phone=PHONE):
    assert ask_code(phone)["errors"] == []
    return gql.mutate(LOGIN_WITH_CODE, {"phone": phone, "code": code_from(outbox)})


@pytest.mark.django_db
def test_a_new_phone_number_signs_in_and_gets_an_account(gql, sms_outbox, ask_code):
    sent = ask_code(PHONE)

    assert sent == {"phone": E164, "expiresInSeconds": 300, "retryAfterSeconds": None, "errors": []}
    assert sms_outbox[-1].phone == E164
    signed_in = gql.mutate(
        LOGIN_WITH_CODE, {"phone": "+86 138-1234-5678", "code": code_from(sms_outbox)}
    )

    assert signed_in["errors"] == []
    assert signed_in["isNewUser"] is True
    assert signed_in["me"]["phone"] == E164
    assert gql.with_token(signed_in["accessToken"]).data(ME) == {"me": {"phone": E164}}
    assert User.objects.get(phone=E164).has_usable_password() is False
    assert LoginCode.objects.get().code_hash != code_from(sms_outbox)  # stored hashed


@pytest.mark.django_db
def test_the_second_sign_in_finds_the_same_account(gql, sms_outbox, ask_code, settings):
    settings.LOGIN_CODE_RATE_PER_PHONE = "10/60"
    first = sign_in(gql, ask_code, sms_outbox)
    second = sign_in(gql, ask_code, sms_outbox)

    assert second["isNewUser"] is False
    assert second["me"]["id"] == first["me"]["id"]
    assert AuthSession.objects.filter(ended_at__isnull=True).count() == 2  # two devices


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["12345", "+86 138 1234", "not a number", ""])
def test_invalid_phone_numbers_are_refused_and_nothing_is_sent(gql, sms_outbox, phone, ask_code):
    errors = ask_code(phone)["errors"]

    assert [(e["field"], e["code"]) for e in errors] == [("phone", "INVALID_PHONE")]
    assert sms_outbox == []
    assert not LoginCode.objects.exists()


@pytest.mark.django_db
def test_a_wrong_code_is_refused_and_counted(gql, sms_outbox, ask_code):
    ask_code(PHONE)
    wrong = "000000" if code_from(sms_outbox) != "000000" else "111111"

    errors = gql.mutate(LOGIN_WITH_CODE, {"phone": PHONE, "code": wrong})["errors"]

    assert [(e["field"], e["code"]) for e in errors] == [("code", "INVALID_CODE")]
    assert LoginCode.objects.get().failed_attempts == 1
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_code_dies_after_five_wrong_tries_even_the_right_one_then(gql, sms_outbox, ask_code):
    ask_code(PHONE)
    right = code_from(sms_outbox)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        gql.mutate(LOGIN_WITH_CODE, {"phone": PHONE, "code": wrong})

    errors = gql.mutate(LOGIN_WITH_CODE, {"phone": PHONE, "code": right})["errors"]

    assert [e["code"] for e in errors] == ["CODE_EXPIRED"]


@pytest.mark.django_db
def test_an_expired_code_is_refused(gql, sms_outbox, ask_code):
    ask_code(PHONE)
    LoginCode.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    errors = gql.mutate(LOGIN_WITH_CODE, {"phone": PHONE, "code": code_from(sms_outbox)})["errors"]

    assert [e["code"] for e in errors] == ["CODE_EXPIRED"]


@pytest.mark.django_db
def test_only_the_newest_code_works_and_each_works_once(gql, sms_outbox, settings, ask_code):
    settings.LOGIN_CODE_RATE_PER_PHONE = "10/60"
    ask_code(PHONE)
    first = code_from(sms_outbox)
    ask_code(PHONE)
    second = code_from(sms_outbox)

    if first != second:
        stale = gql.mutate(LOGIN_WITH_CODE, {"phone": PHONE, "code": first})["errors"]
        assert [e["code"] for e in stale] in (["CODE_EXPIRED"], ["INVALID_CODE"])
    assert gql.mutate(LOGIN_WITH_CODE, {"phone": PHONE, "code": second})["errors"] == []
    again = gql.mutate(LOGIN_WITH_CODE, {"phone": PHONE, "code": second})["errors"]
    assert [e["code"] for e in again] == ["INVALID_CODE"]


@pytest.mark.django_db
def test_code_requests_are_rate_limited_per_phone_with_a_retry_time(gql, sms_outbox, ask_code):
    assert ask_code(PHONE)["errors"] == []

    again = ask_code(PHONE)

    assert [e["code"] for e in again["errors"]] == ["RATE_LIMITED"]
    assert 0 < again["retryAfterSeconds"] <= 61
    assert len(sms_outbox) == 1
    assert LoginCode.objects.count() == 1


@pytest.mark.django_db
def test_code_requests_are_rate_limited_per_client_address(gql, sms_outbox, settings, ask_code):
    settings.LOGIN_CODE_RATE_PER_IP = "3/3600"
    phones = [f"139 0000 000{n}" for n in range(4)]

    answers = [ask_code(phone) for phone in phones]

    assert [bool(answer["errors"]) for answer in answers] == [False, False, False, True]
    assert answers[-1]["errors"][0]["code"] == "RATE_LIMITED"
    assert len(sms_outbox) == 3


@pytest.mark.django_db
def test_repeated_wrong_codes_lock_the_number_out(gql, sms_outbox, settings, ask_code):
    settings.LOGIN_CODE_RATE_PER_PHONE = "100/60"
    settings.LOGIN_RATE_PER_IP = "100/60"
    for _ in range(2):  # two codes, five wrong tries each: ten failures
        ask_code(PHONE)
        wrong = "000000" if code_from(sms_outbox) != "000000" else "111111"
        for _ in range(5):
            gql.mutate(LOGIN_WITH_CODE, {"phone": PHONE, "code": wrong})

    refused = ask_code(PHONE)

    assert [e["code"] for e in refused["errors"]] == ["LOCKED_OUT"]
    assert refused["retryAfterSeconds"] > 0
    assert len(sms_outbox) == 2


@pytest.fixture
def staff(db):
    user = make_user("secretary", superuser=False)
    user.is_staff = True
    user.set_password("correct horse battery staple")
    user.save()
    return user


def test_staff_sign_in_with_a_password(gql, staff):
    signed_in = gql.mutate(
        LOGIN_WITH_PASSWORD, {"login": "secretary", "password": "correct horse battery staple"}
    )

    assert signed_in["errors"] == []
    assert signed_in["me"] == {"username": "secretary", "isStaff": True}


def test_a_wrong_password_says_nothing_about_which_part_was_wrong(gql, staff):
    wrong_password = gql.mutate(LOGIN_WITH_PASSWORD, {"login": "secretary", "password": "x"})
    unknown_user = gql.mutate(LOGIN_WITH_PASSWORD, {"login": "nobody", "password": "x"})

    assert (
        wrong_password["errors"]
        == unknown_user["errors"]
        == [{"field": "login", "code": "INVALID_CREDENTIALS"}]
    )
    assert not AuthSession.objects.exists()


@pytest.mark.django_db
def test_refresh_rotates_and_a_spent_token_coming_back_ends_the_whole_session(
    gql, sms_outbox, monkeypatch, ask_code
):
    signed_in = sign_in(gql, ask_code, sms_outbox)
    first_refresh = signed_in["refreshToken"]

    rotated = gql.mutate(REFRESH, {"token": first_refresh})
    assert rotated["errors"] == []
    assert rotated["refreshToken"] != first_refresh
    # Later than the leeway for lost answers, the old token comes back: it was copied.
    RefreshToken.objects.filter(used_at__isnull=False).update(
        used_at=timezone.now() - dt.timedelta(minutes=5)
    )

    reused = gql.mutate(REFRESH, {"token": first_refresh})

    assert reused["errors"] == [{"field": "refreshToken", "code": "TOKEN_REUSED"}]
    assert AuthSession.objects.get().end_reason == "token_reused"
    newest = gql.mutate(REFRESH, {"token": rotated["refreshToken"]})
    assert newest["errors"] == [{"field": "refreshToken", "code": "SESSION_ENDED"}]
    assert (
        gql.with_token(rotated["accessToken"]).post(ME)["errors"][0]["extensions"]["code"]
        == "SESSION_ENDED"
    )


@pytest.mark.django_db
def test_a_refresh_retried_at_once_after_a_lost_answer_still_works(gql, sms_outbox, ask_code):
    refresh = sign_in(gql, ask_code, sms_outbox)["refreshToken"]

    first = gql.mutate(REFRESH, {"token": refresh})
    retry = gql.mutate(REFRESH, {"token": refresh})

    assert first["errors"] == retry["errors"] == []
    assert AuthSession.objects.get().ended_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(("token", "code"), [("nonsense", "INVALID_TOKEN"), ("", "INVALID_TOKEN")])
def test_unknown_refresh_tokens_are_refused(gql, token, code):
    assert gql.mutate(REFRESH, {"token": token})["errors"] == [
        {"field": "refreshToken", "code": code}
    ]


@pytest.mark.django_db
def test_an_expired_refresh_token_is_refused(gql, sms_outbox, ask_code):
    refresh = sign_in(gql, ask_code, sms_outbox)["refreshToken"]
    RefreshToken.objects.update(expires_at=timezone.now())

    assert gql.mutate(REFRESH, {"token": refresh})["errors"] == [
        {"field": "refreshToken", "code": "TOKEN_EXPIRED"}
    ]


def test_changing_the_password_ends_every_other_sign_in(gql, staff):
    password = "correct horse battery staple"
    laptop = gql.mutate(LOGIN_WITH_PASSWORD, {"login": "secretary", "password": password})
    phone = gql.mutate(LOGIN_WITH_PASSWORD, {"login": "secretary", "password": password})

    changed = gql.with_token(phone["accessToken"]).mutate(
        CHANGE_PASSWORD, {"old": password, "new": "a much longer passphrase 42"}
    )

    assert changed["errors"] == []
    assert (
        gql.with_token(laptop["accessToken"]).post(ME)["errors"][0]["extensions"]["code"]
        == "SESSION_ENDED"
    )
    assert gql.mutate(REFRESH, {"token": laptop["refreshToken"]})["errors"][0]["code"] == (
        "SESSION_ENDED"
    )
    assert gql.with_token(changed["accessToken"]).data(ME)["me"] is not None


@pytest.mark.parametrize(
    ("old", "new", "field", "code"),
    [
        ("wrong", "a much longer passphrase 42", "oldPassword", "INVALID_CREDENTIALS"),
        ("correct horse battery staple", "12345678", "newPassword", "PASSWORD_TOO_WEAK"),
    ],
)
def test_a_refused_password_change_changes_nothing(gql, staff, old, new, field, code):
    token = gql.mutate(
        LOGIN_WITH_PASSWORD, {"login": "secretary", "password": "correct horse battery staple"}
    )
    signed_in = gql.with_token(token["accessToken"])

    errors = signed_in.mutate(CHANGE_PASSWORD, {"old": old, "new": new})["errors"]

    assert {(e["field"], e["code"]) for e in errors} == {(field, code)}
    staff.refresh_from_db()
    assert staff.check_password("correct horse battery staple")
    assert signed_in.data(ME)["me"] is not None
