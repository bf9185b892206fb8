"""Deployment files: generated per service, rendered with Helm's engine, schema-checked, linted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import kubernetes_validate
import pytest
import yaml

from commerce.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CHARTS = INFRA / "helm-charts"
K8S_VERSION = "1.33"

from infra import generate  # noqa: E402


def render(name: str, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    import helm_python as helm

    chart = helm.Chart.load(CHARTS / name)
    merged = {**chart.values, **(values or {})}
    rendered = chart.render(merged, name=name, namespace="agentshop", is_install=True)
    return [doc for text in rendered.values() for doc in yaml.safe_load_all(text) if doc]


PRODUCTION = yaml.safe_load((CHARTS / "values-production.yaml").read_text())
VARIANTS = {
    "default": {},
    "production": PRODUCTION,
    "ingress": {"ingress": {"enabled": True, "host": "shop.example.com", "tlsSecret": "shop-tls"}},
}


def test_generated_files_are_current() -> None:
    assert generate.stale() == [], "run `python infra/generate.py` and commit"


def test_every_service_has_a_chart_a_compose_entry_a_database_and_a_release() -> None:
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())
    releases = json.loads((INFRA / "terraform" / "services.tf.json").read_text())["locals"][
        "services"
    ]
    init_sql = (INFRA / "postgres-init.sql").read_text()
    for spec in SERVICES.values():
        assert (CHARTS / spec.name / "Chart.yaml").exists(), spec.name
        assert spec.name in compose["services"], spec.name
        assert releases[spec.name]["port"] == spec.port
        assert f'CREATE DATABASE "{spec.database}"' in init_sql


def test_the_web_ui_has_a_chart_a_compose_entry_and_a_release() -> None:
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())["services"]["ui"]
    assert compose["command"][:2] == ["serve", "ui"]
    assert compose["environment"]["GATEWAY_BFF_URL"] == "http://gateway-bff:8000"
    assert "DATABASE_URL" not in compose["environment"]
    assert "/_stcore/health" in json.dumps(compose["healthcheck"])
    assert compose["depends_on"]["gateway-bff"]["condition"] == "service_healthy"
    releases = json.loads((INFRA / "terraform" / "services.tf.json").read_text())["locals"][
        "services"
    ]
    assert releases["ui"]["port"] == 8501


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_web_ui_chart_renders_without_database_or_secrets(variant: str) -> None:
    docs = render("ui", VARIANTS[variant])
    kinds = sorted(d["kind"] for d in docs)
    expected = ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
                "PodDisruptionBudget", "Service"]  # fmt: skip
    assert kinds == sorted(expected + (["Ingress"] if variant == "ingress" else []))
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    by_kind = {d["kind"]: d for d in docs}
    container = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["serve", "ui"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/_stcore/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/_stcore/health"
    assert not [e for e in container["env"] if "valueFrom" in e]  # no database, no JWT secret
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert by_kind["ConfigMap"]["data"]["GATEWAY_BFF_URL"] == "http://gateway-bff:8000"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_charts_render_to_valid_kubernetes_objects(name: str, variant: str) -> None:
    docs = render(name, VARIANTS[variant])
    kinds = sorted(d["kind"] for d in docs)
    expected = [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Job",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
    ]
    public = variant == "ingress" or name == "gateway-bff"
    assert kinds == sorted(expected + (["Ingress"] if public else []))
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_pods_are_locked_down_probed_and_sized_for_a_surge(name: str) -> None:
    docs = {d["kind"]: d for d in render(name, PRODUCTION)}
    pod = docs["Deployment"]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["args"][:2] == ["serve", name]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert pod["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
    secrets = {e["name"] for e in container["env"] if "valueFrom" in e}
    assert {"DATABASE_URL", "AGENTSHOP_JWT_SECRET", "KAFKA_SASL_PASSWORD"} <= secrets
    assert docs["ConfigMap"]["data"]["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    hpa = docs["HorizontalPodAutoscaler"]["spec"]
    assert hpa["maxReplicas"] >= 10 * hpa["minReplicas"] / 1.5  # room for the 10x surge
    assert docs["Service"]["spec"]["type"] == "ClusterIP"


def test_dockerfile_passes_hadolint_and_runs_as_non_root() -> None:
    dockerfile = INFRA / "docker" / "Dockerfile"
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run(
        [hadolint, "--failure-threshold", "warning", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = dockerfile.read_text()
    assert "USER 10001" in text and "HEALTHCHECK" in text and ":latest" not in text


def test_compose_is_complete_and_ordered() -> None:
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    for name, service in services.items():
        image = service.get("image", "")
        assert ":latest" not in image, name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        if name in SERVICES:
            assert (
                "healthcheck" in service
                and service["depends_on"]["migrate"]["condition"]
                == "service_completed_successfully"
            )
            assert "/readyz" in json.dumps(service["healthcheck"])


def test_terraform_declares_what_operators_set() -> None:
    variables: dict[str, Any] = {}
    for block in hcl2.loads((INFRA / "terraform" / "variables.tf").read_text())["variable"]:
        variables.update({key.strip('"'): value for key, value in block.items()})
    for name in (
        "image_tag",
        "replicas",
        "database_url",
        "kafka_bootstrap_servers",
        "jwt_secret",
        "service_token",
        "namespace",
    ):
        assert name in variables, name
    for secret in ("database_url", "jwt_secret", "service_token", "kafka_sasl_password"):
        assert variables[secret].get("sensitive") is True, secret
    main = hcl2.loads((INFRA / "terraform" / "main.tf").read_text())
    releases = [r['"helm_release"'] for r in main["resource"] if '"helm_release"' in r]
    assert releases and releases[0]['"service"']["for_each"] == "${local.services}"


@pytest.mark.skipif(
    shutil.which("terraform") is None, reason="the terraform binary is not installed here"
)
def test_terraform_is_fmt_clean() -> None:
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(INFRA / "terraform")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _uv() -> str | None:
    return shutil.which("uv") or next(
        (str(p) for p in [ROOT / ".tools" / "bin" / "uv"] if p.exists()), None
    )


@pytest.mark.skipif(_uv() is None, reason="uv is needed to run the checkov policy scanner")
def test_policy_scanner_finds_nothing_unjustified(tmp_path: Path) -> None:
    """checkov (run in its own environment: its pins clash with ours) over the rendered
    production manifests, the Dockerfile and the Terraform. Accepted findings carry a
    `checkov.io/skip` annotation with the reason (see the library chart)."""
    for name in [*SERVICES, "ui"]:
        docs = render(name, {**PRODUCTION, **VARIANTS["ingress"]})
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump_all(docs))
    checks = {
        "kubernetes": [str(tmp_path)],
        "dockerfile": [str(INFRA / "docker")],
        "terraform": [str(INFRA / "terraform")],
    }
    for framework, directories in checks.items():
        command = [_uv() or "uv", "tool", "run", "--from", "checkov==3.3.30", "checkov", "--quiet", "--compact",
                   "--skip-download", "--framework", framework]  # fmt: skip
        for directory in directories:
            command += ["-d", directory]
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
        assert result.returncode == 0, (
            f"{framework}:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        )
        assert "Failed checks: 0" in result.stdout or not result.stdout.strip(), result.stdout[
            -4000:
        ]


def test_the_compose_broker_authenticates_every_client() -> None:
    services = yaml.safe_load((INFRA / "compose.yaml").read_text())["services"]
    broker = services["kafka"]["environment"]
    assert "PLAINTEXT://" not in broker["KAFKA_LISTENERS"].replace("SASL_PLAINTEXT://", "")
    assert broker["KAFKA_ADVERTISED_LISTENERS"].startswith("SASL_PLAINTEXT://")
    assert broker["KAFKA_SASL_ENABLED_MECHANISMS"] == "PLAIN"
    assert (
        "KAFKA_SASL_PASSWORD:?"
        in broker["KAFKA_LISTENER_NAME_SASL__PLAINTEXT_PLAIN_SASL_JAAS_CONFIG"]
    )
    for name in [*SERVICES, "migrate", "topics", "seed"]:
        env = services[name]["environment"]
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT", name
        assert env["KAFKA_SASL_USERNAME"] == "agentshop", name
        assert env["KAFKA_SASL_PASSWORD"].startswith("${KAFKA_SASL_PASSWORD:?"), name
        assert env["AGENTSHOP_SERVICE_TOKEN"].startswith("${AGENTSHOP_SERVICE_TOKEN:?"), name


def test_charts_refuse_a_broker_without_authentication() -> None:
    with pytest.raises(Exception, match="must authenticate"):
        render(
            "cart", {"kafka": {"bootstrapServers": "kafka:9092", "securityProtocol": "PLAINTEXT"}}
        )
    allowed = {
        "bootstrapServers": "kafka:9092",
        "securityProtocol": "PLAINTEXT",
        "allowUnauthenticated": True,
    }
    assert render("cart", {"kafka": allowed})


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_internal_services_admit_only_the_platform(name: str) -> None:
    docs = {d["kind"]: d for d in render(name)}
    container = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert "AGENTSHOP_SERVICE_TOKEN" in {e["name"] for e in container["env"] if "valueFrom" in e}
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert labels["agentshop.io/platform"] == "true"
    sources = docs["NetworkPolicy"]["spec"]["ingress"][0]["from"]
    namespaces = {
        s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for s in sources
        if "namespaceSelector" in s
    }
    pods = [s["podSelector"]["matchLabels"] for s in sources if "podSelector" in s]
    if name == "gateway-bff":  # the public entry: the ingress controller and the web UI
        assert "ingress-nginx" in namespaces
        assert pods == [{"app.kubernetes.io/part-of": "agentshop"}]
    else:
        assert namespaces == {"monitoring"}
        assert pods == [{"agentshop.io/platform": "true"}]
    ui = {d["kind"]: d for d in render("ui")}
    assert (
        ui["Deployment"]["spec"]["template"]["metadata"]["labels"]["agentshop.io/platform"]
        == "false"
    )
