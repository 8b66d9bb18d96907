"""The deployment files run the processes this project has, on the image it builds.

deploy/compose.yaml and every manifest under deploy/k8s/ are read as YAML and held against
the code: the image deploy/Dockerfile builds, the ports daphne and the workers bind, the
probes of backend/ops, one worker per queue of backend/queues.py, exactly one beat, the
migrations before the rest, and only environment variables that backend/settings.py reads
and README.md documents. The settings accept every container's environment
(``check --deploy``), and ``docker-compose config`` accepts the compose file.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from django.conf import settings

from backend.queues import Queue

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE_FILE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
NAMESPACE = "linli"

# Same pattern as tests/backend/test_configuration_documented.py: env.<cast>("NAME", …).
SETTINGS_READS = re.compile(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"')
# Read by a library, not by the settings: prometheus_client keys its multiprocess mode on it.
READ_BY_LIBRARIES = {"PROMETHEUS_MULTIPROC_DIR"}
# The interpreter's own, set by the Dockerfile.
INTERPRETER_VARIABLES = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}

# Images the compose file may run besides the one it builds, each at a pinned version.
THIRD_PARTY_IMAGES = {"postgres", "redis", "nginx", "mher/flower"}
PINNED_TAG = re.compile(r"^\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$")

# What an operator puts in deploy/.env (the variables compose requires).
COMPOSE_GIVEN = {
    "SECRET_KEY": "deploy-test-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ",
    "POSTGRES_PASSWORD": "0123456789abcdef",
    "ALLOWED_HOSTS": "linli.example.org",
}
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")

K8S_API_VERSIONS = {
    "Namespace": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
}


# --- What the code reads ----------------------------------------------------------------------


@cache
def names_read_by_settings() -> frozenset[str]:
    names = set(SETTINGS_READS.findall((ROOT / "backend" / "settings.py").read_text()))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= names  # the pattern still finds them
    return frozenset(names)


def unknown_variables(names: set[str]) -> list[str]:
    return sorted(names - names_read_by_settings() - READ_BY_LIBRARIES)


def undocumented_variables(names: set[str]) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return sorted(name for name in names if f"`{name}`" not in readme)


# --- Dockerfile ---------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]]

    def arguments(self, keyword: str) -> list[str]:
        return [arguments for word, arguments in self.instructions if word == keyword]


@cache
def dockerfile_stages() -> list[Stage]:
    lines = re.sub(r"\\\n", " ", DOCKERFILE.read_text()).splitlines()
    defaults: dict[str, str] = {}
    stages: list[Stage] = []
    for line in (line.strip() for line in lines):
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "ARG" and not stages:
            name, _, default = arguments.partition("=")
            defaults[name] = default
        elif keyword == "FROM":
            words = arguments.split()
            base = re.sub(r"\$\{(\w+)\}", lambda match: defaults[match.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            stages.append(Stage(base, name, []))
        else:
            stages[-1].instructions.append((keyword, arguments))
    return stages


def image_user() -> str:
    return dockerfile_stages()[-1].arguments("USER")[-1].split(":")[0]


@cache
def image_environment() -> dict[str, str]:
    variables: dict[str, str] = {}
    for arguments in dockerfile_stages()[-1].arguments("ENV"):
        for word in shlex.split(arguments):
            name, _, value = word.partition("=")
            variables[name] = value
    return variables


def image_command() -> list[str]:
    return json.loads(dockerfile_stages()[-1].arguments("CMD")[-1])


def in_build_context(path: str) -> bool:
    """Whether .dockerignore lets ``path`` into the build context: the last pattern that
    matches the path or one of its folders decides, as in Docker."""
    included = True
    candidates = [path, *(str(parent) for parent in PurePosixPath(path).parents)]
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        if any(fnmatch(candidate, pattern) for candidate in candidates if candidate != "."):
            included = negated
    return included


# --- Commands -----------------------------------------------------------------------------------


def process_kind(argv: list[str]) -> str:
    """api, worker, beat, migrate, or other."""
    if argv[:1] == ["daphne"]:
        return "api"
    if argv[:3] == ["celery", "--app", "backend"] and len(argv) > 3:
        return argv[3]
    if argv[:2] == ["linli", "migrate"]:
        return "migrate"
    return "other"


def option(argv: list[str], *names: str) -> str | None:
    for position, word in enumerate(argv):
        for name in names:
            if word == name and position + 1 < len(argv):
                return argv[position + 1]
            if name.startswith("--") and word.startswith(f"{name}="):
                return word.split("=", 1)[1]
    return None


def bound_port(argv: list[str]) -> int:
    """The port daphne listens on."""
    port = option(argv, "--port", "-p")
    assert port is not None, argv
    return int(port)


def worker_queues(argv: list[str]) -> list[str]:
    queues = option(argv, "--queues", "-Q")
    assert queues is not None, f"a worker without --queues consumes only the default: {argv}"
    return queues.split(",")


# --- Compose ------------------------------------------------------------------------------------


def interpolate(value: Any, given: dict[str, str]) -> Any:
    """Compose's variable substitution, with ``given`` values or the defaults."""
    if isinstance(value, dict):
        return {key: interpolate(item, given) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, given) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, kind, default = match.groups()
        if name in given:
            return given[name]
        assert kind == "-", f"${{{name}}} has no default and no value"
        return default

    return INTERPOLATION.sub(substitute, value).replace("$$", "$")


@cache
def compose_services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    return interpolate(document, COMPOSE_GIVEN)["services"]


@cache
def built_image() -> str:
    images = {service["image"] for service in compose_services().values() if "build" in service}
    assert len(images) == 1, f"one image is built, under one name: {images}"
    return images.pop()


def compose_linli_services() -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose_services().items()
        if service.get("image") == built_image()
    }


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {name: str(value) for name, value in environment.items()}


def compose_by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose_linli_services().items()
        if process_kind(service["command"]) == kind
    }


def compose_variables() -> set[str]:
    return {match.group(1) for match in INTERPOLATION.finditer(COMPOSE_FILE.read_text())}


# --- Kubernetes ---------------------------------------------------------------------------------


@cache
def k8s_documents() -> dict[str, list[dict[str, Any]]]:
    return {
        path.name: [document for document in yaml.safe_load_all(path.read_text()) if document]
        for path in sorted(K8S.glob("*.yaml"))
    }


def k8s_objects(kind: str | None = None) -> list[dict[str, Any]]:
    return [
        document
        for documents in k8s_documents().values()
        for document in documents
        if document["kind"] != "Kustomization" and kind in (None, document["kind"])
    ]


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    found = [item for item in k8s_objects(kind) if item["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def workloads() -> list[dict[str, Any]]:
    return k8s_objects("Deployment") + k8s_objects("Job")


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return pod_spec(workload)["containers"]


def argv(container: dict[str, Any]) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def k8s_by_kind(kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (workload, container)
        for workload in workloads()
        for container in containers(workload)
        if process_kind(argv(container)) == kind
    ]


def secret_values(name: str) -> dict[str, str]:
    secret = k8s_object("Secret", name)
    return {**secret.get("data", {}), **secret.get("stringData", {})}


def k8s_environment(container: dict[str, Any]) -> dict[str, str]:
    """What the container's process sees: the image's variables, then the ConfigMaps and
    Secrets of ``envFrom``, then ``env``."""
    environment = dict(image_environment())
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            environment |= k8s_object("ConfigMap", source["configMapRef"]["name"])["data"]
        else:
            environment |= secret_values(source["secretRef"]["name"])
    for variable in container.get("env", []):
        reference = variable.get("valueFrom", {})
        if "configMapKeyRef" in reference:
            key = reference["configMapKeyRef"]
            value = k8s_object("ConfigMap", key["name"])["data"][key["key"]]
        elif "secretKeyRef" in reference:
            key = reference["secretKeyRef"]
            value = secret_values(key["name"])[key["key"]]
        else:
            value = variable["value"]
        environment[variable["name"]] = value
    return environment


def named_port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    numbers = [item["containerPort"] for item in container["ports"] if item.get("name") == port]
    assert numbers, f"no port named {port!r} in {container['name']}"
    return numbers[0]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


# === The image ================================================================================


def test_the_image_is_built_in_stages_and_runs_as_an_unprivileged_user():
    stages = dockerfile_stages()
    builder, runtime = stages[0], stages[-1]

    assert len(stages) >= 2
    assert builder.name, "the build stage has a name to copy from"
    assert image_user() not in ("", "root", "0")
    # Only what runs reaches the final stage: copied from the builder, nothing installed.
    copies = runtime.arguments("COPY")
    assert copies
    assert all(copy.startswith(f"--from={builder.name} ") for copy in copies)
    for command in runtime.arguments("RUN"):
        assert not re.search(r"\b(pip|apt-get|apt|gcc)\b", command), command
    # The builder makes wheels, compiles the translations and collects the static files.
    built = " ".join(builder.arguments("RUN"))
    assert "pip wheel" in built
    assert "linli compilemessages" in built
    assert "linli collectstatic --no-input" in built


def test_the_image_runs_the_python_the_project_requires():
    requires = re.search(r'requires-python = ">=(\d+\.\d+)', (ROOT / "pyproject.toml").read_text())
    assert requires is not None

    for stage in dockerfile_stages():
        assert re.fullmatch(rf"python:{re.escape(requires.group(1))}-slim(-\w+)?", stage.base)


def test_the_image_serves_the_api_on_the_port_it_exposes():
    command = image_command()

    assert process_kind(command) == "api"
    assert dockerfile_stages()[-1].arguments("EXPOSE") == [str(bound_port(command))]
    assert option(command, "--bind", "-b") == "0.0.0.0"


def test_the_image_sets_only_variables_the_settings_read_and_the_readme_documents():
    names = set(image_environment()) - INTERPRETER_VARIABLES

    assert "LINLI_ENV" in names
    assert image_environment()["LINLI_ENV"] == "production"
    assert unknown_variables(names) == []
    assert undocumented_variables(names) == []


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "README.md",
        "backend/settings.py",
        "backend/locale/zh_Hans/LC_MESSAGES/django.po",
        "schema/schema.graphql",
        "notifications/transports.py",
    ],
)
def test_the_build_context_holds_the_project(path):
    assert (ROOT / path).exists()
    assert in_build_context(path)


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "var/linli.sqlite3",
        "var/stub-key.json",
        "tests/conftest.py",
        "bench/load_api.py",
        "deploy/.env",
        "deploy/secrets/fcm-service-account.json",
        "deploy/tls/privkey.pem",
        "backend/__pycache__/settings.cpython-311.pyc",
        "backend/locale/zh_Hans/LC_MESSAGES/django.mo",
    ],
)
def test_the_build_context_leaves_out_local_state_and_secrets(path):
    assert not in_build_context(path)


def test_everything_the_dockerfile_copies_is_in_the_build_context():
    sources = [
        source
        for stage in dockerfile_stages()
        for copy in stage.arguments("COPY")
        if not copy.startswith("--from=")
        for source in copy.split()[:-1]
    ]

    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert in_build_context(source), source


# === Compose ==================================================================================


def test_compose_builds_the_image_from_the_repository_root():
    for service in compose_services().values():
        if "build" in service:
            assert (COMPOSE_FILE.parent / service["build"]["context"]).resolve() == ROOT
            assert service["build"]["dockerfile"] == str(DOCKERFILE.relative_to(ROOT))


def test_compose_runs_the_built_image_or_pinned_official_ones():
    for name, service in compose_services().items():
        image = service["image"]
        if image == built_image():
            continue
        repository, _, tag = image.rpartition(":")
        assert repository in THIRD_PARTY_IMAGES, f"{name}: {image}"
        assert PINNED_TAG.match(tag), f"{name}: {image} is not pinned to a version"


def test_compose_runs_one_worker_per_queue_and_exactly_one_beat():
    workers = compose_by_kind("worker")
    beats = compose_by_kind("beat")

    queues = [queue for service in workers.values() for queue in worker_queues(service["command"])]
    assert sorted(queues) == sorted(queue.value for queue in Queue)
    assert len(beats) == 1
    (beat,) = beats.values()
    assert beat.get("deploy", {}).get("replicas", 1) == 1
    for service in workers.values():
        assert not {"--beat", "-B"} & set(service["command"])


def test_compose_migrates_before_anything_else_of_the_image_starts():
    (migrate_name, migrate) = next(iter(compose_by_kind("migrate").items()))

    assert migrate["command"] == ["linli", "migrate", "--no-input"]
    assert migrate["restart"] == "no"
    for name, service in compose_linli_services().items():
        if name != migrate_name:
            condition = service["depends_on"][migrate_name]["condition"]
            assert condition == "service_completed_successfully", name


def test_compose_ports_are_those_the_processes_bind():
    services = compose_services()
    ((api_name, api),) = compose_by_kind("api").items()
    port = bound_port(api["command"])

    assert option(api["command"], "--bind", "-b") == "0.0.0.0"
    assert str(port) in api["expose"]
    assert "ports" not in api, "API processes are reached through the proxy only"
    # The health check asks the process's own readiness endpoint.
    check = " ".join(api["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/readyz" in check
    # The proxy balances over the API service on that port.
    proxy = " ".join(services["proxy"]["command"])
    assert re.findall(rf"server {api_name}:(\d+)", proxy) == [str(port)]
    # Workers serve their metrics on the port they expose.
    for name, service in compose_by_kind("worker").items():
        assert compose_environment(service)["METRICS_PORT"] in service["expose"], name
    # The URLs point at the services, on their images' ports.
    environment = compose_environment(api)
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")
    assert {"postgres", "redis"} <= set(services)


def test_compose_health_checks_of_workers_and_beat_ping_their_own_node():
    for name, service in compose_by_kind("worker").items():
        assert "ping --destination celery@$HOSTNAME" in service["healthcheck"]["test"][1], name
    for name, service in compose_by_kind("beat").items():
        assert "--enable-remote-control" in service["command"]
        assert "ping --destination celerybeat@$HOSTNAME" in service["healthcheck"]["test"][1], name


def test_compose_sets_only_variables_the_settings_read_and_the_readme_documents():
    for name, service in compose_linli_services().items():
        environment = compose_environment(service)

        assert environment["LINLI_ENV"] == "production", name
        assert set(settings.REQUIRED_IN_PRODUCTION) <= set(environment), name
        assert unknown_variables(set(environment)) == [], name
        assert undocumented_variables(set(environment)) == [], name


def test_compose_gives_the_fcm_key_to_the_push_worker_only():
    for name, service in compose_linli_services().items():
        sends_pushes = process_kind(service["command"]) == "worker" and worker_queues(
            service["command"]
        ) == [Queue.PUSH.value]
        secrets = service.get("secrets", [])
        assert bool(secrets) == sends_pushes, name
        if sends_pushes:
            assert (
                compose_environment(service)["FCM_CREDENTIALS_FILE"] == f"/run/secrets/{secrets[0]}"
            )


def test_every_compose_variable_is_explained_in_the_deploy_readme():
    readme = (DEPLOY / "README.md").read_text()

    assert {"SECRET_KEY", "POSTGRES_PASSWORD"} <= compose_variables()
    assert sorted(name for name in compose_variables() if f"`{name}`" not in readme) == []


def docker_compose() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("LINLI_REQUIRE_POSTGRES") == "1":
            pytest.fail("docker-compose is missing; CI validates deploy/compose.yaml with it")
        pytest.skip("docker-compose is not installed (Debian package docker-compose)")
    return binary


def docker_compose_config(
    variables: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    # An empty env file, so that a deploy/.env of this machine plays no part.
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    return subprocess.run(
        [
            docker_compose(),
            "--file",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            "config",
            "-q",
        ],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **variables},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_docker_compose_accepts_the_compose_file(tmp_path):
    result = docker_compose_config(COMPOSE_GIVEN, tmp_path)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(COMPOSE_GIVEN))
def test_docker_compose_refuses_to_start_without_a_required_setting(missing, tmp_path):
    variables = {name: value for name, value in COMPOSE_GIVEN.items() if name != missing}

    result = docker_compose_config(variables, tmp_path)

    assert result.returncode != 0
    assert f"set {missing} in deploy/.env" in result.stderr


# === Kubernetes ===============================================================================


def test_every_manifest_parses_into_a_known_kind_in_the_namespace():
    assert set(k8s_documents()) >= {"api.yaml", "workers.yaml", "beat.yaml", "migrate-job.yaml"}
    for file, documents in k8s_documents().items():
        assert documents, file
        for document in documents:
            assert K8S_API_VERSIONS[document["kind"]] == document["apiVersion"], file
            if document["kind"] == "Kustomization":
                assert document["namespace"] == NAMESPACE
            elif document["kind"] == "Namespace":
                assert document["metadata"]["name"] == NAMESPACE
            else:
                assert document["metadata"]["namespace"] == NAMESPACE, file


def test_the_kustomization_lists_every_manifest_but_the_job_and_the_secrets():
    (kustomization,) = k8s_documents()["kustomization.yaml"]
    kept_apart = {"kustomization.yaml", "migrate-job.yaml"} | {
        name for name in k8s_documents() if name.endswith(".example.yaml")
    }

    assert sorted(kustomization["resources"]) == sorted(set(k8s_documents()) - kept_apart)
    # Secrets are made from real values, never applied from a file of placeholders.
    for file in kustomization["resources"]:
        assert all(document["kind"] != "Secret" for document in k8s_documents()[file]), file


def test_k8s_runs_the_built_image_keeping_its_entrypoint():
    for workload in workloads():
        for container in containers(workload):
            assert container["image"] == built_image(), workload["metadata"]["name"]
            # `command` would replace the entrypoint (tini); the process goes in `args`.
            assert "command" not in container, workload["metadata"]["name"]


def test_k8s_pods_run_as_the_images_user_without_privileges():
    for workload in workloads():
        spec = pod_spec(workload)
        name = workload["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert str(spec["securityContext"]["runAsUser"]) == image_user(), name
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name


def test_k8s_selectors_match_the_pods_they_mean():
    for deployment in k8s_objects("Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels(deployment).items()
        others = [item for item in k8s_objects("Deployment") if item is not deployment]
        assert not any(selector.items() <= pod_labels(other).items() for other in others)
    ((api, _),) = k8s_by_kind("api")
    service = k8s_object("Service", api["metadata"]["name"])
    budget = k8s_object("PodDisruptionBudget", api["metadata"]["name"])
    assert service["spec"]["selector"].items() <= pod_labels(api).items()
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels(api).items()


def test_k8s_api_probes_and_ports_are_those_daphne_binds():
    ((api, container),) = k8s_by_kind("api")
    port = bound_port(argv(container))

    assert option(argv(container), "--bind", "-b") == "0.0.0.0"
    assert [item["containerPort"] for item in container["ports"]] == [port]
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert readiness["httpGet"]["path"] == "/readyz"
    assert liveness["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    for probe in (readiness, liveness, container["startupProbe"]):
        assert named_port(container, probe["httpGet"]["port"]) == port
    service = k8s_object("Service", api["metadata"]["name"])
    (service_port,) = service["spec"]["ports"]
    assert named_port(container, service_port["targetPort"]) == port
    assert service["spec"]["sessionAffinity"] == "None"
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"


def test_an_autoscaler_scales_the_api_and_owns_its_replica_count():
    ((api, _),) = k8s_by_kind("api")
    targets = [item["spec"]["scaleTargetRef"] for item in k8s_objects("HorizontalPodAutoscaler")]

    assert targets == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "name": api["metadata"]["name"]}
    ]
    assert "replicas" not in api["spec"], "kubectl apply would undo the autoscaler's count"


def test_k8s_runs_one_worker_deployment_per_queue():
    workers = k8s_by_kind("worker")

    queues = [queue for _, container in workers for queue in worker_queues(argv(container))]
    assert sorted(queues) == sorted(queue.value for queue in Queue)
    assert len({workload["metadata"]["name"] for workload, _ in workers}) == len(Queue)
    for workload, container in workers:
        name = workload["metadata"]["name"]
        assert not {"--beat", "-B"} & set(argv(container)), name
        ping = " ".join(container["livenessProbe"]["exec"]["command"])
        assert 'inspect ping --destination "celery@$HOSTNAME"' in ping, name
        # Metrics on the port the settings give, announced to Prometheus.
        port = int(k8s_environment(container)["METRICS_PORT"])
        assert [item["containerPort"] for item in container["ports"]] == [port], name
        annotations = workload["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(port), name
        assert annotations["prometheus.io/path"] == "/metrics", name
        # The multiprocess folder is a volume of the pod's own.
        folder = k8s_environment(container)["PROMETHEUS_MULTIPROC_DIR"]
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        volumes = {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}
        assert "emptyDir" in volumes[mounts[folder]], name


def test_k8s_runs_exactly_one_beat_never_two():
    beats = k8s_by_kind("beat")

    assert len(beats) == 1
    ((beat, container),) = beats
    assert beat["kind"] == "Deployment"
    assert beat["spec"]["replicas"] == 1
    # An update stops the old pod before starting the new one.
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert "--enable-remote-control" in argv(container)
    ping = " ".join(container["livenessProbe"]["exec"]["command"])
    assert 'inspect ping --destination "celerybeat@$HOSTNAME"' in ping
    targets = {
        item["spec"]["scaleTargetRef"]["name"] for item in k8s_objects("HorizontalPodAutoscaler")
    }
    assert beat["metadata"]["name"] not in targets


def test_the_migrations_job_runs_linli_migrate_once():
    jobs = k8s_by_kind("migrate")

    assert len(jobs) == 1
    ((job, container),) = jobs
    assert job["kind"] == "Job"
    assert argv(container) == ["linli", "migrate", "--no-input"]
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_k8s_references_only_configmaps_secrets_and_keys_that_exist():
    for workload in workloads():
        for container in containers(workload):
            k8s_environment(container)  # every reference resolves (KeyError otherwise)
        for volume in pod_spec(workload).get("volumes", []):
            if "secret" in volume:
                k8s_object("Secret", volume["secret"]["secretName"])
            if "configMap" in volume:
                k8s_object("ConfigMap", volume["configMap"]["name"])


def test_k8s_sets_only_variables_the_settings_read_and_the_readme_documents():
    for workload in workloads():
        for container in containers(workload):
            name = workload["metadata"]["name"]
            environment = k8s_environment(container)

            assert environment["LINLI_ENV"] == "production", name
            assert set(settings.REQUIRED_IN_PRODUCTION) <= set(environment), name
            names = set(environment) - INTERPRETER_VARIABLES
            assert unknown_variables(names) == [], name
            assert undocumented_variables(names) == [], name


def test_k8s_gives_the_fcm_key_to_the_push_workers_only():
    key_file = PurePosixPath(
        k8s_object("ConfigMap", "linli-config")["data"]["FCM_CREDENTIALS_FILE"]
    )

    for workload in workloads():
        volumes = {
            volume["name"]: volume["secret"]["secretName"]
            for volume in pod_spec(workload).get("volumes", [])
            if "secret" in volume
        }
        for container in containers(workload):
            sends_pushes = process_kind(argv(container)) == "worker" and worker_queues(
                argv(container)
            ) == [Queue.PUSH.value]
            mounted = {
                mount["mountPath"]: volumes[mount["name"]]
                for mount in container.get("volumeMounts", [])
                if mount["name"] in volumes
            }
            if sends_pushes:
                assert mounted == {str(key_file.parent): "linli-fcm"}
                assert key_file.name in secret_values("linli-fcm")
            else:
                assert mounted == {}, workload["metadata"]["name"]


def test_variables_left_to_libraries_are_ones_the_project_names():
    sources = "\n".join(
        path.read_text()
        for path in (ROOT / "backend").rglob("*.py")
        if "migrations" not in path.parts
    )

    for name in READ_BY_LIBRARIES:
        assert f'"{name}"' in sources
        assert name not in names_read_by_settings()


# === The settings accept each container's environment ============================================


def distinct_environments(where: str) -> list[dict[str, str]]:
    """The environments the Linli containers of ``where`` start with, each once."""
    if where == "compose":
        environments = [
            image_environment() | compose_environment(service)
            for service in compose_linli_services().values()
        ]
    else:
        # The example Secret's placeholders, replaced as an operator would.
        environments = [
            k8s_environment(container) | {"SECRET_KEY": COMPOSE_GIVEN["SECRET_KEY"]}
            for workload in workloads()
            for container in containers(workload)
        ]
    unique = {tuple(sorted(environment.items())) for environment in environments}
    return [dict(items) for items in sorted(unique)]


@pytest.mark.parametrize("where", ["compose", "kubernetes"])
def test_the_production_settings_accept_every_containers_environment(where, tmp_path):
    environments = distinct_environments(where)

    assert environments
    for environment in environments:
        variables = {
            **{name: value for name, value in environment.items() if name != "PATH"},
            # Folders of the container, here on this machine.
            **(
                {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
                if "PROMETHEUS_MULTIPROC_DIR" in environment
                else {}
            ),
            "STATIC_ROOT": str(tmp_path / "static"),
        }
        result = subprocess.run(
            [Path(sys.executable).parent / "linli", "check", "--deploy", "--fail-level", "WARNING"],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **variables},
            capture_output=True,
            text=True,
            timeout=120,
        )

        assert result.returncode == 0, result.stdout + result.stderr
