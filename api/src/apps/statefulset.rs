//! StatefulSet: pods with a stable identity, for databases and other stateful apps.
//!
//! Unlike a ReplicaSet's interchangeable pods, a StatefulSet's pods are numbered (`db-0`,
//! `db-1`, ...), created in order (`OrderedReady`) and each gets its own PersistentVolumeClaim
//! from `volumeClaimTemplates` and its own DNS name through the headless Service `serviceName`.
//! When `db-1` is rescheduled it comes back with the same name and the same disk.

use serde::{Deserialize, Serialize};

use super::workload::{is_zero_i32, is_zero_i64, validate_selector_and_template};
use crate::core::pod::{PersistentVolumeClaimVolumeSource, PodTemplateSpec, Volume};
use crate::core::pvc::PersistentVolumeClaim;
use crate::intstr::IntOrString;
use crate::meta::{LabelSelector, ObjectMeta, Time};
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    invalid_each, validate_enum, validate_nonnegative, validate_object_meta, validate_object_meta_update, FieldError,
};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatefulSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: StatefulSetSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatefulSetStatus>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct StatefulSetSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    pub selector: LabelSelector,
    pub template: PodTemplateSpec,
    /// One claim per pod and template: pod `db-0` mounts claim `data-db-0`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<PersistentVolumeClaim>,
    /// The headless Service that gives each pod its DNS name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// `OrderedReady` (the default: one at a time, in order) or `Parallel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_management_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<StatefulSetUpdateStrategy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim_retention_policy: Option<StatefulSetPersistentVolumeClaimRetentionPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordinals: Option<StatefulSetOrdinals>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct StatefulSetUpdateStrategy {
    /// `RollingUpdate` (the default) or `OnDelete`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateStatefulSetStrategy>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct RollingUpdateStatefulSetStrategy {
    /// Only pods with an ordinal at or above this are updated (a canary for the highest ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
}

/// Whether claims are deleted when the set is deleted or scaled down: `Retain` or `Delete`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct StatefulSetPersistentVolumeClaimRetentionPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when_deleted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when_scaled: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct StatefulSetOrdinals {
    /// The number of the first pod (0 by default).
    pub start: i32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct StatefulSetStatus {
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// Required by Kubernetes' schema, so written even when 0.
    pub replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub ready_replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub current_replicas: i32,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub updated_replicas: i32,
    /// The template revision of the pods before the update under way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_revision: Option<String>,
    /// The template revision being rolled out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<StatefulSetCondition>,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub available_replicas: i32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct StatefulSetCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Object for StatefulSet {
    object_identity!("apps", "v1", "StatefulSet", "statefulsets", namespaced);

    fn set_defaults(&mut self) {
        let spec = &mut self.spec;
        spec.replicas.get_or_insert(1);
        if spec.pod_management_policy.as_deref().is_none_or(str::is_empty) {
            spec.pod_management_policy = Some("OrderedReady".into());
        }
        let strategy = spec.update_strategy.get_or_insert_with(Default::default);
        if strategy.type_.as_deref().is_none_or(str::is_empty) {
            strategy.type_ = Some("RollingUpdate".into());
        }
        if strategy.type_.as_deref() == Some("RollingUpdate") {
            strategy
                .rolling_update
                .get_or_insert_with(Default::default)
                .partition
                .get_or_insert(0);
        }
        spec.revision_history_limit.get_or_insert(10);
        let retention = spec
            .persistent_volume_claim_retention_policy
            .get_or_insert_with(Default::default);
        retention.when_deleted.get_or_insert_with(|| "Retain".into());
        retention.when_scaled.get_or_insert_with(|| "Retain".into());
        spec.template.spec.set_defaults();
        for claim in &mut spec.volume_claim_templates {
            claim.set_defaults();
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, true, names::dns1123_subdomain);
        let spec = &self.spec;
        if let Some(replicas) = spec.replicas {
            errs.extend(validate_nonnegative("spec.replicas", replicas.into()));
        }
        // Pods mount their claims by the template's name, so the claims count as volumes here.
        let mut template = spec.template.clone();
        for claim in &spec.volume_claim_templates {
            let name = claim.metadata.name().to_string();
            if !template.spec.volumes.iter().any(|v| v.name == name) {
                template.spec.volumes.push(Volume {
                    name: name.clone(),
                    persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                        claim_name: name,
                        read_only: None,
                    }),
                    ..Default::default()
                });
            }
        }
        errs.extend(validate_selector_and_template(&spec.selector, &template, "StatefulSet"));
        for (i, claim) in spec.volume_claim_templates.iter().enumerate() {
            let path = format!("spec.volumeClaimTemplates[{i}]");
            match claim.metadata.name.as_deref() {
                None | Some("") => errs.push(FieldError::required(format!("{path}.metadata.name"))),
                Some(name) => errs.extend(invalid_each(
                    &format!("{path}.metadata.name"),
                    name,
                    names::dns1123_subdomain(name),
                )),
            }
            errs.extend(claim.spec.validate(&format!("{path}.spec")));
        }
        if let Some(service) = spec.service_name.as_deref().filter(|s| !s.is_empty()) {
            errs.extend(invalid_each("spec.serviceName", service, names::dns1123_label(service)));
        }
        if let Some(policy) = &spec.pod_management_policy {
            errs.extend(validate_enum(
                "spec.podManagementPolicy",
                policy,
                &["OrderedReady", "Parallel"],
            ));
        }
        if let Some(strategy) = &spec.update_strategy {
            let kind = strategy.type_.as_deref().unwrap_or("RollingUpdate");
            errs.extend(validate_enum(
                "spec.updateStrategy.type",
                kind,
                &["OnDelete", "RollingUpdate"],
            ));
            if let Some(rolling) = &strategy.rolling_update {
                if kind == "OnDelete" {
                    errs.push(FieldError::invalid(
                        "spec.updateStrategy.rollingUpdate",
                        crate::validation::Verbatim(String::from("{...}")),
                        "only allowed for updateStrategy 'RollingUpdate'",
                    ));
                }
                if let Some(partition) = rolling.partition {
                    errs.extend(validate_nonnegative(
                        "spec.updateStrategy.rollingUpdate.partition",
                        partition.into(),
                    ));
                }
                if let Some(IntOrString::Int(n)) = rolling.max_unavailable {
                    if n < 1 {
                        errs.push(FieldError::invalid(
                            "spec.updateStrategy.rollingUpdate.maxUnavailable",
                            n,
                            "must be greater than 0",
                        ));
                    }
                }
            }
        }
        if let Some(policy) = &spec.persistent_volume_claim_retention_policy {
            for (field, value) in [
                ("whenDeleted", &policy.when_deleted),
                ("whenScaled", &policy.when_scaled),
            ] {
                if let Some(value) = value {
                    errs.extend(validate_enum(
                        &format!("spec.persistentVolumeClaimRetentionPolicy.{field}"),
                        value,
                        &["Retain", "Delete"],
                    ));
                }
            }
        }
        for (field, value) in [
            ("revisionHistoryLimit", spec.revision_history_limit),
            ("minReadySeconds", spec.min_ready_seconds),
        ] {
            if let Some(value) = value {
                errs.extend(validate_nonnegative(&format!("spec.{field}"), value.into()));
            }
        }
        if let Some(ordinals) = &spec.ordinals {
            errs.extend(validate_nonnegative("spec.ordinals.start", ordinals.start.into()));
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        let mut allowed = old.spec.clone();
        allowed.replicas = self.spec.replicas;
        allowed.template = self.spec.template.clone();
        allowed.update_strategy = self.spec.update_strategy.clone();
        allowed.persistent_volume_claim_retention_policy = self.spec.persistent_volume_claim_retention_policy.clone();
        allowed.min_ready_seconds = self.spec.min_ready_seconds;
        allowed.ordinals = self.spec.ordinals.clone();
        allowed.revision_history_limit = self.spec.revision_history_limit;
        if allowed != self.spec {
            errs.push(FieldError::forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', \
                 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ));
        }
        errs
    }
}
