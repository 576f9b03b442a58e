"""Kubernetes' official Python client (`kubernetes` on PyPI) against a kubelab API server.

Run by tests/python_client.rs as `python client_smoke.py SERVER [NODE]`: SERVER is the API
server's base URL; NODE, when given, is a node whose agent runs pods (its pod's log is read).
Every check is an assert; any failure exits non-zero with the reason. The client deserializes
every answer into its typed models, which enforce Kubernetes' required fields, so merely
reading a list is already a compatibility check.
"""

import sys
import threading
import time
import uuid

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

SERVER = sys.argv[1]
NODE = sys.argv[2] if len(sys.argv) > 2 else None
NS = "default"
SUFFIX = uuid.uuid4().hex[:6]
POD = f"py-pod-{SUFFIX}"
DEPLOY = f"py-deploy-{SUFFIX}"


def step(text):
    print(f"--- {text}", flush=True)


def wait_for(what, check, limit=30.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {limit} s waiting for {what}")


configuration = client.Configuration()
configuration.host = SERVER
api = client.ApiClient(configuration)
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)

step("list pods, then watch from the list's resourceVersion")
listed = core.list_namespaced_pod(NS)
assert listed.items is not None
start_rv = listed.metadata.resource_version
assert isinstance(start_rv, str) and start_rv, f"list resourceVersion: {start_rv!r}"

events = []
watcher = watch.Watch()


def follow():
    for event in watcher.stream(
        core.list_namespaced_pod,
        NS,
        field_selector=f"metadata.name={POD}",
        resource_version=start_rv,
        timeout_seconds=60,
    ):
        events.append((event["type"], event["object"]))
        if event["type"] == "DELETED":
            watcher.stop()


follower = threading.Thread(target=follow, daemon=True)
follower.start()

step("create a Deployment")
deployment = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": DEPLOY, "labels": {"app": DEPLOY}},
    "spec": {
        "replicas": 0,
        "selector": {"matchLabels": {"app": DEPLOY}},
        "template": {
            "metadata": {"labels": {"app": DEPLOY}},
            "spec": {"containers": [{"name": "web", "image": "kubelab/demo:latest", "ports": [{"containerPort": 8080}]}]},
        },
    },
}
created = apps.create_namespaced_deployment(NS, deployment)
assert created.metadata.name == DEPLOY
assert created.metadata.uid
assert created.spec.replicas == 0
assert created.spec.template.spec.containers[0].ports[0].protocol == "TCP", "server-side default"
names = [d.metadata.name for d in apps.list_namespaced_deployment(NS).items]
assert DEPLOY in names, names

step("patch the Deployment: strategic merge (dict), scale, JSON patch (list)")
patched = apps.patch_namespaced_deployment(
    DEPLOY, NS, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "kubelab/demo:v2"}]}}}}
)
container = patched.spec.template.spec.containers[0]
assert container.image == "kubelab/demo:v2", container.image
assert container.ports and container.ports[0].container_port == 8080, "strategic merge kept the ports"
assert patched.metadata.generation == 2, patched.metadata.generation
scale = apps.patch_namespaced_deployment_scale(DEPLOY, NS, {"spec": {"replicas": 1}})
assert scale.spec.replicas == 1, scale
patched = apps.patch_namespaced_deployment(
    DEPLOY, NS, [{"op": "replace", "path": "/spec/replicas", "value": 0}]
)
assert patched.spec.replicas == 0

step("create a Pod")
pod_spec = {
    "containers": [{"name": "app", "image": "kubelab/demo:latest", "args": ["sleep"]}],
    "terminationGracePeriodSeconds": 1,
}
if NODE:
    pod_spec["nodeName"] = NODE
pod = core.create_namespaced_pod(
    NS,
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": POD, "labels": {"app": "py"}}, "spec": pod_spec},
)
assert pod.metadata.name == POD
assert pod.status.phase == "Pending", pod.status.phase

step("list pods (with a label selector)")
pods = core.list_namespaced_pod(NS, label_selector="app=py")
assert [p.metadata.name for p in pods.items] == [POD], [p.metadata.name for p in pods.items]

step("patch the Pod: strategic merge (dict) and JSON patch (list)")
pod = core.patch_namespaced_pod(POD, NS, {"metadata": {"labels": {"patched": "yes"}}})
assert pod.metadata.labels == {"app": "py", "patched": "yes"}, pod.metadata.labels
pod = core.patch_namespaced_pod(
    POD, NS, [{"op": "add", "path": "/metadata/annotations", "value": {"kubelab.io/from": "python"}}]
)
assert pod.metadata.annotations["kubelab.io/from"] == "python", pod.metadata.annotations

if NODE:
    step(f"the pod runs on {NODE}; read its log")

    def running():
        current = core.read_namespaced_pod(POD, NS)
        statuses = current.status.container_statuses or []
        return current.status.phase == "Running" and statuses and statuses[0].ready and current

    current = wait_for("the pod to run", running)
    assert current.status.container_statuses[0].image, "ContainerStatus.image"
    log = wait_for("a log line", lambda: core.read_namespaced_pod_log(POD, NS, container="app"))
    assert isinstance(log, str) and log.strip(), repr(log)
    tail = core.read_namespaced_pod_log(POD, NS, tail_lines=1)
    assert len(tail.strip().splitlines()) == 1, repr(tail)

step("list nodes")
nodes = core.list_node()
if NODE:
    node = next(n for n in nodes.items if n.metadata.name == NODE)
    info = node.status.node_info
    for field in ("machine_id", "system_uuid", "boot_id", "kernel_version", "os_image",
                  "container_runtime_version", "kubelet_version", "kube_proxy_version",
                  "operating_system", "architecture"):
        assert getattr(info, field) is not None, f"nodeInfo.{field}"
    assert any(c.type == "Ready" for c in node.status.conditions)

step("errors are Status objects")
try:
    core.read_namespaced_pod("no-such-pod", NS)
    raise AssertionError("reading a missing pod succeeded")
except ApiException as e:
    assert e.status == 404, e.status

step("delete the Pod and the Deployment")
core.delete_namespaced_pod(POD, NS, grace_period_seconds=0)
apps.delete_namespaced_deployment(DEPLOY, NS)
wait_for("the pod to be gone", lambda: not core.list_namespaced_pod(NS, field_selector=f"metadata.name={POD}").items)

step("the watch saw ADDED, MODIFIED and DELETED, in order")
follower.join(timeout=30)
assert not follower.is_alive(), f"the watch did not see the deletion: {[t for t, _ in events]}"
kinds = [t for t, _ in events]
assert kinds[0] == "ADDED" and kinds[-1] == "DELETED" and "MODIFIED" in kinds, kinds
assert all(o.metadata.name == POD for _, o in events)
versions = [int(o.metadata.resource_version) for _, o in events]
assert versions == sorted(versions), versions

print("python client smoke test: all checks passed", flush=True)
