//! `create -f` (POST each object; an existing one is an error, unlike `apply`), and the
//! generators `create namespace NAME` and `create deployment NAME --image=I [--replicas=N]`.

use kubelab_client::{Method, RequestBody};
use serde_json::{json, Value};

use super::apply::{locate, with_namespace};
use super::display_name;
use crate::cli::{CreateArgs, CreateCommand};
use crate::context::Ctx;
use crate::error::{CliError, Result};
use crate::manifest;

pub async fn run(ctx: &mut Ctx<'_>, args: CreateArgs) -> Result<()> {
    match args.what {
        Some(CreateCommand::Namespace { name }) => {
            let object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            post(ctx, "v1", "Namespace", object).await
        }
        Some(CreateCommand::Deployment {
            name,
            image,
            replicas,
            port,
        }) => {
            let object = deployment(&name, &image, replicas, port);
            post(ctx, "apps/v1", "Deployment", object).await
        }
        None if args.files.is_empty() => Err(CliError::msg(
            "must specify one of -f and -k, or a kind to create (namespace, deployment)",
        )),
        None => {
            for doc in manifest::read_all(&args.files, args.recursive)? {
                let source = doc.source.clone();
                let result = async {
                    let (resource, namespace, name) = locate(ctx, &doc).await?;
                    let object = with_namespace(&resource, &doc.object, &namespace);
                    let client = ctx.client()?;
                    let path = format!("{}?fieldValidation=Strict", resource.collection_path(Some(&namespace)));
                    client
                        .request::<Value>(Method::POST, &path, Some(RequestBody::json(&object)?))
                        .await
                        .map_err(|e| CliError::doing(e, format!("error when creating \"{source}\": ")))?;
                    Ok::<_, CliError>(display_name(&resource, &name))
                }
                .await;
                match result {
                    Ok(shown) => writeln!(ctx.out, "{shown} created")?,
                    Err(e) => ctx.report(e),
                }
            }
            Ok(())
        }
    }
}

/// POSTs a generated object and prints `namespace/x created`.
async fn post(ctx: &mut Ctx<'_>, api_version: &str, kind: &str, object: Value) -> Result<()> {
    let resource = ctx
        .discovery()
        .await?
        .for_kind(api_version, kind)
        .cloned()
        .ok_or_else(|| CliError::msg(format!("the server does not serve {kind} in {api_version}")))?;
    let namespace = ctx.namespace()?;
    let object = with_namespace(&resource, &object, &namespace);
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let client = ctx.client()?;
    let path = resource.collection_path(Some(&namespace));
    client
        .request::<Value>(Method::POST, &path, Some(RequestBody::json(&object)?))
        .await?;
    writeln!(ctx.out, "{} created", display_name(&resource, &name))?;
    Ok(())
}

/// What `kubectl create deployment` generates: label `app=NAME`, one container per image,
/// named after the image (`kubelab/demo:latest` → `demo`).
pub fn deployment(name: &str, images: &[String], replicas: i64, port: Option<i64>) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .map(|image| {
            let mut c = json!({"name": container_name(image), "image": image, "resources": {}});
            if let Some(p) = port {
                c["ports"] = json!([{"containerPort": p}]);
            }
            c
        })
        .collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": containers}
            }
        }
    })
}

/// `registry:5000/team/demo:v2@sha256:..` → `demo`, made a valid DNS label.
fn container_name(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let base = last.split(['@', ':']).next().unwrap_or(last);
    let cleaned: String = base
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "container".into()
    } else {
        trimmed.chars().take(63).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_deployment() {
        let d = deployment("web", &["kubelab/demo:latest".into()], 2, Some(8080));
        assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["name"], "demo");
        assert_eq!(d["spec"]["replicas"], 2);
        assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "web");
        assert_eq!(container_name("reg:5000/a/My_App:v2@sha256:x"), "my-app");
    }
}
