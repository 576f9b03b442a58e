//! Only an object's metadata: what the garbage collector keeps of every object it watches.
//!
//! The collector needs uid, owner references, finalizers and the deletion timestamp of every
//! Pod, Secret, Lease... and nothing else. Keeping whole objects would mean a second full copy
//! of every pod in the controller manager (the ReplicaSet controller has the first), and
//! decoding every container and status of every pod event twice. Kubernetes' collector watches
//! `PartialObjectMetadata` for the same reason. Here the server still sends whole objects, and
//! decoding into [`MetadataOnly`] skips everything but `metadata` without building it.

use std::fmt;
use std::marker::PhantomData;

use kubelab_api::{Object, ObjectMeta};
use serde::{Deserialize, Serialize};

/// The metadata of a `T`, served and watched where `T` is.
#[derive(Serialize, Deserialize)]
pub struct MetadataOnly<T> {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(skip)]
    kind: PhantomData<fn() -> T>,
}

impl<T> Clone for MetadataOnly<T> {
    fn clone(&self) -> Self {
        MetadataOnly {
            metadata: self.metadata.clone(),
            kind: PhantomData,
        }
    }
}

impl<T> Default for MetadataOnly<T> {
    fn default() -> Self {
        MetadataOnly {
            metadata: ObjectMeta::default(),
            kind: PhantomData,
        }
    }
}

impl<T> fmt::Debug for MetadataOnly<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataOnly")
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl<T: Object> Object for MetadataOnly<T> {
    const GROUP: &'static str = T::GROUP;
    const VERSION: &'static str = T::VERSION;
    const API_VERSION: &'static str = T::API_VERSION;
    const KIND: &'static str = T::KIND;
    const PLURAL: &'static str = T::PLURAL;
    const NAMESPACED: bool = T::NAMESPACED;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use kubelab_api::core::Pod;

    use super::*;

    #[test]
    fn decodes_the_metadata_of_a_whole_object_and_nothing_else() {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "uid": "u1", "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u0", "controller": true}]},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]},
            "status": {"phase": "Running"},
        });
        let meta: MetadataOnly<Pod> = serde_json::from_str(&pod.to_string()).unwrap();
        assert_eq!(meta.metadata.name(), "web");
        assert_eq!(meta.metadata.owner_references[0].name, "rs");
        assert_eq!(<MetadataOnly<Pod> as Object>::PLURAL, "pods");
        assert_eq!(
            serde_json::to_value(&meta).unwrap(),
            serde_json::json!({"metadata": serde_json::to_value(&meta.metadata).unwrap()})
        );
    }
}
