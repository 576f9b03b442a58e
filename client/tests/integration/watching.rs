//! Watches, the resuming watcher, and the informer against a real server.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;
use kubelab_api::core::ConfigMap;
use kubelab_api::Object;
use kubelab_apiserver::store::sled_store::SledOptions;
use kubelab_client::{
    watcher, Api, DeleteParams, Informer, InformerEvent, ListParams, Patch, WatchEvent, WatcherEvent,
};
use serde_json::json;

use crate::common::{object, start, start_with, within};

fn cm(name: &str) -> ConfigMap {
    object(json!({"metadata": {"name": name}, "data": {"v": "0"}}))
}

fn describe(event: &WatchEvent<ConfigMap>) -> String {
    match event {
        WatchEvent::Added(o) => format!("ADDED {}", o.metadata().name()),
        WatchEvent::Modified(o) => format!("MODIFIED {}", o.metadata().name()),
        WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata().name()),
        WatchEvent::Bookmark { .. } => "BOOKMARK".into(),
        WatchEvent::Error(status) => format!("ERROR {}", status.code),
    }
}

#[tokio::test]
async fn watch_delivers_changes_in_order() {
    let server = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    cms.create(&cm("before")).await.unwrap();
    let list = cms.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap_or_default();

    let mut events = cms.watch(&ListParams::default(), &rv).await.unwrap();
    cms.create(&cm("a")).await.unwrap();
    cms.patch("a", &Patch::Merge(json!({"data": {"v": "1"}})))
        .await
        .unwrap();
    cms.delete("a", &DeleteParams::default()).await.unwrap();

    let mut seen = Vec::new();
    let mut last_rv = 0;
    while seen.len() < 3 {
        let event = within("watch events", events.next())
            .await
            .expect("stream open")
            .unwrap();
        if let Some(object) = event.object() {
            let rv = object.metadata().revision().unwrap();
            assert!(rv > last_rv, "revisions increase");
            last_rv = rv;
        }
        seen.push(describe(&event));
    }
    assert_eq!(seen, ["ADDED a", "MODIFIED a", "DELETED a"]);
}

#[tokio::test]
async fn watch_from_zero_lists_what_exists_and_selectors_filter() {
    let server = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    cms.create(&cm("one")).await.unwrap();
    cms.create(&cm("two")).await.unwrap();
    let lp = ListParams::default().fields("metadata.name=two");
    let mut events = cms.watch(&lp, "0").await.unwrap();
    let first = within("synthetic ADDED", events.next()).await.unwrap().unwrap();
    assert_eq!(describe(&first), "ADDED two");
}

#[tokio::test]
async fn server_closes_a_watch_after_timeout_seconds() {
    let server = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    let rv = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut events = cms.watch(&ListParams::default().timeout(1), &rv).await.unwrap();
    loop {
        match within("the server to close the watch", events.next()).await {
            None => break,
            Some(Ok(WatchEvent::Bookmark { .. })) => continue,
            Some(other) => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn old_revisions_are_gone() {
    let options = SledOptions {
        history: 5,
        watch_window: 5,
        ..Default::default()
    };
    let server = start_with(options).await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    for i in 0..30 {
        cms.create(&cm(&format!("c{i}"))).await.unwrap();
    }
    match cms.watch(&ListParams::default(), "1").await {
        Err(e) => assert!(e.is_gone(), "{e}"),
        Ok(mut events) => match within("the 410 event", events.next()).await {
            Some(Ok(WatchEvent::Error(status))) => assert_eq!(status.code, 410),
            other => panic!("expected a 410 ERROR event, got {other:?}"),
        },
    }
}

#[tokio::test]
async fn watcher_resumes_without_missing_or_repeating_events() {
    let server = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    cms.create(&cm("existing")).await.unwrap();

    // The server ends each watch after one second; the writes below straddle several of those
    // reconnects.
    let mut stream = watcher(cms.clone(), ListParams::default().timeout(1));
    match within("the first list", stream.next()).await {
        Some(Ok(WatcherEvent::Restarted(items))) => {
            assert_eq!(
                items
                    .iter()
                    .map(|o| o.metadata().name().to_string())
                    .collect::<Vec<_>>(),
                ["existing"]
            )
        }
        other => panic!("expected Restarted first, got {other:?}"),
    }

    let writer = {
        let cms = cms.clone();
        tokio::spawn(async move {
            for i in 0..8 {
                cms.create(&cm(&format!("n{i}"))).await.unwrap();
                // Spread the writes over ~3 s so some land while the watcher reconnects.
                tokio::time::sleep(Duration::from_millis(350)).await;
            }
            cms.delete("existing", &DeleteParams::default()).await.unwrap();
        })
    };

    let mut seen = Vec::new();
    let mut revisions = HashSet::new();
    while seen.len() < 9 {
        match within("watcher events", stream.next()).await {
            Some(Ok(WatcherEvent::Added(o))) => {
                assert!(
                    revisions.insert(o.metadata().revision()),
                    "event seen twice: {:?}",
                    o.metadata()
                );
                seen.push(format!("+{}", o.metadata().name()));
            }
            Some(Ok(WatcherEvent::Deleted(o))) => {
                assert!(revisions.insert(o.metadata().revision()), "event seen twice");
                seen.push(format!("-{}", o.metadata().name()));
            }
            Some(Ok(other)) => panic!("unexpected {other:?}"),
            Some(Err(e)) => panic!("watcher error: {e}"),
            None => panic!("the watcher never ends"),
        }
    }
    writer.await.unwrap();
    let expected: Vec<String> = (0..8)
        .map(|i| format!("+n{i}"))
        .chain(["-existing".to_string()])
        .collect();
    assert_eq!(seen, expected);

    // Nothing more arrives (no replays), even across another reconnect.
    let extra = tokio::time::timeout(Duration::from_millis(2500), stream.next()).await;
    assert!(
        extra.is_err(),
        "unexpected extra event: {:?}",
        extra.ok().flatten().map(|r| r.map(|_| ()))
    );
}

#[tokio::test]
async fn informer_cache_converges_and_fires_handlers() {
    let server = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    cms.create(&cm("keep")).await.unwrap();
    cms.create(&cm("change")).await.unwrap();
    cms.create(&cm("remove")).await.unwrap();

    let (sender, mut notifications) = tokio::sync::mpsc::unbounded_channel();
    let mut informer = Informer::new(cms.clone(), ListParams::default().timeout(1));
    informer.on_event(move |event| {
        let what = match event {
            InformerEvent::Added(_) => "add",
            InformerEvent::Updated { .. } => "update",
            InformerEvent::Deleted(_) => "delete",
        };
        let _ = sender.send(format!("{what} {}", event.key()));
    });
    let store = informer.store();
    let task = tokio::spawn(informer.run());

    within("the informer to sync", store.wait_for_sync()).await;
    assert!(store.has_synced());
    assert_eq!(store.keys(), ["default/change", "default/keep", "default/remove"]);
    let mut initial = Vec::new();
    for _ in 0..3 {
        initial.push(within("initial adds", notifications.recv()).await.unwrap());
    }
    initial.sort();
    assert_eq!(
        initial,
        ["add default/change", "add default/keep", "add default/remove"]
    );

    cms.patch("change", &Patch::Merge(json!({"data": {"v": "1"}})))
        .await
        .unwrap();
    cms.delete("remove", &DeleteParams::default()).await.unwrap();
    cms.create(&cm("new")).await.unwrap();
    let mut later = Vec::new();
    for _ in 0..3 {
        later.push(within("change notifications", notifications.recv()).await.unwrap());
    }
    assert_eq!(
        later,
        ["update default/change", "delete default/remove", "add default/new"]
    );

    // The cache now matches the server.
    let on_server: Vec<String> = {
        let mut names: Vec<String> = cms
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| format!("default/{}", o.metadata().name()))
            .collect();
        names.sort();
        names
    };
    assert_eq!(store.keys(), on_server);
    let changed = store.get("default/change").unwrap();
    assert_eq!(serde_json::to_value(&*changed).unwrap()["data"]["v"], "1");
    task.abort();
}

#[tokio::test]
async fn a_shared_informer_tells_a_late_handler_what_it_has_then_every_change() {
    let server = start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client.clone(), "default");
    cms.create(&cm("before")).await.unwrap();
    let shared = kubelab_client::SharedInformers::new(server.client.clone());
    let first = shared.get::<ConfigMap>();
    within("the shared informer to sync", first.store().wait_for_sync()).await;

    // A second controller asks for the same kind after the informer has started: the same
    // cache, and its handler hears of what is cached, then of what changes.
    let second = shared.get::<ConfigMap>();
    assert_eq!(second.store().keys(), ["default/before"]);
    let (sender, mut notifications) = tokio::sync::mpsc::unbounded_channel();
    second.on_event(move |event| {
        let what = match event {
            InformerEvent::Added(_) => "add",
            InformerEvent::Updated { .. } => "update",
            InformerEvent::Deleted(_) => "delete",
        };
        let _ = sender.send(format!("{what} {}", event.key()));
    });
    assert_eq!(
        within("the replayed add", notifications.recv()).await.unwrap(),
        "add default/before"
    );
    cms.create(&cm("after")).await.unwrap();
    assert_eq!(
        within("the live add", notifications.recv()).await.unwrap(),
        "add default/after"
    );
    within("both in the shared cache", async {
        while first.store().len() < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
}
