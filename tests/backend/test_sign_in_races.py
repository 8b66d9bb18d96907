"""Sign-in under concurrency, on PostgreSQL (row locks are what is being tested)."""

import re
import threading

import pytest
from django.db import connection

from backend.accounts import services
from backend.accounts.models import AuthSession, User
from backend.accounts.sms import RecordingSmsBackend

PHONE = "+8613912345678"


def run_together(count, work):
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        try:
            barrier.wait()
            results[index] = work()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_code_sent_twice_at_once_signs_in_once_and_makes_one_account(
    django_capture_on_commit_callbacks,
):
    services.request_login_code(PHONE)
    code = re.search(r"\d{6}", RecordingSmsBackend.outbox[-1].text).group(0)

    results = run_together(4, lambda: services.login_with_code(PHONE, code))

    signed_in = [r for r in results if isinstance(r, services.SignedIn)]
    refused = [r for r in results if not isinstance(r, services.SignedIn)]
    assert len(signed_in) == 1, results
    assert [error.error_dict["code"][0].code for error in refused] == ["invalid_code"] * 3
    assert User.objects.filter(phone=PHONE).count() == 1
    assert AuthSession.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_refresh_token_used_by_many_at_once_never_forks_a_second_family():
    user = User.objects.create(username="racer", phone=PHONE)
    pair = services.tokens.start_session(user)

    results = run_together(4, lambda: services.tokens.rotate(pair.refresh_token))

    # Within the leeway for retries every caller gets a pair — all in the same session.
    sessions = {r.session.pk for r in results if not isinstance(r, Exception)}
    assert sessions == {pair.session.pk}
    assert AuthSession.objects.count() == 1
