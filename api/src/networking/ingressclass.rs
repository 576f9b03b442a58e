//! IngressClass (`networking.k8s.io/v1`, cluster-scoped): a kind of ingress controller.
//!
//! `spec.controller` names the controller that serves Ingresses of the class
//! (`kubelab.io/ingress` for kubelab's own); it cannot change once set, because Ingresses
//! already served would silently move to another controller. The class annotated
//! `ingressclass.kubernetes.io/is-default-class: "true"` serves Ingresses that name no class.

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::names;
use crate::object::Object;
use crate::object_identity;
use crate::validation::{
    invalid_each, validate_enum, validate_immutable, validate_object_meta, validate_object_meta_update, FieldError,
};

/// The annotation that makes a class the default for Ingresses that name none.
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";

/// The longest `spec.controller` Kubernetes accepts.
const MAX_CONTROLLER_LEN: usize = 250;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressClass {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: IngressClassSpec,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressClassSpec {
    /// The controller serving this class, a domain-prefixed path: `kubelab.io/ingress`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub controller: String,
    /// Controller-specific settings kept in another object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<IngressClassParametersReference>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IngressClassParametersReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    pub kind: String,
    pub name: String,
    /// `Cluster` (the default) or `Namespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Whether the class is marked as the cluster's default.
pub fn is_default_class(class: &IngressClass) -> bool {
    class
        .metadata
        .annotations
        .get(DEFAULT_CLASS_ANNOTATION)
        .is_some_and(|v| v == "true")
}

impl Object for IngressClass {
    object_identity!("networking.k8s.io", "v1", "IngressClass", "ingressclasses", cluster);

    fn set_defaults(&mut self) {
        if let Some(parameters) = &mut self.spec.parameters {
            if parameters.scope.as_deref().is_none_or(str::is_empty) {
                parameters.scope = Some("Cluster".into());
            }
        }
    }

    fn validate(&self) -> Vec<FieldError> {
        let mut errs = validate_object_meta(&self.metadata, false, names::dns1123_subdomain);
        let controller = &self.spec.controller;
        if controller.is_empty() {
            errs.push(FieldError::required("spec.controller"));
        } else if controller.len() > MAX_CONTROLLER_LEN {
            errs.push(FieldError::too_long("spec.controller", MAX_CONTROLLER_LEN));
        } else {
            errs.extend(validate_controller("spec.controller", controller));
        }
        if let Some(p) = &self.spec.parameters {
            let path = "spec.parameters";
            if p.kind.is_empty() {
                errs.push(FieldError::required(format!("{path}.kind")));
            }
            if p.name.is_empty() {
                errs.push(FieldError::required(format!("{path}.name")));
            }
            let scope = p.scope.as_deref().unwrap_or("Cluster");
            errs.extend(validate_enum(
                &format!("{path}.scope"),
                scope,
                &["Cluster", "Namespace"],
            ));
            match (scope, p.namespace.as_deref()) {
                ("Namespace", None | Some("")) => errs.push(FieldError {
                    detail: "`parameters.scope` is set to 'Namespace'".into(),
                    ..FieldError::required(format!("{path}.namespace"))
                }),
                ("Cluster", Some(ns)) if !ns.is_empty() => errs.push(FieldError::forbidden(
                    format!("{path}.namespace"),
                    "`parameters.scope` is set to 'Cluster'",
                )),
                _ => {}
            }
        }
        errs
    }

    fn validate_update(&self, old: &Self) -> Vec<FieldError> {
        let mut errs = self.validate();
        errs.extend(validate_object_meta_update(&self.metadata, &old.metadata));
        errs.extend(validate_immutable(
            "spec.controller",
            &self.spec.controller,
            &old.spec.controller,
        ));
        errs
    }
}

/// A controller name is a domain-prefixed path (`example.com/ingress`): a DNS subdomain, a `/`,
/// then a non-empty path.
fn validate_controller(field: &str, controller: &str) -> Vec<FieldError> {
    let detail = "must be a domain-prefixed path (such as \"acme.io/foo\")";
    match controller.split_once('/') {
        Some((domain, path)) if !path.is_empty() && names::dns1123_subdomain(domain).is_empty() => Vec::new(),
        Some((domain, path)) if !path.is_empty() => invalid_each(field, controller, names::dns1123_subdomain(domain)),
        _ => vec![FieldError::invalid(field, controller, detail)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{admit_update, admit_yaml, assert_idempotent, assert_no_nulls, invalid_fields};
    use serde_json::json;

    const KUBELAB: &str = "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: kubelab\n  \
        annotations: {ingressclass.kubernetes.io/is-default-class: 'true'}\nspec:\n  controller: kubelab.io/ingress\n";

    #[test]
    fn a_class_is_stored_and_can_be_the_default() {
        let stored = admit_yaml::<IngressClass>(KUBELAB).unwrap();
        assert_no_nulls(&stored, "");
        assert_idempotent::<IngressClass>(&stored);
        let class: IngressClass = serde_json::from_value(stored).unwrap();
        assert!(is_default_class(&class));
        assert!(!is_default_class(&IngressClass::default()));
    }

    #[test]
    fn the_controller_is_required_well_formed_and_immutable() {
        let fields = invalid_fields(admit_yaml::<IngressClass>("metadata: {name: a}\nspec: {}\n"));
        assert_eq!(fields, ["spec.controller: Required value"]);
        let fields = invalid_fields(admit_yaml::<IngressClass>(
            "metadata: {name: a}\nspec: {controller: nginx}\n",
        ));
        assert_eq!(fields.len(), 1);
        assert!(fields[0].contains("domain-prefixed path"), "{fields:?}");
        let fields = invalid_fields(admit_yaml::<IngressClass>(
            "metadata: {name: a}\nspec:\n  controller: a.io/x\n  parameters: {kind: K, name: p, scope: Namespace}\n",
        ));
        assert_eq!(
            fields,
            ["spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"]
        );

        let old = admit_yaml::<IngressClass>(KUBELAB).unwrap();
        let mut changed = old.clone();
        changed["spec"]["controller"] = json!("other.io/ingress");
        let fields = invalid_fields(admit_update::<IngressClass>(&changed, &old));
        assert_eq!(
            fields,
            ["spec.controller: Invalid value: \"other.io/ingress\": field is immutable"]
        );
    }
}
