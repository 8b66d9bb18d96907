"""Production settings: ``check --deploy`` has nothing to warn about; HTTPS is enforced
(behind a TLS-terminating load balancer) except for the probes; static files are served
with their hashed names and cached for good; hosts must be named."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.fixtures import PRODUCTION_HOST, ROOT, production_environment, run_python

# The key of the embedded default (backend/settings.py): long enough for check --deploy.
DEVELOPMENT_KEY = "linli-development-only-not-a-secret-never-use-in-production-0123456789"


def test_check_deploy_finds_nothing_to_warn_about(tmp_path):
    result = subprocess.run(
        [Path(sys.executable).parent / "linli", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


SERVE = """
import json
import os
import django
django.setup()
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import Client

call_command("collectstatic", interactive=False, verbosity=0)
client = Client()
host = {"HTTP_HOST": os.environ["ALLOWED_HOSTS"]}
css_url = staticfiles_storage.url("admin/css/base.css")
css = client.get(css_url, secure=True, **host)
api_over_http = client.get("/admin/login/", **host)
api_behind_tls = client.post(
    "/graphql/", {"query": "{ __typename }"}, content_type="application/json",
    HTTP_X_FORWARDED_PROTO="https", **host,
)
probe = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
print(json.dumps({
    "css_url": css_url,
    "css": [css.status_code, css.get("Cache-Control"), css.get("Strict-Transport-Security")],
    "api_over_http": [api_over_http.status_code, api_over_http.get("Location")],
    "api_behind_tls": [api_behind_tls.status_code, api_behind_tls.json()],
    "probe": [probe.status_code, probe.json()],
}))
"""


def test_production_serves_hashed_static_files_redirects_to_https_and_answers_probes(tmp_path):
    # given a production process whose static files were collected
    # when it is asked for a static file, for the API over HTTP and behind TLS, and by a probe
    result = run_python(SERVE, production_environment(tmp_path))

    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    # then the file has a hashed name, is cached for good and carries HSTS
    assert seen["css_url"].startswith("/static/admin/css/base.")
    assert seen["css_url"] != "/static/admin/css/base.css"
    assert seen["css"] == [
        200,
        "max-age=315360000, public, immutable",
        "max-age=31536000; includeSubDomains; preload",
    ]
    # plain HTTP is sent to HTTPS; what the load balancer says came over TLS is served
    assert seen["api_over_http"] == [301, f"https://{PRODUCTION_HOST}/admin/login/"]
    assert seen["api_behind_tls"] == [200, {"data": {"__typename": "Query"}}]
    # the probe is answered over plain HTTP, by the pod's address
    assert seen["probe"] == [200, {"status": "ok"}]


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({"ALLOWED_HOSTS": f"{PRODUCTION_HOST},*"}, "ALLOWED_HOSTS"),
        ({"SECRET_KEY": DEVELOPMENT_KEY}, "SECRET_KEY"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
    ids=["any-host", "any-host-among-others", "development-key", "unknown-log-format"],
)
def test_production_refuses_to_start_with_unsafe_settings(tmp_path, variables, named):
    result = run_python(
        "import django; django.setup()", production_environment(tmp_path, **variables)
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr


def test_hsts_and_the_https_redirect_can_be_turned_off(tmp_path):
    # (for a first deployment that tries HTTPS out, or TLS handled by something else)
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    )
    environment = production_environment(
        tmp_path, SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0"
    )

    result = run_python(code, environment)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "0"]
