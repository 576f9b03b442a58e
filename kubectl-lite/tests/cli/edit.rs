//! `edit` with `EDITOR` set to small scripts: a change, no change, and a change the server
//! refuses (the file is reopened with the error, and saving it unchanged gives up).

use std::os::unix::fs::PermissionsExt;

use crate::harness::{deployment, Lab};

fn script(lab: &Lab, name: &str, body: &str) -> String {
    let path = lab.file(
        name,
        &format!("#!/bin/sh\ncat \"$1\" >> \"$(dirname \"$0\")/{name}.seen\"\n{body}\n"),
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_through_an_editor() {
    let lab = Lab::start().await;
    lab.apply(&deployment("web", 3, "demo:v1")).await.ok();

    let change = script(&lab, "more.sh", "sed -i 's/replicas: 3/replicas: 4/' \"$1\"");
    let out = lab
        .run_with(&["edit", "deploy/web"], &[("EDITOR", &change)], None)
        .await;
    assert_eq!(out.ok(), "deployment.apps/web edited\n");
    assert_eq!(lab.json(&["get", "deploy", "web"]).await["spec"]["replicas"], 4);
    let seen = std::fs::read_to_string(lab.path("more.sh.seen")).unwrap();
    assert!(seen.starts_with("# Please edit the object below."), "{seen}");
    assert!(seen.contains("\nkind: Deployment\n"), "{seen}");

    // KUBE_EDITOR wins over EDITOR; saving without a change sends nothing.
    let nothing = script(&lab, "nothing.sh", "true");
    let out = lab
        .run_with(
            &["edit", "deployment", "web"],
            &[("KUBE_EDITOR", &nothing), ("EDITOR", &change)],
            None,
        )
        .await;
    assert_eq!(
        (out.ok(), out.stderr.as_str()),
        ("", "Edit cancelled, no changes made.\n")
    );
    assert_eq!(lab.json(&["get", "deploy", "web"]).await["spec"]["replicas"], 4);

    let invalid = script(&lab, "invalid.sh", "sed -i 's/replicas: 4/replicas: -1/' \"$1\"");
    let out = lab
        .run_with(&["edit", "deploy/web"], &[("EDITOR", &invalid)], None)
        .await;
    assert_eq!(out.fails(), "error: Edit cancelled, no valid changes were saved.\n");
    let seen = std::fs::read_to_string(lab.path("invalid.sh.seen")).unwrap();
    assert!(
        seen.contains("# deployments.apps \"web\" was not valid:\n# * "),
        "{seen}"
    );
    assert_eq!(lab.json(&["get", "deploy", "web"]).await["spec"]["replicas"], 4);

    let failing = script(&lab, "fail.sh", "exit 3");
    let out = lab
        .run_with(&["edit", "deploy/web"], &[("EDITOR", &failing)], None)
        .await;
    assert!(
        out.fails().contains("there was a problem with the editor"),
        "{}",
        out.stderr
    );
}
