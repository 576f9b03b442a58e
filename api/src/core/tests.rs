//! The other core kinds (and the bodies that are not stored: Binding, Scale, DeleteOptions)
//! decoded from real manifests, with their defaults and validation.

use serde_json::json;

use super::*;
use crate::autoscaling::Scale;
use crate::codec::{decode, parse_object_body, DecodeError, FieldValidation};
use crate::coordination::Lease;
use crate::options::DeleteOptions;
use crate::testutil::{admit_update, admit_yaml, assert_idempotent, assert_no_nulls, invalid_fields};

#[test]
fn services_get_defaults() {
    let stored = admit_yaml::<Service>(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n",
    )
    .unwrap();
    assert_no_nulls(&stored, "");
    assert_eq!(
        stored["spec"],
        json!({"type": "ClusterIP", "selector": {"app": "web"},
               "ports": [{"protocol": "TCP", "port": 80, "targetPort": 80}],
               "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
               "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"})
    );
    assert_idempotent::<Service>(&stored);
    let node_port = admit_yaml::<Service>(
        "metadata: {name: web}\nspec:\n  type: NodePort\n  ports: [{port: 80, targetPort: http, nodePort: 30080}]\n",
    )
    .unwrap();
    assert_eq!(node_port["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(node_port["spec"]["externalTrafficPolicy"], "Cluster");
}

#[test]
fn bad_services_are_reported() {
    let yaml = r#"
metadata: {name: 1web}
spec:
  ports:
  - {port: 80, name: http}
  - {port: 0, name: http, nodePort: 30080}
  - {port: 81, targetPort: 70000}
"#;
    let errors = invalid_fields(admit_yaml::<Service>(yaml));
    let expect = [
        "metadata.name: Invalid value: \"1web\": a DNS-1035 label",
        "spec.ports[1].name: Duplicate value: \"http\"",
        "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        // The target port defaults to the port, so it is out of range too (as in Kubernetes).
        "spec.ports[1].targetPort: Invalid value: 0",
        "spec.ports[1].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
        "spec.ports[2].name: Required value",
        "spec.ports[2].targetPort: Invalid value: 70000",
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for (got, wanted) in errors.iter().zip(expect) {
        assert!(got.starts_with(wanted), "{got:?} should start with {wanted:?}");
    }
    let errors = invalid_fields(admit_yaml::<Service>(
        "metadata: {name: web}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 70000}]}\n",
    ));
    // Whether a node port is in the cluster's range is the API server's allocator's check.
    assert!(errors[0].starts_with("spec.ports[0].nodePort: Invalid value: 70000: must be between 1 and 65535"));
    assert_eq!(
        invalid_fields(admit_yaml::<Service>("metadata: {name: web}\nspec: {}\n")),
        vec!["spec.ports: Required value"]
    );
    admit_yaml::<Service>("metadata: {name: db}\nspec: {clusterIP: None, selector: {app: db}}\n")
        .expect("headless needs no ports");
}

#[test]
fn the_cluster_ip_cannot_change() {
    let stored =
        admit_yaml::<Service>("metadata: {name: web}\nspec: {clusterIP: 10.96.0.10, ports: [{port: 53}]}\n").unwrap();
    assert_eq!(stored["spec"]["clusterIPs"], json!(["10.96.0.10"]));
    let mut new = stored.clone();
    new["spec"]["clusterIP"] = json!("10.96.0.11");
    let errors = invalid_fields(admit_update::<Service>(&new, &stored));
    assert_eq!(
        errors,
        vec!["spec.clusterIPs[0]: Invalid value: \"10.96.0.11\": may not change once set"]
    );
}

#[test]
fn secrets_fold_string_data_into_base64() {
    let stored = admit_yaml::<Secret>(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {user: YWRtaW4=}\nstringData: {password: s3cret}\n",
    )
    .unwrap();
    assert_eq!(stored["data"], json!({"password": "czNjcmV0", "user": "YWRtaW4="}));
    assert!(stored.get("stringData").is_none());
    assert_eq!(stored["type"], "Opaque");
    assert_idempotent::<Secret>(&stored);

    let errors = invalid_fields(admit_yaml::<Secret>(
        "metadata: {name: db}\ndata: {\"a/b\": \"!!notbase64\"}\n",
    ));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("data[a/b]: Invalid value: \"a/b\": a valid config key"));
    assert!(errors[1].starts_with("data[a/b]: Invalid value: <value omitted>: must be base64-encoded"));
    let tls = invalid_fields(admit_yaml::<Secret>("metadata: {name: tls}\ntype: kubernetes.io/tls\n"));
    assert_eq!(
        tls,
        vec!["data[tls.crt]: Required value", "data[tls.key]: Required value"]
    );
}

#[test]
fn immutable_data_stays_put() {
    let stored = admit_yaml::<ConfigMap>("metadata: {name: cfg}\ndata: {a: \"1\"}\nimmutable: true\n").unwrap();
    let mut new = stored.clone();
    new["data"]["a"] = json!("2");
    let errors = invalid_fields(admit_update::<ConfigMap>(&new, &stored));
    assert_eq!(
        errors,
        vec!["data: Forbidden: field is immutable when `immutable` is set"]
    );
    let errors = invalid_fields(admit_yaml::<ConfigMap>(
        "metadata: {name: cfg}\ndata: {\"..x\": \"1\"}\n",
    ));
    assert_eq!(
        errors,
        vec!["data[..x]: Invalid value: \"..x\": must not start with '..'"]
    );
}

#[test]
fn namespaces_get_a_finalizer_and_a_phase() {
    let stored = admit_yaml::<Namespace>("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n").unwrap();
    assert_eq!(stored["spec"], json!({"finalizers": ["kubernetes"]}));
    assert_eq!(stored["status"], json!({"phase": "Active"}));
    assert_idempotent::<Namespace>(&stored);
    let errors = invalid_fields(admit_yaml::<Namespace>("metadata: {name: team.a}\n"));
    assert!(errors[0].starts_with("metadata.name: Invalid value: \"team.a\": a lowercase RFC 1123 label"));
    let stored = admit_yaml::<Namespace>("metadata: {name: a, namespace: b}\n").unwrap();
    assert!(
        stored["metadata"].get("namespace").is_none(),
        "a cluster-scoped object has no namespace"
    );
}

#[test]
fn nodes_round_trip_with_required_fields() {
    let yaml = r#"
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {kubernetes.io/hostname: node-1}
spec:
  podCIDR: 10.244.1.0/24
  taints:
  - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: 3800m, memory: 7Gi, pods: 110}
  conditions:
  - type: Ready
    status: "True"
    lastHeartbeatTime: "2024-05-01T10:00:00Z"
    lastTransitionTime: "2024-05-01T09:00:00Z"
    reason: KubeletReady
    message: kubelet is posting ready status
  addresses:
  - {type: InternalIP, address: 172.18.0.2}
  - {type: Hostname, address: node-1}
  daemonEndpoints:
    kubeletEndpoint: {Port: 10250}
  nodeInfo:
    machineID: abc
    systemUUID: def
    bootID: ghi
    kernelVersion: 6.1.0
    osImage: Debian GNU/Linux 12
    containerRuntimeVersion: docker://20.10.24
    kubeletVersion: v1.32.0
    kubeProxyVersion: v1.32.0
    operatingSystem: linux
    architecture: amd64
  images:
  - names: [nginx:1.27]
    sizeBytes: 187000000
"#;
    let stored = admit_yaml::<Node>(yaml).unwrap();
    assert_eq!(stored["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], 10250);
    assert_eq!(stored["status"]["allocatable"]["pods"], "110");
    let info = serde_json::to_value(NodeSystemInfo::default()).unwrap();
    assert_eq!(
        info.as_object().unwrap().len(),
        10,
        "all ten nodeInfo fields are always written"
    );
    let errors = invalid_fields(admit_yaml::<Node>(
        "metadata: {name: node-x}\nspec: {taints: [{key: a, effect: Sometimes}]}\n",
    ));
    assert!(errors[0].starts_with("spec.taints[0].effect: Unsupported value: \"Sometimes\""));
}

#[test]
fn endpoints_events_claims_and_leases_decode() {
    let endpoints = admit_yaml::<Endpoints>(
        r#"
metadata: {name: web}
subsets:
- addresses:
  - ip: 10.0.0.5
    nodeName: node-1
    targetRef: {kind: Pod, name: web-1, namespace: default, uid: u1}
  notReadyAddresses: [{ip: 10.0.0.6}]
  ports: [{port: 80, name: http}]
"#,
    )
    .unwrap();
    assert_eq!(endpoints["subsets"][0]["ports"][0]["protocol"], "TCP");
    let errors = invalid_fields(admit_yaml::<Endpoints>(
        "metadata: {name: web}\nsubsets: [{addresses: [{ip: nope}], ports: [{port: 80}]}]\n",
    ));
    assert_eq!(
        errors,
        vec!["subsets[0].addresses[0].ip: Invalid value: \"nope\": must be a valid IP address"]
    );

    let event = admit_yaml::<Event>(
        r#"
apiVersion: v1
kind: Event
metadata: {name: web.17c3d5, namespace: default}
involvedObject: {kind: Pod, name: web, namespace: default, uid: u1, apiVersion: v1, fieldPath: "spec.containers{nginx}"}
reason: Scheduled
message: Successfully assigned default/web to node-1
source: {component: default-scheduler}
firstTimestamp: "2024-05-01T10:00:00Z"
lastTimestamp: "2024-05-01T10:00:00Z"
count: 1
type: Normal
eventTime: "2024-05-01T10:00:00.123456Z"
reportingComponent: default-scheduler
reportingInstance: scheduler-1
"#,
    )
    .unwrap();
    assert_eq!(event["eventTime"], "2024-05-01T10:00:00.123456Z");
    let errors = invalid_fields(admit_yaml::<Event>(
        "metadata: {name: e, namespace: a}\ninvolvedObject: {kind: Pod, name: p, namespace: b}\n",
    ));
    assert_eq!(
        errors,
        vec!["involvedObject.namespace: Invalid value: \"b\": does not match event.namespace"]
    );

    let claim = admit_yaml::<PersistentVolumeClaim>(
        "metadata: {name: data}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
    )
    .unwrap();
    assert_eq!(claim["spec"]["volumeMode"], "Filesystem");
    assert_eq!(claim["status"]["phase"], "Pending");
    assert_idempotent::<PersistentVolumeClaim>(&claim);
    let mut bigger = claim.clone();
    bigger["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
    admit_update::<PersistentVolumeClaim>(&bigger, &claim).expect("a claim may grow");
    bigger["spec"]["accessModes"] = json!(["ReadWriteMany"]);
    assert!(invalid_fields(admit_update::<PersistentVolumeClaim>(&bigger, &claim))[0].starts_with("spec: Forbidden"));

    let lease = admit_yaml::<Lease>(
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: kube-scheduler, namespace: kube-system}\n\
         spec: {holderIdentity: a, leaseDurationSeconds: 15, renewTime: \"2024-05-01T10:00:00.000001Z\", leaseTransitions: 2}\n",
    )
    .unwrap();
    assert_eq!(lease["spec"]["renewTime"], "2024-05-01T10:00:00.000001Z");
    let errors = invalid_fields(admit_yaml::<Lease>(
        "metadata: {name: l}\nspec: {leaseDurationSeconds: 0}\n",
    ));
    assert_eq!(
        errors,
        vec!["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    );
}

#[test]
fn bodies_that_are_not_stored_decode_strictly() {
    let strict = |yaml: &str| parse_object_body(yaml.as_bytes()).unwrap();
    let (binding, _) = decode::<Binding>(
        &strict("apiVersion: v1\nkind: Binding\nmetadata: {name: web}\ntarget: {apiVersion: v1, kind: Node, name: node-1}\n"),
        FieldValidation::Strict,
    )
    .unwrap();
    assert_eq!(binding.target.name.as_deref(), Some("node-1"));
    assert_eq!(
        serde_json::to_value(Binding::new("default", "web", "node-1")).unwrap()["target"]["kind"],
        "Node"
    );

    let (scale, _) = decode::<Scale>(&strict("{\"spec\":{\"replicas\":3}}"), FieldValidation::Strict).unwrap();
    assert_eq!(scale.spec.replicas, Some(3));
    let scale = Scale::new(Default::default(), 3, 1, "app=web".into());
    assert_eq!(
        serde_json::to_value(scale).unwrap(),
        json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {}, "spec": {"replicas": 3},
               "status": {"replicas": 1, "selector": "app=web"}})
    );

    let (options, _) = decode::<DeleteOptions>(
        &strict("{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"propagationPolicy\":\"Background\",\"gracePeriodSeconds\":0,\"preconditions\":{\"uid\":\"u1\",\"resourceVersion\":\"5\"},\"dryRun\":[\"All\"]}"),
        FieldValidation::Strict,
    )
    .unwrap();
    assert_eq!(options.propagation(), Some("Background"));
    assert!(options.validate().is_empty());
    let bad = DeleteOptions {
        propagation_policy: Some("Sideways".into()),
        ..Default::default()
    };
    assert_eq!(bad.validate()[0].to_string(), "propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
    assert!(matches!(
        decode::<DeleteOptions>(&strict("{\"propagationPolcy\":\"Orphan\"}"), FieldValidation::Strict),
        Err(DecodeError::UnknownFields(f)) if f == vec!["propagationPolcy".to_string()]
    ));
}

#[test]
fn every_resource_admits_a_minimal_valid_object() {
    let bodies = [
        ("Namespace", json!({"metadata": {"name": "a"}})),
        ("Node", json!({"metadata": {"name": "a"}})),
        (
            "Pod",
            json!({"metadata": {"name": "a"}, "spec": {"containers": [{"name": "a", "image": "a"}]}}),
        ),
        (
            "Service",
            json!({"metadata": {"name": "a"}, "spec": {"ports": [{"port": 1}]}}),
        ),
        ("Endpoints", json!({"metadata": {"name": "a"}})),
        ("ConfigMap", json!({"metadata": {"name": "a"}})),
        ("Secret", json!({"metadata": {"name": "a"}})),
        (
            "Event",
            json!({"metadata": {"name": "a"}, "involvedObject": {"kind": "Pod", "name": "a"}}),
        ),
        (
            "PersistentVolumeClaim",
            json!({"metadata": {"name": "a"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        ("Lease", json!({"metadata": {"name": "a"}})),
    ];
    for (kind, body) in bodies {
        let info = crate::RESOURCES.iter().find(|r| r.kind == kind).unwrap();
        let admitted = (info.admit)(&body, None, FieldValidation::Strict).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_no_nulls(&admitted.object, kind);
        assert_eq!(admitted.object["kind"], kind);
        let again = (info.admit)(&admitted.object, Some(&admitted.object), FieldValidation::Strict).unwrap();
        assert_eq!(
            again.object, admitted.object,
            "{kind}: defaults are idempotent and an unchanged update is valid"
        );
    }
}
