//! Pods decoded from real manifests, their defaults, and the errors bad ones get.

use serde_json::json;

use crate::codec::DecodeError;
use crate::core::pod::{ContainerStatus, Pod};
use crate::resource::AdmitError;
use crate::testutil::{admit_update, admit_yaml, assert_idempotent, assert_no_nulls, invalid_fields};

const WEB_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: default
  labels:
    app.kubernetes.io/name: web
  annotations:
    example.com/note: "anything: goes here"
spec:
  initContainers:
  - name: migrate
    image: registry.example.com:5000/tools/migrate:v3
    command: ["/bin/migrate", "--up"]
  containers:
  - name: nginx
    image: nginx:1.27
    ports:
    - name: http
      containerPort: 80
    - containerPort: 9113
      protocol: TCP
      name: metrics
    env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: PASSWORD
      valueFrom:
        secretKeyRef:
          name: db
          key: password
          optional: true
    - name: MODE
      value: production
    envFrom:
    - prefix: CFG_
      configMapRef:
        name: web-config
    resources:
      requests:
        cpu: 100m
        memory: 64Mi
      limits:
        cpu: 1
        memory: 128Mi
    volumeMounts:
    - name: html
      mountPath: /usr/share/nginx/html
      readOnly: true
    - name: config
      mountPath: /etc/nginx/conf.d
    livenessProbe:
      httpGet:
        port: http
      initialDelaySeconds: 5
    readinessProbe:
      tcpSocket:
        port: 80
    startupProbe:
      exec:
        command: ["cat", "/tmp/ready"]
      failureThreshold: 30
    lifecycle:
      preStop:
        exec:
          command: ["nginx", "-s", "quit"]
    securityContext:
      runAsNonRoot: true
      capabilities:
        drop: ["ALL"]
  volumes:
  - name: html
    emptyDir:
      medium: Memory
      sizeLimit: 64Mi
  - name: config
    configMap:
      name: web-config
      items:
      - key: default.conf
        path: default.conf
  - name: data
    persistentVolumeClaim:
      claimName: web-data
  nodeSelector:
    kubernetes.io/os: linux
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - key: topology.kubernetes.io/zone
            operator: In
            values: [a, b]
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 10
        preference:
          matchExpressions:
          - key: disk
            operator: Exists
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: web
  tolerations:
  - key: node.kubernetes.io/not-ready
    operator: Exists
    effect: NoExecute
    tolerationSeconds: 300
  topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        app.kubernetes.io/name: web
  securityContext:
    fsGroup: 2000
  serviceAccountName: web
  imagePullSecrets:
  - name: regcred
  hostAliases:
  - ip: 127.0.0.1
    hostnames: [foo.local]
"#;

#[test]
fn a_real_pod_decodes_strictly_and_gets_defaults() {
    let stored = admit_yaml::<Pod>(WEB_POD).expect("admits");
    assert_no_nulls(&stored, "");
    let spec = &stored["spec"];
    assert_eq!(spec["restartPolicy"], "Always");
    assert_eq!(spec["dnsPolicy"], "ClusterFirst");
    assert_eq!(spec["schedulerName"], "default-scheduler");
    assert_eq!(spec["terminationGracePeriodSeconds"], 30);
    assert_eq!(spec["enableServiceLinks"], true);
    assert_eq!(spec["serviceAccount"], "web");
    let nginx = &spec["containers"][0];
    assert_eq!(nginx["ports"][0]["protocol"], "TCP");
    assert_eq!(nginx["imagePullPolicy"], "IfNotPresent");
    assert_eq!(nginx["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(nginx["terminationMessagePolicy"], "File");
    assert_eq!(
        nginx["resources"]["limits"]["cpu"], "1",
        "a YAML number becomes a quantity string"
    );
    assert_eq!(nginx["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    let liveness = &nginx["livenessProbe"];
    assert_eq!(
        liveness["httpGet"],
        json!({"path": "/", "port": "http", "scheme": "HTTP"})
    );
    assert_eq!(liveness["periodSeconds"], 10);
    assert_eq!(liveness["timeoutSeconds"], 1);
    assert_eq!(liveness["successThreshold"], 1);
    assert_eq!(liveness["failureThreshold"], 3);
    assert_eq!(nginx["startupProbe"]["failureThreshold"], 30, "given values are kept");
    assert_eq!(spec["initContainers"][0]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(spec["volumes"][1]["configMap"]["defaultMode"], 420);
    // Fields typed as pass-through keep their content.
    assert_eq!(nginx["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(
        stored["metadata"]["annotations"]["example.com/note"],
        "anything: goes here"
    );
    assert_idempotent::<Pod>(&stored);
}

#[test]
fn limits_without_requests_become_requests() {
    let stored = admit_yaml::<Pod>(
        "metadata: {name: a}\nspec:\n  containers:\n  - name: a\n    image: busybox\n    resources:\n      limits: {cpu: 500m}\n",
    )
    .unwrap();
    let container = &stored["spec"]["containers"][0];
    assert_eq!(container["resources"]["requests"]["cpu"], "500m");
    assert_eq!(
        container["imagePullPolicy"], "Always",
        "an untagged image is pulled every time"
    );
}

#[test]
fn misspelt_fields_are_named() {
    let yaml = WEB_POD
        .replace("imagePullSecrets:", "imagePullSecretz:")
        .replace("mountPath: /etc/nginx", "mountPth: /etc/nginx");
    match admit_yaml::<Pod>(&yaml) {
        Err(AdmitError::Decode {
            source: DecodeError::UnknownFields(fields),
            ..
        }) => {
            assert_eq!(
                fields,
                vec!["spec.containers[0].volumeMounts[1].mountPth", "spec.imagePullSecretz"]
            );
        }
        other => panic!("expected unknown fields, got {other:?}"),
    }
}

#[test]
fn invalid_pods_report_each_field() {
    let yaml = r#"
metadata: {name: Web_1, labels: {"bad key!": x}}
spec:
  containers:
  - name: web
    image: nginx
    ports: [{containerPort: 70000, name: HTTP}, {containerPort: 81, protocol: ICMP}]
    resources:
      limits: {memory: 12XB, cpu: 1}
      requests: {cpu: 2}
    volumeMounts: [{name: missing, mountPath: /x}]
    livenessProbe: {periodSeconds: 5}
  - name: web
  restartPolicy: Sometimes
"#;
    let errors = invalid_fields(admit_yaml::<Pod>(yaml));
    let expect = [
        "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain",
        "metadata.labels: Invalid value: \"bad key!\"",
        "spec.containers[0].ports[0].name: Invalid value: \"HTTP\"",
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        "spec.containers[0].ports[1].protocol: Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        "spec.containers[0].resources.limits[memory]: Invalid value: \"12XB\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        "spec.containers[0].resources.requests[cpu]: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
        "spec.containers[0].volumeMounts[0].name: Invalid value: \"missing\"",
        "spec.containers[0].livenessProbe: Required value: must specify a handler type",
        "spec.containers[1].name: Duplicate value: \"web\"",
        "spec.containers[1].image: Required value",
        "spec.restartPolicy: Unsupported value: \"Sometimes\"",
    ];
    for wanted in expect {
        assert!(
            errors.iter().any(|e| e.starts_with(wanted)),
            "missing {wanted:?} in {errors:#?}"
        );
    }
}

#[test]
fn a_pod_needs_containers_and_a_name() {
    let errors = invalid_fields(admit_yaml::<Pod>("metadata: {generateName: web-}\nspec: {}\n"));
    assert_eq!(
        errors,
        vec![
            "metadata.name: Required value: name or generateName is required",
            "spec.containers: Required value"
        ]
    );
}

#[test]
fn pod_updates_may_change_images_only() {
    let stored = admit_yaml::<Pod>(WEB_POD).unwrap();
    let mut new = stored.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    new["spec"]["activeDeadlineSeconds"] = json!(60);
    admit_update::<Pod>(&new, &stored).expect("image changes are allowed");

    let mut bound = stored.clone();
    bound["spec"]["nodeName"] = json!("node-1");
    let bound = admit_update::<Pod>(&bound, &stored).expect("an unbound pod may be bound");
    let mut moved = bound.clone();
    moved["spec"]["nodeName"] = json!("node-2");
    let errors = invalid_fields(admit_update::<Pod>(&moved, &bound));
    assert!(
        errors[0].starts_with("spec: Forbidden: pod updates may not change fields"),
        "{errors:?}"
    );

    let mut renamed = stored.clone();
    renamed["metadata"]["name"] = json!("other");
    let errors = invalid_fields(admit_update::<Pod>(&renamed, &stored));
    assert_eq!(
        errors,
        vec!["metadata.name: Invalid value: \"other\": field is immutable"]
    );
}

#[test]
fn required_status_fields_are_always_written() {
    let status = serde_json::to_value(ContainerStatus::default()).unwrap();
    assert_eq!(
        status,
        json!({"name": "", "ready": false, "restartCount": 0, "image": "", "imageID": ""})
    );
    let pod = serde_json::to_value(Pod::default()).unwrap();
    assert_eq!(pod, json!({"metadata": {}, "spec": {"containers": []}}));
}

#[test]
fn pod_status_round_trips() {
    let status = json!({
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:00Z"}],
        "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
        "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}],
        "startTime": "2024-05-01T10:00:00Z", "qosClass": "Burstable",
        "containerStatuses": [{
            "name": "nginx", "ready": true, "restartCount": 1, "started": true,
            "image": "nginx:1.27", "imageID": "docker-pullable://nginx@sha256:ab", "containerID": "docker://abc",
            "state": {"running": {"startedAt": "2024-05-01T10:00:01Z"}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2024-05-01T09:59:00Z"}}
        }]
    });
    let body =
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "a:1"}]}, "status": status});
    let stored = crate::resource::admit::<Pod>(&body, None, crate::codec::FieldValidation::Strict)
        .unwrap()
        .object;
    assert_no_nulls(&stored, "");
    assert_eq!(
        stored["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"],
        137
    );
    assert!(
        stored["status"]["conditions"][0].get("lastProbeTime").is_none(),
        "null is dropped, not echoed"
    );
}
