//! `meta.v1` messages: what every object carries (`k8s.io/apimachinery/pkg/apis/meta/v1`).

use super::{field, list, pointer, Message, Type};

pub static OBJECT_META: Message = Message {
    name: "meta.v1.ObjectMeta",
    fields: &[
        field(1, "name", Type::String),
        field(2, "generateName", Type::String),
        field(3, "namespace", Type::String),
        field(4, "selfLink", Type::String),
        field(5, "uid", Type::String),
        field(6, "resourceVersion", Type::String),
        field(7, "generation", Type::Int64),
        field(8, "creationTimestamp", Type::Time),
        pointer(9, "deletionTimestamp", Type::Time),
        pointer(10, "deletionGracePeriodSeconds", Type::Int64),
        field(11, "labels", Type::Map(&Type::String)),
        field(12, "annotations", Type::Map(&Type::String)),
        list(13, "ownerReferences", Type::Message(&OWNER_REFERENCE)),
        list(14, "finalizers", Type::String),
    ],
};

pub static OWNER_REFERENCE: Message = Message {
    name: "meta.v1.OwnerReference",
    fields: &[
        field(1, "kind", Type::String),
        field(3, "name", Type::String),
        field(4, "uid", Type::String),
        field(5, "apiVersion", Type::String),
        pointer(6, "controller", Type::Bool),
        pointer(7, "blockOwnerDeletion", Type::Bool),
    ],
};

pub static LABEL_SELECTOR: Message = Message {
    name: "meta.v1.LabelSelector",
    fields: &[
        field(1, "matchLabels", Type::Map(&Type::String)),
        list(2, "matchExpressions", Type::Message(&LABEL_SELECTOR_REQUIREMENT)),
    ],
};

pub static LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "meta.v1.LabelSelectorRequirement",
    fields: &[
        field(1, "key", Type::String),
        field(2, "operator", Type::String),
        list(3, "values", Type::String),
    ],
};

/// The body of a DELETE (`kubectl drain` sends one as protobuf when it deletes pods).
pub static DELETE_OPTIONS: Message = Message {
    name: "meta.v1.DeleteOptions",
    fields: &[
        pointer(1, "gracePeriodSeconds", Type::Int64),
        pointer(2, "preconditions", Type::Message(&PRECONDITIONS)),
        pointer(3, "orphanDependents", Type::Bool),
        pointer(4, "propagationPolicy", Type::String),
        list(5, "dryRun", Type::String),
        pointer(6, "ignoreStoreReadErrorWithClusterBreakingPotential", Type::Bool),
    ],
};

static PRECONDITIONS: Message = Message {
    name: "meta.v1.Preconditions",
    fields: &[
        pointer(1, "uid", Type::String),
        pointer(2, "resourceVersion", Type::String),
    ],
};
