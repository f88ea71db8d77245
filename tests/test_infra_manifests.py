"""infra/k8s as ``kubectl apply -k`` would apply it (rendered by tests/kustomize.py): every
object valid for the pinned Kubernetes version, and what an operator relies on — probes on the
right paths and ports, resources, non-root pods, commands that are real ``mhi`` entry points,
settings the code reads, no real secret in the repository, a migration step that can run on
its own before the rollout, the production overlay's pins.  Nothing here reaches a cluster."""

from __future__ import annotations

import base64
import binascii
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kubernetes  # type: ignore[import-untyped]

from auth.secrets import MissingSecret, Secrets
from auth.settings import AuthSettings
from notifications.settings import NotifySettings
from tests.infra_env import ROOT, known_env_names, mhi_command
from tests.kustomize import Obj, build, containers, find, pod_spec, secret_values

KUBERNETES = "1.33.0"
"""The oldest minor version that managed clusters still run in late 2026; the manifests use
nothing newer (the schemas ship with kubernetes-validate, offline)."""
K8S = ROOT / "infra" / "k8s"
BASE, PRODUCTION = K8S / "base", K8S / "overlays" / "production"
PLACEHOLDERS = {"production.env": BASE / "secrets" / "placeholder.env",
                "firebase-service-account.json":
                    BASE / "secrets" / "firebase-service-account.placeholder.json"}
RELEASE_STEP = "mhi.kz/release-step"
WORKLOADS = ("Deployment", "Job")


def _with_placeholders(path: Path) -> bytes:
    """The production secrets are git-ignored files: render with the base's placeholders."""
    return (path if path.exists() else PLACEHOLDERS[path.name]).read_bytes()


RENDERED = {"base": build(BASE), "production": build(PRODUCTION, _with_placeholders)}


def _all() -> list[Any]:
    return [pytest.param(obj, id=f"{name}:{obj['kind']}/{obj['metadata']['name']}")
            for name, objects in RENDERED.items() for obj in objects]


def _workloads() -> list[Any]:
    return [pytest.param(name, obj, id=f"{name}:{obj['kind']}/{obj['metadata']['name']}")
            for name, objects in RENDERED.items() for obj in objects
            if obj["kind"] in WORKLOADS]


def _dockerfile_user() -> int:
    [user] = re.findall(r"^USER (\d+)", (ROOT / "infra" / "Dockerfile").read_text(), re.M)
    return int(user)


def _port(container: Obj, name_or_number: str | int) -> int:
    if isinstance(name_or_number, int):
        return name_or_number
    [number] = [p["containerPort"] for p in container["ports"] if p["name"] == name_or_number]
    return int(number)


class TestSchemas:
    def test_the_pinned_version_ships_with_kubernetes_validate(self) -> None:
        assert KUBERNETES in kubernetes.all_versions()

    @pytest.mark.parametrize("obj", _all())
    def test_every_object_is_valid_in_strict_mode(self, obj: Obj) -> None:
        kubernetes.validate(obj, KUBERNETES, strict=True)  # raises on an unknown field too

    @pytest.mark.parametrize("obj", _all())
    def test_and_on_the_newest_version_shipped(self, obj: Obj) -> None:
        """An API the manifests use that a newer Kubernetes removed shows up here first."""
        kubernetes.validate(obj, kubernetes.latest_version(), strict=True)

    def test_strict_mode_refuses_a_misspelt_field(self) -> None:
        broken = {**find(RENDERED["base"], "Deployment", "api")}
        broken["spec"] = {**broken["spec"], "replica": 2}
        with pytest.raises(kubernetes.ValidationError):
            kubernetes.validate(broken, KUBERNETES, strict=True)


class TestWorkloads:
    def test_the_image_has_a_numeric_user_and_serves_by_default(self) -> None:
        """Kubernetes checks runAsNonRoot only against a numeric USER; the image's default
        command is the API's, as compose and the Deployments spell it."""
        dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
        assert _dockerfile_user() != 0
        [cmd] = re.findall(r"^CMD (.+)$", dockerfile, re.M)
        assert mhi_command(json.loads(cmd)) == "serve"

    @pytest.mark.parametrize(("overlay", "obj"), _workloads())
    def test_each_container_runs_an_mhi_entry_point(self, overlay: str, obj: Obj) -> None:
        commands = {mhi_command(c["command"]) for c in containers(obj)}
        expected = {"api": {"serve"}, "worker": {"worker"}, "mhi-migrate": {"db migrate"}}
        assert commands == expected[obj["metadata"]["name"]]

    @pytest.mark.parametrize(("overlay", "obj"), _workloads())
    def test_resources_are_requested_and_limited(self, overlay: str, obj: Obj) -> None:
        for container in containers(obj):
            resources = container["resources"]
            for kind in ("cpu", "memory"):
                assert kind in resources["requests"] and kind in resources["limits"]

    @pytest.mark.parametrize(("overlay", "obj"), _workloads())
    def test_pods_run_as_the_images_user_unprivileged(self, overlay: str, obj: Obj) -> None:
        spec = pod_spec(obj)
        assert spec is not None
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True
        assert pod["runAsUser"] == _dockerfile_user()
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["serviceAccountName"] == "mhi"
        assert spec["automountServiceAccountToken"] is False
        for container in containers(obj):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            writable = [m["mountPath"] for m in container["volumeMounts"]
                        if not m.get("readOnly")]
            assert writable == ["/tmp"]  # noqa: S108 (an emptyDir: the one writable place)

    @pytest.mark.parametrize("overlay", RENDERED)
    def test_the_service_account_has_no_token(self, overlay: str) -> None:
        account = find(RENDERED[overlay], "ServiceAccount", "mhi")
        assert account["automountServiceAccountToken"] is False

    @pytest.mark.parametrize(("overlay", "obj"), _workloads())
    def test_every_variable_set_is_one_the_code_reads(self, overlay: str, obj: Obj) -> None:
        objects = RENDERED[overlay]
        by_name = {o["metadata"]["name"]: o for o in objects}
        for container in containers(obj):
            names = [env["name"] for env in container.get("env", [])]
            for source in container.get("envFrom", []):
                names += by_name[source["configMapRef"]["name"]]["data"]
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:  # the key exists in the Secret the object names
                    assert ref["key"] in secret_values(by_name[ref["name"]])
            unknown = set(names) - known_env_names()
            assert not unknown, f"{container['name']} sets what nothing reads: {unknown}"


class TestProbes:
    @pytest.mark.parametrize(("overlay", "obj"), [p for p in _workloads()
                                                  if p.values[1]["kind"] == "Deployment"])
    def test_ready_on_readyz_and_alive_on_healthz(self, overlay: str, obj: Obj) -> None:
        [container] = containers(obj)
        ready, alive = container["readinessProbe"], container["livenessProbe"]
        assert ready["httpGet"]["path"] == "/readyz"
        assert alive["httpGet"]["path"] == "/healthz"
        port = _port(container, ready["httpGet"]["port"])
        assert _port(container, alive["httpGet"]["port"]) == port
        if obj["metadata"]["name"] == "api":  # where `mhi serve` listens: APP_PORT
            settings = find(RENDERED[overlay], "ConfigMap", "mhi-settings")["data"]
            assert port == int(settings["APP_PORT"])
        else:  # where `mhi worker --health-port` answers
            command = container["command"]
            assert port == int(command[command.index("--health-port") + 1])

    @pytest.mark.parametrize("overlay", RENDERED)
    def test_the_worker_has_time_to_drain(self, overlay: str) -> None:
        worker = find(RENDERED[overlay], "Deployment", "worker")
        grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        # the longest call under way when SIGTERM comes: an FCM batch, or an SMS
        auth = AuthSettings()
        longest = max(NotifySettings().http_timeout_seconds,
                      auth.sms_timeout_seconds + auth.sms_connect_timeout_seconds)
        assert grace >= 2 * longest

    @pytest.mark.parametrize("overlay", RENDERED)
    def test_the_service_hpa_and_budgets_find_their_pods(self, overlay: str) -> None:
        objects = RENDERED[overlay]
        api = find(objects, "Deployment", "api")
        labels = api["spec"]["template"]["metadata"]["labels"]
        service = find(objects, "Service", "api")
        assert service["spec"]["selector"].items() <= labels.items()
        [port] = service["spec"]["ports"]
        assert _port(api["spec"]["template"]["spec"]["containers"][0], port["targetPort"])
        hpa = find(objects, "HorizontalPodAutoscaler", "api")
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1",
                                                 "kind": "Deployment", "name": "api"}
        assert hpa["spec"]["minReplicas"] <= api["spec"]["replicas"]
        for name in ("api", "worker"):
            budget = find(objects, "PodDisruptionBudget", name)
            pods = find(objects, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
            assert budget["spec"]["selector"]["matchLabels"].items() <= pods.items()


class TestSecrets:
    def test_the_placeholder_root_secret_cannot_start_the_api(self) -> None:
        placeholder = secret_values(find(RENDERED["base"], "Secret", "mhi-secrets"))
        with pytest.raises((MissingSecret, binascii.Error, ValueError)):
            Secrets.from_root(base64.b64decode(placeholder["AUTH_SECRET_KEY"]))

    def test_production_secrets_are_ignored_by_git_and_not_committed(self) -> None:
        folder = PRODUCTION / "secrets"
        tracked = subprocess.run(["git", "ls-files", str(folder)],  # noqa: S603, S607
                                 cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.split()
        assert {Path(p).name for p in tracked} <= {".gitignore", "README.md",
                                                   "production.env.example"}
        for name in PLACEHOLDERS:
            ignored = subprocess.run(  # noqa: S603
                ["git", "check-ignore", "-q", str(folder / name)],  # noqa: S607
                cwd=ROOT, check=False)
            assert ignored.returncode == 0, f"{name} is not git-ignored"

    def test_production_does_not_render_without_its_secret_files(self) -> None:
        if any((PRODUCTION / "secrets" / name).exists() for name in PLACEHOLDERS):
            pytest.skip("this machine holds production secret files")
        with pytest.raises(FileNotFoundError):
            build(PRODUCTION)

    def test_the_example_names_every_key_the_pods_take(self) -> None:
        example = (PRODUCTION / "secrets" / "production.env.example").read_text()
        keys = {line.split("=")[0] for line in example.split()}
        assert keys == set(secret_values(find(RENDERED["base"], "Secret", "mhi-secrets")))


def _selects(selector: Obj, labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for rule in selector.get("matchExpressions", []):
        assert rule["operator"] == "In", "the test reads In expressions only"
        if labels.get(rule["key"]) not in rule["values"]:
            return False
    return True


def _allowed(objects: list[Obj], component: str, direction: str) -> set[int]:
    """The ports the NetworkPolicies open for a component's pods, ``ingress`` or ``egress``."""
    labels = {"app.kubernetes.io/name": "mhi", "app.kubernetes.io/component": component}
    ports: set[int] = set()
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        if _selects(policy["spec"]["podSelector"], labels):
            for rule in policy["spec"].get(direction, []):
                assert rule.get("to" if direction == "egress" else "from"), "open to anyone"
                ports |= {int(p["port"]) for p in rule["ports"]}
    return ports


class TestNetwork:
    @pytest.mark.parametrize("overlay", RENDERED)
    def test_everything_is_denied_unless_allowed(self, overlay: str) -> None:
        deny = find(RENDERED[overlay], "NetworkPolicy", "default-deny")["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}

    @pytest.mark.parametrize("overlay", RENDERED)
    def test_each_process_reaches_what_it_needs_and_nothing_else(self, overlay: str) -> None:
        objects = RENDERED[overlay]
        dns, postgresql, https = 53, 5432, 443
        assert _allowed(objects, "api", "egress") == {dns, postgresql, https}  # SMS codes
        assert _allowed(objects, "worker", "egress") == {dns, postgresql, https}  # FCM, SMS
        assert _allowed(objects, "migrate", "egress") == {dns, postgresql}
        assert _allowed(objects, "api", "ingress") == {8000, 9464}
        assert _allowed(objects, "worker", "ingress") == {9465}
        assert _allowed(objects, "migrate", "ingress") == set()

    @pytest.mark.parametrize("overlay", RENDERED)
    def test_only_the_ingress_controller_reaches_the_api(self, overlay: str) -> None:
        policy = find(RENDERED[overlay], "NetworkPolicy", "api-ingress")["spec"]
        [public] = [rule for rule in policy["ingress"]
                    if {p["port"] for p in rule["ports"]} == {8000}]
        [peer] = public["from"]
        namespace = peer["namespaceSelector"]["matchLabels"]
        assert namespace == {"kubernetes.io/metadata.name": "ingress-nginx"}
        assert "podSelector" in peer


class TestReleaseStep:
    """``kubectl apply -k … -l mhi.kz/release-step=migrate`` applies what the migration Job
    needs and nothing that rolls out (infra/README.md, "Deploying")."""

    @pytest.mark.parametrize("overlay", RENDERED)
    def test_the_step_holds_the_job_and_all_it_references(self, overlay: str) -> None:
        step = [o for o in RENDERED[overlay]
                if o["metadata"].get("labels", {}).get(RELEASE_STEP) == "migrate"]
        names = {(o["kind"], o["metadata"]["name"]) for o in step}
        job = find(step, "Job", "mhi-migrate")
        spec = pod_spec(job)
        assert spec is not None
        assert ("ServiceAccount", spec["serviceAccountName"]) in names
        for container in containers(job):
            for source in container.get("envFrom", []):
                assert ("ConfigMap", source["configMapRef"]["name"]) in names
            for env in container.get("env", []):
                assert ("Secret", env["valueFrom"]["secretKeyRef"]["name"]) in names
        assert ("Namespace", "mhi") in names
        assert _allowed(step, "migrate", "egress") == {53, 5432}
        assert not [o for o in step if o["kind"] == "Deployment"]


class TestProduction:
    objects = RENDERED["production"]

    def test_every_image_is_pinned_by_digest_and_the_same(self) -> None:
        images = {c["image"] for o in self.objects for c in containers(o)}
        assert len(images) == 1
        assert re.fullmatch(r"[\w./-]+@sha256:[0-9a-f]{64}", images.pop())

    def test_more_and_bigger_pods_than_the_base(self) -> None:
        for name in ("api", "worker"):
            base = find(RENDERED["base"], "Deployment", name)
            production = find(self.objects, "Deployment", name)
            assert production["spec"]["replicas"] > base["spec"]["replicas"]
            [small], [big] = containers(base), containers(production)
            assert _mebibytes(big["resources"]["limits"]["memory"]) > _mebibytes(
                small["resources"]["limits"]["memory"])

    def test_the_hpa_bounds(self) -> None:
        hpa = find(self.objects, "HorizontalPodAutoscaler", "api")["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (4, 20)
        assert find(self.objects, "Deployment", "api")["spec"]["replicas"] == 4

    def test_the_ingress_serves_its_hosts_over_tls_to_the_api_service(self) -> None:
        ingress = find(self.objects, "Ingress", "api")["spec"]
        covered = {host for tls in ingress["tls"] for host in tls["hosts"]}
        for rule in ingress["rules"]:
            assert rule["host"] in covered
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == "api"

    def test_production_texts_through_the_sms_operator(self) -> None:
        settings = find(self.objects, "ConfigMap", "mhi-settings")["data"]
        assert settings["AUTH_SMS_GATEWAY"] == "mobizon"
        assert settings["APP_ENVIRONMENT"] == "production"


def _mebibytes(quantity: str) -> int:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


class TestMetrics:
    """Prometheus in the cluster finds each process's /metrics: the port it serves on
    (METRICS_PORT), the container port named ``metrics``, the scrape annotations and the
    jobs of infra/k8s/monitoring/scrape-configs.yml agree."""

    scrape = yaml.safe_load((K8S / "monitoring" / "scrape-configs.yml").read_text())

    @pytest.mark.parametrize(("overlay", "name"), [(o, n) for o in RENDERED
                                                   for n in ("api", "worker")])
    def test_the_port_is_the_same_everywhere(self, overlay: str, name: str) -> None:
        deployment = find(RENDERED[overlay], "Deployment", name)
        [container] = containers(deployment)
        served = {e["name"]: e.get("value") for e in container["env"]}["METRICS_PORT"]
        settings = find(RENDERED[overlay], "ConfigMap", "mhi-settings")["data"]
        assert settings["METRICS_HOST"] == "0.0.0.0"  # noqa: S104 (reachable in the pod)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert int(served) == _port(container, "metrics") == int(
            annotations["prometheus.io/port"])

    def test_the_jobs_are_the_alert_rules_jobs(self) -> None:
        project = yaml.safe_load((ROOT / "infra" / "prometheus" / "prometheus.yml").read_text())
        assert ({job["job_name"] for job in self.scrape}
                == {job["job_name"] for job in project["scrape_configs"]})
        for job in self.scrape:
            [component, port] = [rule["regex"] for rule in job["relabel_configs"]
                                 if rule.get("action") == "keep"]
            assert job["job_name"] == f"mhi-{component}"
            assert port == "metrics"
