"""The rendered manifests: valid against the Kubernetes API schemas, and the policies a careful
platform team ships (probes, limits, rolling updates, pinned images, secrets, non-root, network)."""

from __future__ import annotations

import base64
import copy
import re
import subprocess

import kubernetes_validate
import pytest

from scripts.throwaway_secrets import throwaway_secrets, write_secrets_env

from .conftest import ROOT, TARGETS, copy_k8s, render

# The oldest Kubernetes the manifests promise to work on (docs/deploy.md) and the newest known.
K8S_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|CREDENTIAL", re.IGNORECASE)
URL_USERINFO = re.compile(r"://([^/@]*)@")
# user:password in a URL may only be $(VARIABLES) the kubelet fills in from a Secret.
ONLY_VARIABLES = re.compile(r"\$\([A-Z_]+\)(:\$\([A-Z_]+\))?")


def containers(pod_spec: dict) -> list[dict]:
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


# --- rendering and schema validation --------------------------------------------------------


def test_every_overlay_is_rendered():
    assert TARGETS[0] == "."
    assert "overlays/local" in TARGETS


def test_render_refuses_to_run_without_secrets(tmp_path):
    copy = copy_k8s(tmp_path)
    for target in TARGETS:
        done = render(copy / target)
        assert done.returncode != 0, f"k8s/{target} rendered with no secrets.env"
        assert "secrets.env" in done.stderr


# The API groups only the Kubernetes 1.20 test cluster of `make k8s-e2e` needs; kubernetes-validate
# has no 1.20 schemas, and that cluster's real API server validates these objects.
E2E_ONLY_GROUPS = {"policy/v1beta1", "autoscaling/v2beta2"}


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_object_passes_strict_schema_validation(rendered, version):
    for obj in rendered.objects:
        if rendered.target == "overlays/e2e" and obj["apiVersion"] in E2E_ONLY_GROUPS:
            continue
        kubernetes_validate.validate(obj, version, strict=True)


def test_only_the_e2e_overlay_uses_the_beta_groups(rendered):
    """The production manifests keep PDB policy/v1 and HPA autoscaling/v2."""
    groups = {obj["apiVersion"] for obj in rendered.objects}
    if rendered.target == "overlays/e2e":
        assert {"policy/v1beta1", "autoscaling/v2beta2"} <= groups
        assert not groups & {"policy/v1", "autoscaling/v2"}
    else:
        assert not groups & E2E_ONLY_GROUPS


def test_strict_validation_catches_a_misspelt_field(production):
    deployment = copy.deepcopy(production.one("Deployment", "facerec-api"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenessprobe"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


def test_objects_the_issue_asks_for(production):
    kinds = {o["kind"] for o in production.objects}
    assert kinds >= {
        "Namespace",
        "Secret",
        "ConfigMap",
        "StatefulSet",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
    namespaced = [
        o for o in production.objects if o["kind"] not in {"Namespace", "PersistentVolume"}
    ]
    assert {o["metadata"].get("namespace") for o in namespaced} == {"facerec"}


def test_namespace_enforces_the_restricted_pod_security_standard(rendered):
    labels = rendered.one("Namespace", "facerec")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


# --- secrets and configuration ----------------------------------------------------------------


def test_secret_holds_the_credentials_it_was_given(rendered):
    data = rendered.one("Secret", "facerec-secrets")["data"]
    decoded = {k: base64.b64decode(v).decode() for k, v in data.items()}
    assert decoded == rendered.secret_values


def test_no_secret_value_appears_outside_the_secret(rendered):
    others = [o for o in rendered.objects if o["kind"] != "Secret"]
    text = repr(others)
    for key, value in rendered.secret_values.items():
        if key != "DB_USER":
            assert value not in text, f"{key} leaked out of the Secret"


def test_credentials_are_never_plain_env_values(rendered):
    for workload, pod in rendered.pod_specs():
        for container in containers(pod):
            for env in container.get("env", []):
                where = f"{workload['metadata']['name']}/{container['name']} {env['name']}"
                if SECRET_NAME.search(env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), f"{where}: not from a Secret"
                userinfo = URL_USERINFO.search(env.get("value", ""))
                if userinfo:
                    assert ONLY_VARIABLES.fullmatch(userinfo[1]), f"{where}: literal credentials"


def test_database_url_is_assembled_from_secret_variables(rendered):
    pod = rendered.one("Deployment", "facerec-api")["spec"]["template"]["spec"]
    env = pod["containers"][0]["env"]
    names = [e["name"] for e in env]
    url = next(e for e in env if e["name"] == "FACEREC_DATABASE_URL")
    assert url["value"] == "mysql+pymysql://$(DB_USER):$(DB_PASSWORD)@mariadb:3306/facerec"
    for variable in ("DB_USER", "DB_PASSWORD"):
        # $(VAR) expands only from variables defined earlier in the list.
        assert names.index(variable) < names.index("FACEREC_DATABASE_URL")
        source = env[names.index(variable)]["valueFrom"]["secretKeyRef"]
        assert source["name"].startswith("facerec-secrets")
    for name in ("FACEREC_API_KEYS", "FACEREC_KEY_SECRET"):
        variable = next(e for e in env if e["name"] == name)
        assert variable["valueFrom"]["secretKeyRef"]["key"] == name


def test_configmap_carries_the_api_settings_and_no_secret(rendered):
    data = rendered.one("ConfigMap", "facerec-config")["data"]
    assert data["FACEREC_AUTH"] == "on"
    assert {"FACEREC_WORKERS", "FACEREC_KEEP_MODELS", "FACEREC_MAX_UPLOAD_MB"} <= data.keys()
    assert {"FACEREC_ORT_THREADS"} <= data.keys()
    assert not [k for k in data if SECRET_NAME.search(k)]
    api = rendered.one("Deployment", "facerec-api")["spec"]["template"]["spec"]["containers"][0]
    assert (
        api["envFrom"][0]["configMapRef"]["name"]
        == rendered.one("ConfigMap", "facerec-config")["metadata"]["name"]
    )


# --- images, probes, resources, rollout -------------------------------------------------------


def test_images_are_pinned_never_latest(rendered):
    for workload, pod in rendered.pod_specs():
        for container in containers(pod):
            image = container["image"]
            name, _, tag = image.rpartition(":")
            where = f"{workload['metadata']['name']}: {image}"
            assert name and "/" not in tag, f"{where}: no tag"
            assert tag != "latest" and re.search(r"\d", tag), f"{where}: not a pinned version"
            assert container.get("imagePullPolicy") != "Always" or "@sha256:" in image


def test_every_container_has_requests_and_limits(rendered):
    for workload, pod in rendered.pod_specs():
        for container in containers(pod):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= resources.get(kind, {}).keys(), (
                    f"{workload['metadata']['name']}/{container['name']}: no {kind}"
                )


def test_every_container_has_startup_readiness_and_liveness_probes(rendered):
    for workload, pod in rendered.pod_specs():
        for container in pod["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{workload['metadata']['name']}: no {probe}"


def test_api_probes_use_the_health_endpoints_on_the_operations_port(rendered):
    pod = rendered.one("Deployment", "facerec-api")["spec"]["template"]["spec"]
    api = pod["containers"][0]
    port_names = {p["name"]: p["containerPort"] for c in pod["containers"] for p in c["ports"]}
    assert port_names == {"http": 8000, "ops": 9100, "events": 8002}
    assert {p["name"] for p in api["ports"]} == {"ops"}
    # /readyz is not served on the public port when FACEREC_OPS_BIND is set (api/health.py).
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "ops"}
    assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}
    assert api["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "ops"}
    startup = api["startupProbe"]
    # Liveness must not kill a pod that is still loading its networks: give it a minute.
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_the_pods_nginx_fronts_gunicorn_and_the_event_server(rendered):
    """Issue 21: the public port is nginx's (facerec-proxy); gunicorn listens on loopback only,
    facerec-events serves /events; all three run the one API image."""
    pod = rendered.one("Deployment", "facerec-api")["spec"]["template"]["spec"]
    by_name = {c["name"]: c for c in pod["containers"]}
    assert list(by_name) == ["api", "events", "proxy"]
    assert by_name["proxy"]["command"][0] == "facerec-proxy"
    assert by_name["events"]["command"] == ["facerec-events"]
    assert len({c["image"] for c in pod["containers"]}) == 1
    assert {p["name"] for p in by_name["proxy"]["ports"]} == {"http"}
    config = rendered.one("ConfigMap", "facerec-config")["data"]
    assert config["FACEREC_BIND"].startswith("127.0.0.1:")
    assert config["FACEREC_PROXY_BIND"] == "0.0.0.0:8000"
    assert config["FACEREC_EVENTS_BIND"].endswith(":8002")
    events_env = {e["name"] for e in by_name["events"]["env"]}
    assert {"FACEREC_DATABASE_URL", "FACEREC_API_KEYS", "FACEREC_KEY_SECRET"} <= events_env


def test_rolling_update_never_drops_capacity(rendered):
    strategy = rendered.one("Deployment", "facerec-api")["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] >= 1


# --- non-root, read-only ------------------------------------------------------------------------


def test_every_pod_runs_non_root_with_a_read_only_root_filesystem(rendered):
    for workload, pod in rendered.pod_specs():
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, workload["metadata"]["name"]
        assert security["runAsUser"] != 0 and security["runAsGroup"] != 0
        assert security["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        for container in containers(pod):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"]["drop"] == ["ALL"]
            assert context.get("runAsUser", security["runAsUser"]) != 0
            assert not context.get("privileged", False)


def test_api_has_a_writable_tmp_and_the_model_store(rendered):
    deployment = rendered.one("Deployment", "facerec-api")
    pod = deployment["spec"]["template"]["spec"]
    api = pod["containers"][0]
    mounts = {m["mountPath"]: m["name"] for m in api["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    model_dir = next(e["value"] for e in api["env"] if e["name"] == "FACEREC_MODEL_DIR")
    claim = volumes[mounts[model_dir]]["persistentVolumeClaim"]["claimName"]
    pvc = rendered.one("PersistentVolumeClaim", claim)
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    pv = rendered.one("PersistentVolume", pvc["spec"]["volumeName"])
    assert pv["spec"]["accessModes"] == ["ReadWriteMany"]
    assert pv["spec"]["claimRef"] == {"namespace": "facerec", "name": claim}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pvc["spec"]["storageClassName"] == pv["spec"]["storageClassName"] == ""


# --- MariaDB ------------------------------------------------------------------------------------


def test_mariadb_is_a_statefulset_with_storage_and_a_headless_service(rendered):
    statefulset = rendered.one("StatefulSet", "mariadb")
    service = rendered.one("Service", "mariadb")
    if rendered.target == "overlays/e2e":
        # No cluster DNS on the e2e node: a fixed ClusterIP, and the API pods map `mariadb` to it.
        api = rendered.one("Deployment", "facerec-api")["spec"]["template"]["spec"]
        aliases = {name: alias["ip"] for alias in api["hostAliases"] for name in alias["hostnames"]}
        assert aliases == {"mariadb": service["spec"]["clusterIP"]}
    else:
        assert service["spec"]["clusterIP"] == "None"
    assert statefulset["spec"]["serviceName"] == service["metadata"]["name"]
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert selects(service["spec"]["selector"], pod_labels)
    claims = statefulset["spec"]["volumeClaimTemplates"]
    mounts = {
        m["name"]: m["mountPath"]
        for m in statefulset["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    }
    assert mounts[claims[0]["metadata"]["name"]] == "/var/lib/mysql"
    env = statefulset["spec"]["template"]["spec"]["containers"][0]["env"]
    by_name = {e["name"]: e for e in env}
    assert by_name["MARIADB_DATABASE"]["value"] == "facerec"
    for name in ("MARIADB_USER", "MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD"):
        assert "secretKeyRef" in by_name[name]["valueFrom"]


# --- traffic: services, autoscaling, disruption, network ----------------------------------------


def test_services_select_their_pods(rendered):
    templates = [w["spec"]["template"]["metadata"]["labels"] for w, _ in rendered.pod_specs()]
    for service in rendered.of_kind("Service"):
        assert any(selects(service["spec"]["selector"], t) for t in templates)


def test_production_api_is_behind_a_load_balancer(production):
    assert production.one("Service", "facerec-api")["spec"]["type"] == "LoadBalancer"


def test_hpa_scales_the_api_on_cpu(rendered):
    hpa = rendered.one("HorizontalPodAutoscaler", "facerec-api")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "facerec-api",
    }
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"]


def test_pdb_covers_the_api_pods(rendered):
    pdb = rendered.one("PodDisruptionBudget", "facerec-api")["spec"]
    labels = rendered.one("Deployment", "facerec-api")["spec"]["template"]["metadata"]["labels"]
    assert selects(pdb["selector"]["matchLabels"], labels)
    assert pdb.get("maxUnavailable", 0) >= 1 or "minAvailable" in pdb


def allowed_to_reach(
    rendered,
    target_labels: dict,
    port: str,
    source_labels: dict,
    source_namespace: str | None = "facerec",
) -> bool:
    """NetworkPolicy semantics (ingress only) for a source pod in `source_namespace` (None: a
    client outside the cluster, such as one behind the LoadBalancer)."""
    policies = [
        p
        for p in rendered.of_kind("NetworkPolicy")
        if "Ingress" in p["spec"]["policyTypes"]
        and selects(p["spec"]["podSelector"].get("matchLabels", {}), target_labels)
    ]
    if not policies:
        return True
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            ports = [p["port"] for p in rule.get("ports", [])]
            if ports and port not in ports:
                continue
            peers = rule.get("from")
            if peers is None:
                return True
            for peer in peers:
                if "ipBlock" in peer:
                    return True
                if source_namespace is None:
                    continue
                if "namespaceSelector" in peer:
                    namespace_labels = {"kubernetes.io/metadata.name": source_namespace}
                    wanted = peer["namespaceSelector"].get("matchLabels", {})
                    if not selects(wanted, namespace_labels):
                        continue
                elif source_namespace != "facerec":
                    continue
                if selects(peer.get("podSelector", {}).get("matchLabels", {}), source_labels):
                    return True
    return False


def test_only_the_api_reaches_mariadb(rendered):
    mariadb = rendered.one("StatefulSet", "mariadb")["spec"]["template"]["metadata"]["labels"]
    api = rendered.one("Deployment", "facerec-api")["spec"]["template"]["metadata"]["labels"]
    assert allowed_to_reach(rendered, mariadb, "mysql", api)
    assert not allowed_to_reach(rendered, mariadb, "mysql", {"app": "anything-else"})
    assert not allowed_to_reach(rendered, mariadb, "mysql", mariadb)
    # The API itself stays reachable for the edge nodes.
    assert allowed_to_reach(rendered, api, "http", {"app": "edge-or-client"})


PROMETHEUS = {"app.kubernetes.io/name": "prometheus"}


def test_only_prometheus_reaches_the_operations_port(rendered):
    """/metrics and /readyz (model version, database state) are not for the public (issue 11)."""
    api = rendered.one("Deployment", "facerec-api")["spec"]["template"]["metadata"]["labels"]
    assert allowed_to_reach(rendered, api, "ops", PROMETHEUS, "monitoring")
    assert allowed_to_reach(rendered, api, "http", {"app": "edge"}, source_namespace=None)
    assert not allowed_to_reach(rendered, api, "ops", {"app": "edge"}, source_namespace=None)
    assert not allowed_to_reach(rendered, api, "ops", {"app": "anything"}, "monitoring")
    assert not allowed_to_reach(rendered, api, "ops", PROMETHEUS, "someone-elses")
    assert not allowed_to_reach(rendered, api, "ops", api)  # nor the other replicas


def test_the_public_service_exposes_only_the_api_port(rendered):
    ports = rendered.one("Service", "facerec-api")["spec"]["ports"]
    assert [p["targetPort"] for p in ports] == ["http"]


def test_metrics_are_scraped_where_the_operations_port_listens(rendered):
    deployment = rendered.one("Deployment", "facerec-api")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ops = next(p["containerPort"] for p in container["ports"] if p["name"] == "ops")
    config = rendered.one("ConfigMap", "facerec-config")["data"]
    assert config["FACEREC_OPS_BIND"] == f"0.0.0.0:{ops}"
    assert annotations["prometheus.io/port"] == str(ops)
    assert annotations["prometheus.io/path"] == "/metrics"


# --- the two entry points -----------------------------------------------------------------------


def test_production_model_store_is_nfs(production):
    pv = production.one("PersistentVolume", "facerec-models")["spec"]
    assert set(pv["nfs"]) == {"server", "path"}
    assert "hostPath" not in pv


def test_nfs_server_and_path_are_patchable(tmp_path):
    copy = copy_k8s(tmp_path)
    kustomization = copy / "kustomization.yaml"
    text = kustomization.read_text()
    assert "nfs.example.internal" in text
    kustomization.write_text(
        text.replace("nfs.example.internal", "10.20.30.40").replace(
            "/exports/facerec/models", "/srv/nfs/facerec"
        )
    )
    write_secrets_env(copy, throwaway_secrets())
    done = render(copy)
    assert done.returncode == 0, done.stderr
    assert "server: 10.20.30.40" in done.stdout
    assert "path: /srv/nfs/facerec" in done.stdout


def test_local_overlay_is_single_node(local):
    assert local.one("Deployment", "facerec-api")["spec"]["replicas"] == 1
    assert local.one("HorizontalPodAutoscaler", "facerec-api")["spec"]["minReplicas"] == 1
    pv = local.one("PersistentVolume", "facerec-models")["spec"]
    assert "nfs" not in pv and pv["hostPath"]["path"]
    assert local.one("Service", "facerec-api")["spec"]["type"] == "NodePort"


def test_check_script_renders_and_validates_everything():
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "check_k8s.sh")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for target in TARGETS:
        assert f"rendered k8s/{target}:" in done.stdout
    assert "hadolint: Dockerfile and database/Dockerfile clean" in done.stdout


def test_metrics_directory_is_a_writable_volume(rendered):
    config = rendered.one("ConfigMap", "facerec-config")["data"]
    pod = rendered.one("Deployment", "facerec-api")["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
    volume = mounts[config["PROMETHEUS_MULTIPROC_DIR"]]
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == volume)
