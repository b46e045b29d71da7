"""deploy/kubernetes against the Kubernetes API schemas (kubernetes-validate, offline) and what the
system needs: probes, resources, autoscalers, the migrate Job, graceful stop, and the release order."""
import copy
import os
import stat
import subprocess

import kubernetes_validate
import pytest

from services.tracker_gateway import gunicorn_conf
from shared.testing import ROOT
from tests.unit.deploy.test_deploy_config import manifests, of_kind, workloads

# The oldest minor version still served by the big providers, and the newest the library knows.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
NAMEKO = ("tickets", "notifier", "chat", "tracker_projector")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_schemas(version):
    assert len(manifests()) >= 12
    for name, doc in manifests():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name} {doc['kind']} {doc['metadata']['name']}: {exc.message} at {list(exc.path)}")
        assert doc["metadata"].get("namespace", "deskline") == "deskline"


def test_the_validation_catches_mistakes():
    (deployment,) = [doc for _, doc in manifests() if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "tickets"]
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "two"
    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, VERSIONS[0], strict=True)


def test_each_service_has_a_deployment_with_probes_resources_and_a_non_root_user():
    deployments = {doc["spec"]["template"]["spec"]["containers"][0]["args"][0]: doc for doc in of_kind("Deployment")}
    assert set(deployments) == set(NAMEKO) | {"gateway", "inbound_smtp", "webhooks", "chat_stream"}
    for component, doc in deployments.items():
        pod = doc["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == "deskline:latest"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), component
        assert "memory" in container["resources"]["limits"], component
        assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] >= 1000
        assert container["securityContext"]["readOnlyRootFilesystem"]
        assert doc["spec"]["selector"]["matchLabels"].items() <= doc["spec"]["template"]["metadata"]["labels"].items()
        for probe in ("livenessProbe", "readinessProbe"):
            assert probe in container, f"{component} {probe}"
        if component == "inbound_smtp":  # the SMTP receiver answers its own port
            assert container["readinessProbe"]["exec"]["command"][-2:] == ["--smtp", "127.0.0.1:2525"]
        if component in NAMEKO:
            live = container["livenessProbe"]["exec"]["command"]
            ready = container["readinessProbe"]["exec"]["command"]
            assert live == ["/app/deploy/start.sh", "probe", component, "--no-rpc"]
            assert ready[:3] == ["/app/deploy/start.sh", "probe", component] and "--no-rpc" not in ready
            # The probe's own timeout fits inside Kubernetes' timeout for it.
            timeout = float(ready[ready.index("--timeout") + 1]) if "--timeout" in ready else 3
            assert timeout < container["readinessProbe"]["timeoutSeconds"]
            assert pod["terminationGracePeriodSeconds"] >= 30
    gateway = deployments["gateway"]["spec"]["template"]["spec"]
    (container,) = gateway["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["ports"] == [{"name": "http", "containerPort": 8000}, {"name": "metrics", "containerPort": 9102}]
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    # gunicorn must get its whole graceful_timeout after the preStop pause, before SIGKILL.
    assert gateway["terminationGracePeriodSeconds"] > pre_stop + gunicorn_conf.graceful_timeout
    notifier = deployments["notifier"]["spec"]["template"]["spec"]
    assert notifier["terminationGracePeriodSeconds"] > 30  # a send may take NOTIFIER_SEND_TIMEOUT (30 s)


def test_autoscalers_service_and_migrate_job():
    deployments = {doc["metadata"]["name"] for doc in of_kind("Deployment")}
    targets = {doc["spec"]["scaleTargetRef"]["name"] for doc in of_kind("HorizontalPodAutoscaler")}
    assert targets == {"gateway", "notifier", "tickets", "chat", "tracker-projector"} and targets <= deployments
    for hpa in of_kind("HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    services = {doc["metadata"]["name"]: doc for doc in of_kind("Service")}
    assert set(services) == {"gateway", "inbound-smtp", "chat-stream"}
    assert services["inbound-smtp"]["spec"]["ports"][0] == {"name": "smtp", "port": 25, "targetPort": "smtp"}
    service = services["gateway"]
    (gateway,) = [doc for doc in of_kind("Deployment") if doc["metadata"]["name"] == "gateway"]
    assert service["spec"]["selector"].items() <= gateway["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    (job,) = of_kind("Job")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert workloads()["migrate"]["args"] == ["migrate"]


def test_release_script_runs_the_migrate_job_to_completion_before_the_services(tmp_path):
    """deploy/k8s-deploy.sh with a kubectl that records what it is asked and what it is given."""
    log = tmp_path / "calls"
    fake = tmp_path / "kubectl"
    fake.write_text(f'#!/bin/sh\necho "CALL $*" >> {log}\nif [ "$*" = "apply -f -" ]; then cat >> {log}; fi\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    done = subprocess.run([str(ROOT / "deploy" / "k8s-deploy.sh")], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "KUBECTL": str(fake), "DESKLINE_IMAGE": "registry.test/deskline:9.9"})
    assert done.returncode == 0, done.stderr
    calls = log.read_text()
    lines = [line for line in calls.splitlines() if line.startswith("CALL ")]
    assert "namespace.yaml" in lines[0] and "config.yaml" in lines[0]
    applies = [i for i, line in enumerate(lines) if line == "CALL apply -f -"]
    wait = lines.index("CALL -n deskline wait --for=condition=complete --timeout=15m job/deskline-migrate")
    assert len(applies) == 9 and applies[0] < wait < applies[1]  # the Job, waited for, then eight services (the SMTP
    # receiver, the webhooks process and the chat stream server too)
    applied = calls.split("CALL apply -f -\n")[1:]
    assert "kind: Job" in applied[0] and not any("kind: Job" in chunk for chunk in applied[1:])
    assert all(i > applies[-1] for i, line in enumerate(lines) if "rollout status" in line)
    assert "image: deskline:latest" not in calls and calls.count("image: registry.test/deskline:9.9") == 9
    assert sum("rollout status" in line for line in lines) == 8


def test_the_scaling_page_is_what_the_manifests_say():
    """docs/scaling.md: quorum event queues on the RabbitMQ cluster; consumers scale on queue depth, RPC
    services on CPU, the gateway on CPU and latency; the replica floors the page sizes."""
    (config_map,) = of_kind("ConfigMap")
    assert config_map["data"]["EVENT_QUEUE_TYPE"] == "quorum"
    signals = {}
    for hpa in of_kind("HorizontalPodAutoscaler"):
        kinds = set()
        for metric in hpa["spec"]["metrics"]:
            if metric["type"] == "Resource":
                kinds.add(metric["resource"]["name"])
            elif metric["type"] == "External":
                assert metric["external"]["metric"]["name"] == "rabbitmq_queue_messages_ready"
                assert metric["external"]["metric"]["selector"]["matchLabels"]["queue"].startswith("evt-tickets-")
                kinds.add("queue depth")
            else:
                kinds.add(metric["pods"]["metric"]["name"])
        signals[hpa["metadata"]["name"]] = kinds
    assert signals == {"gateway": {"cpu", "deskline_http_request_p95_seconds"}, "notifier": {"cpu", "queue depth"},
                       "tracker-projector": {"queue depth"}, "tickets": {"cpu"}, "chat": {"cpu"}}
    replicas = {doc["metadata"]["name"]: doc["spec"]["replicas"] for doc in of_kind("Deployment")}
    assert replicas == {"gateway": 2, "tickets": 3, "notifier": 2, "chat": 2, "tracker-projector": 2, "inbound-smtp": 2,
                        "webhooks": 2, "chat-stream": 2}
    page = (ROOT / "docs" / "scaling.md").read_text()
    for said in ("x-queue-type", "EVENT_QUEUE_TYPE", "quorum", "read replica", "rabbitmq_queue_messages_ready",
                 "deskline_http_request_p95_seconds"):
        assert said in page, said
