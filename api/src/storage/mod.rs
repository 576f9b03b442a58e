//! The `storage.k8s.io` API group: how storage is made, as opposed to the storage itself.
//!
//! | kind | what it is for |
//! | --- | --- |
//! | [`StorageClass`] | a kind of storage a claim can ask for, and who makes it (the provisioner) |
//!
//! A claim names a class (`storageClassName: standard`), or none and gets the cluster's default
//! class (the one annotated `storageclass.kubernetes.io/is-default-class: "true"`). The class's
//! provisioner then makes a PersistentVolume for the claim on demand ("dynamic provisioning"),
//! so users never have to ask an administrator for a disk.

pub mod storageclass;

pub use storageclass::{
    is_default_class, StorageClass, TopologySelectorLabelRequirement, TopologySelectorTerm,
    BETA_DEFAULT_CLASS_ANNOTATION, DEFAULT_CLASS_ANNOTATION,
};
