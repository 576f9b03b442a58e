//! Deployments, ReplicaSets and StatefulSets from real manifests: strict decoding, defaults,
//! the selector/template rules and what may change on update.

use serde_json::json;

use super::{Deployment, ReplicaSet, StatefulSet};
use crate::codec::DecodeError;
use crate::resource::AdmitError;
use crate::testutil::{admit_update, admit_yaml, assert_idempotent, assert_no_nulls, invalid_fields};

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
"#;

#[test]
fn the_docs_deployment_gets_kubernetes_defaults() {
    let stored = admit_yaml::<Deployment>(DEPLOYMENT).expect("admits");
    assert_no_nulls(&stored, "");
    let spec = &stored["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["containers"][0]["ports"][0]["protocol"], "TCP");
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
    assert_eq!(stored["apiVersion"], "apps/v1");
    assert!(stored.get("status").is_none());
    assert_idempotent::<Deployment>(&stored);
}

#[test]
fn a_misspelt_selector_field_is_rejected_with_its_path() {
    let yaml = DEPLOYMENT.replace(
        "matchLabels:\n      app: nginx\n  template",
        "matchLables:\n      app: nginx\n  template",
    );
    match admit_yaml::<Deployment>(&yaml) {
        Err(AdmitError::Decode {
            source: DecodeError::UnknownFields(fields),
            ..
        }) => {
            assert_eq!(fields, vec!["spec.selector.matchLables"]);
        }
        other => panic!("expected an unknown field, got {other:?}"),
    }
}

#[test]
fn the_selector_must_match_the_template() {
    let yaml = DEPLOYMENT.replace("      labels:\n        app: nginx", "      labels:\n        app: x");
    let errors = invalid_fields(admit_yaml::<Deployment>(&yaml));
    assert_eq!(
        errors,
        vec!["spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"]
    );
    let no_selector = DEPLOYMENT.replace("  selector:\n    matchLabels:\n      app: nginx\n", "");
    assert_eq!(
        invalid_fields(admit_yaml::<Deployment>(&no_selector)),
        vec!["spec.selector: Required value"]
    );
}

#[test]
fn bad_deployment_fields_are_reported() {
    let yaml = DEPLOYMENT
        .replace(
            "spec:\n  selector",
            "spec:\n  replicas: -1\n  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 0}\n  selector",
        )
        .replace("      containers:\n", "      restartPolicy: Never\n      containers:\n");
    let errors = invalid_fields(admit_yaml::<Deployment>(&yaml));
    assert_eq!(
        errors,
        vec![
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
        ]
    );
    let recreate = DEPLOYMENT.replace("spec:\n  selector", "spec:\n  strategy: {type: Recreate}\n  selector");
    let stored = admit_yaml::<Deployment>(&recreate).unwrap();
    assert_eq!(
        stored["spec"]["strategy"],
        json!({"type": "Recreate"}),
        "no rollingUpdate for Recreate"
    );
}

#[test]
fn the_selector_is_immutable() {
    let stored = admit_yaml::<Deployment>(DEPLOYMENT).unwrap();
    let mut new = stored.clone();
    new["spec"]["replicas"] = json!(3);
    new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.27");
    admit_update::<Deployment>(&new, &stored).expect("scaling and new images are fine");
    new["spec"]["selector"]["matchLabels"]["tier"] = json!("web");
    new["spec"]["template"]["metadata"]["labels"]["tier"] = json!("web");
    let errors = invalid_fields(admit_update::<Deployment>(&new, &stored));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("spec.selector: Invalid value: {\"matchLabels\""),
        "{errors:?}"
    );
    assert!(errors[0].ends_with("field is immutable"));
}

#[test]
fn workload_specs_are_always_written() {
    let deployment = serde_json::to_value(Deployment::default()).unwrap();
    assert!(deployment["spec"].is_object());
    let rs = serde_json::to_value(ReplicaSet {
        status: Some(Default::default()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        rs["status"],
        json!({"replicas": 0}),
        "status.replicas is required even when 0"
    );
    let sts = serde_json::to_value(StatefulSet {
        status: Some(Default::default()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(sts["status"], json!({"replicas": 0}));
}

#[test]
fn replicasets_default_and_validate() {
    let yaml = DEPLOYMENT.replace("kind: Deployment", "kind: ReplicaSet");
    let stored = admit_yaml::<ReplicaSet>(&yaml).unwrap();
    assert_eq!(stored["spec"]["replicas"], 1);
    assert!(stored["spec"].get("strategy").is_none());
    assert_idempotent::<ReplicaSet>(&stored);
    let mut status = stored.clone();
    status["status"] = json!({"replicas": 1, "readyReplicas": 1, "observedGeneration": 1});
    admit_update::<ReplicaSet>(&status, &stored).unwrap();
}

const STATEFULSET: &str = r#"
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: nginx
  serviceName: nginx
  replicas: 3
  minReadySeconds: 10
  template:
    metadata:
      labels:
        app: nginx
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.24
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      storageClassName: "my-storage-class"
      resources:
        requests:
          storage: 1Gi
"#;

#[test]
fn the_docs_statefulset_gets_kubernetes_defaults() {
    let stored = admit_yaml::<StatefulSet>(STATEFULSET).expect("admits, mounting its claim template");
    assert_no_nulls(&stored, "");
    let spec = &stored["spec"];
    assert_eq!(spec["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        spec["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(
        spec["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(spec["template"]["spec"]["terminationGracePeriodSeconds"], 10);
    assert_eq!(spec["volumeClaimTemplates"][0]["spec"]["volumeMode"], "Filesystem");
    assert!(
        spec["template"]["spec"].get("volumes").is_none(),
        "claims are not added to the stored template"
    );
    assert_idempotent::<StatefulSet>(&stored);
}

#[test]
fn statefulset_updates_are_limited() {
    let stored = admit_yaml::<StatefulSet>(STATEFULSET).unwrap();
    let mut new = stored.clone();
    new["spec"]["replicas"] = json!(5);
    new["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = json!(2);
    admit_update::<StatefulSet>(&new, &stored).expect("replicas and strategy may change");
    new["spec"]["serviceName"] = json!("other");
    let errors = invalid_fields(admit_update::<StatefulSet>(&new, &stored));
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("spec: Forbidden: updates to statefulset spec for fields other than 'replicas'"));
}

#[test]
fn statefulset_claims_are_validated() {
    let yaml = STATEFULSET
        .replace("storage: 1Gi", "storage: lots")
        .replace("podManagementPolicy", "x");
    let errors = invalid_fields(admit_yaml::<StatefulSet>(&yaml));
    assert_eq!(
        errors,
        vec!["spec.volumeClaimTemplates[0].spec.resources[storage]: Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]
    );
}
