//! `apps.v1` messages: the Deployment.

use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::pod::POD_TEMPLATE_SPEC;
use super::{field, list, pointer, Message, Type};

pub static DEPLOYMENT: Message = Message {
    name: "apps.v1.Deployment",
    fields: &[
        field(1, "metadata", Type::Message(&OBJECT_META)),
        field(2, "spec", Type::Message(&DEPLOYMENT_SPEC)),
        field(3, "status", Type::Message(&DEPLOYMENT_STATUS)),
    ],
};

static DEPLOYMENT_SPEC: Message = Message {
    name: "apps.v1.DeploymentSpec",
    fields: &[
        pointer(1, "replicas", Type::Int32),
        pointer(2, "selector", Type::Message(&LABEL_SELECTOR)),
        field(3, "template", Type::Message(&POD_TEMPLATE_SPEC)),
        field(4, "strategy", Type::Message(&DEPLOYMENT_STRATEGY)),
        field(5, "minReadySeconds", Type::Int32),
        pointer(6, "revisionHistoryLimit", Type::Int32),
        field(7, "paused", Type::Bool),
        pointer(9, "progressDeadlineSeconds", Type::Int32),
    ],
};

static DEPLOYMENT_STRATEGY: Message = Message {
    name: "apps.v1.DeploymentStrategy",
    fields: &[
        field(1, "type", Type::String),
        pointer(2, "rollingUpdate", Type::Message(&ROLLING_UPDATE_DEPLOYMENT)),
    ],
};

static ROLLING_UPDATE_DEPLOYMENT: Message = Message {
    name: "apps.v1.RollingUpdateDeployment",
    fields: &[
        pointer(1, "maxUnavailable", Type::IntOrString),
        pointer(2, "maxSurge", Type::IntOrString),
    ],
};

static DEPLOYMENT_STATUS: Message = Message {
    name: "apps.v1.DeploymentStatus",
    fields: &[
        field(1, "observedGeneration", Type::Int64),
        field(2, "replicas", Type::Int32),
        field(3, "updatedReplicas", Type::Int32),
        field(4, "availableReplicas", Type::Int32),
        field(5, "unavailableReplicas", Type::Int32),
        list(6, "conditions", Type::Message(&DEPLOYMENT_CONDITION)),
        field(7, "readyReplicas", Type::Int32),
        pointer(8, "collisionCount", Type::Int32),
    ],
};

static DEPLOYMENT_CONDITION: Message = Message {
    name: "apps.v1.DeploymentCondition",
    fields: &[
        field(1, "type", Type::String),
        field(2, "status", Type::String),
        field(4, "reason", Type::String),
        field(5, "message", Type::String),
        field(6, "lastUpdateTime", Type::Time),
        field(7, "lastTransitionTime", Type::Time),
    ],
};
