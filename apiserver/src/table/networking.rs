//! # Ingresses and IngressClasses: how traffic gets in
//!
//! - **Ingresses**: CLASS (`spec.ingressClassName`, `<none>`), HOSTS (the rules' hosts joined by
//!   commas, `*` when a rule has none), ADDRESS (what the ingress controller wrote into
//!   `status.loadBalancer.ingress`), PORTS (`80`, or `80, 443` when the Ingress has TLS: the
//!   conventional ports, whatever the controller listens on), as Kubernetes' printer does.
//! - **IngressClasses**: CONTROLLER and PARAMETERS (`kind.group/name`).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{age, array, at, col, name, text, text_or_empty, Printer, AGE, NAME};

/// Ingresses.
pub const INGRESS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Class",
            "string",
            "The IngressClass that serves the Ingress (spec.ingressClassName).",
        ),
        col(
            "Hosts",
            "string",
            "Hosts the Ingress routes (spec.rules[].host); * for every host.",
        ),
        col(
            "Address",
            "string",
            "Where the Ingress is reachable, as its controller reports it (status.loadBalancer.ingress).",
        ),
        col("Ports", "string", "80, and 443 when the Ingress has TLS."),
        AGE,
    ],
    cells: ingress_cells,
    conditions: super::no_conditions,
};

fn ingress_cells(ingress: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let class = text(ingress, &["spec", "ingressClassName"]).unwrap_or("<none>");
    let hosts: Vec<&str> = array(ingress, &["spec", "rules"])
        .iter()
        .map(|rule| text(rule, &["host"]).filter(|h| !h.is_empty()).unwrap_or("*"))
        .collect();
    let addresses: Vec<&str> = array(ingress, &["status", "loadBalancer", "ingress"])
        .iter()
        .filter_map(|lb| text(lb, &["ip"]).or_else(|| text(lb, &["hostname"])))
        .filter(|a| !a.is_empty())
        .collect();
    let ports = if array(ingress, &["spec", "tls"]).is_empty() {
        "80"
    } else {
        "80, 443"
    };
    vec![
        name(ingress).into(),
        class.into(),
        if hosts.is_empty() { "*".into() } else { hosts.join(",") }.into(),
        addresses.join(",").into(),
        ports.into(),
        age(ingress, now),
    ]
}

/// IngressClasses.
pub const INGRESS_CLASS: Printer = Printer {
    columns: &[
        NAME,
        col(
            "Controller",
            "string",
            "The controller that serves the class (spec.controller).",
        ),
        col(
            "Parameters",
            "string",
            "Controller-specific settings (spec.parameters), as kind.group/name.",
        ),
        AGE,
    ],
    cells: ingress_class_cells,
    conditions: super::no_conditions,
};

fn ingress_class_cells(class: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let parameters = match at(class, &["spec", "parameters"]) {
        Some(p) if p.is_object() => {
            let group = text(p, &["apiGroup"]).map(|g| format!(".{g}")).unwrap_or_default();
            format!("{}{group}/{}", text_or_empty(p, &["kind"]), text_or_empty(p, &["name"]))
        }
        _ => "<none>".into(),
    };
    vec![
        name(class).into(),
        text_or_empty(class, &["spec", "controller"]).into(),
        parameters.into(),
        age(class, now),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ingress_rows_match_kubectl() {
        let now = Utc::now();
        let ingress = json!({
            "metadata": {"name": "shop"},
            "spec": {"ingressClassName": "kubelab", "tls": [{"secretName": "t"}],
                     "rules": [{"host": "shop.example.com"}, {"http": {"paths": []}}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}},
        });
        let cells = ingress_cells(&ingress, now);
        assert_eq!(
            &cells[..5],
            &[
                json!("shop"),
                json!("kubelab"),
                json!("shop.example.com,*"),
                json!("127.0.0.1"),
                json!("80, 443")
            ]
        );
        let bare = json!({"metadata": {"name": "x"}, "spec": {"defaultBackend": {}}});
        let cells = ingress_cells(&bare, now);
        assert_eq!(
            &cells[..5],
            &[json!("x"), json!("<none>"), json!("*"), json!(""), json!("80")]
        );
        assert_eq!(cells.len(), INGRESS.columns.len());
    }

    #[test]
    fn ingress_class_rows_name_the_controller() {
        let class = json!({"metadata": {"name": "kubelab"}, "spec": {"controller": "kubelab.io/ingress",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}});
        let cells = ingress_class_cells(&class, Utc::now());
        assert_eq!(cells[1], "kubelab.io/ingress");
        assert_eq!(cells[2], "IngressParameters.k8s.example.com/p");
        assert_eq!(cells.len(), INGRESS_CLASS.columns.len());
    }
}
