//! `core.v1` messages of a pod: its spec, containers, volumes and scheduling rules, as a
//! Deployment's template carries them.

use super::meta::OBJECT_META;
use super::{field, inline, list, pointer, Message, Type};

pub static POD: Message = Message {
    name: "core.v1.Pod",
    fields: &[
        field(1, "metadata", Type::Message(&OBJECT_META)),
        field(2, "spec", Type::Message(&POD_SPEC)),
    ],
};

pub static POD_TEMPLATE_SPEC: Message = Message {
    name: "core.v1.PodTemplateSpec",
    fields: &[
        field(1, "metadata", Type::Message(&OBJECT_META)),
        field(2, "spec", Type::Message(&POD_SPEC)),
    ],
};

static QUANTITIES: Type = Type::Map(&Type::Quantity);

static POD_SPEC: Message = Message {
    name: "core.v1.PodSpec",
    fields: &[
        list(1, "volumes", Type::Message(&VOLUME)),
        list(2, "containers", Type::Message(&CONTAINER)),
        field(3, "restartPolicy", Type::String),
        pointer(4, "terminationGracePeriodSeconds", Type::Int64),
        pointer(5, "activeDeadlineSeconds", Type::Int64),
        field(6, "dnsPolicy", Type::String),
        field(7, "nodeSelector", Type::Map(&Type::String)),
        field(8, "serviceAccountName", Type::String),
        field(9, "serviceAccount", Type::String),
        field(10, "nodeName", Type::String),
        field(11, "hostNetwork", Type::Bool),
        field(12, "hostPID", Type::Bool),
        field(13, "hostIPC", Type::Bool),
        pointer(14, "securityContext", Type::Message(&POD_SECURITY_CONTEXT)),
        list(15, "imagePullSecrets", Type::Message(&LOCAL_OBJECT_REFERENCE)),
        field(16, "hostname", Type::String),
        field(17, "subdomain", Type::String),
        pointer(18, "affinity", Type::Message(&AFFINITY)),
        field(19, "schedulerName", Type::String),
        list(20, "initContainers", Type::Message(&CONTAINER)),
        pointer(21, "automountServiceAccountToken", Type::Bool),
        list(22, "tolerations", Type::Message(&TOLERATION)),
        list(23, "hostAliases", Type::Message(&HOST_ALIAS)),
        field(24, "priorityClassName", Type::String),
        pointer(25, "priority", Type::Int32),
        pointer(26, "dnsConfig", Type::Message(&POD_DNS_CONFIG)),
        pointer(27, "shareProcessNamespace", Type::Bool),
        pointer(29, "runtimeClassName", Type::String),
        pointer(30, "enableServiceLinks", Type::Bool),
        pointer(31, "preemptionPolicy", Type::String),
        field(32, "overhead", QUANTITIES),
        pointer(35, "setHostnameAsFQDN", Type::Bool),
        pointer(37, "hostUsers", Type::Bool),
    ],
};

static CONTAINER: Message = Message {
    name: "core.v1.Container",
    fields: &[
        field(1, "name", Type::String),
        field(2, "image", Type::String),
        list(3, "command", Type::String),
        list(4, "args", Type::String),
        field(5, "workingDir", Type::String),
        list(6, "ports", Type::Message(&CONTAINER_PORT)),
        list(7, "env", Type::Message(&ENV_VAR)),
        field(8, "resources", Type::Message(&RESOURCE_REQUIREMENTS)),
        list(9, "volumeMounts", Type::Message(&VOLUME_MOUNT)),
        pointer(10, "livenessProbe", Type::Message(&PROBE)),
        pointer(11, "readinessProbe", Type::Message(&PROBE)),
        pointer(12, "lifecycle", Type::Message(&LIFECYCLE)),
        field(13, "terminationMessagePath", Type::String),
        field(14, "imagePullPolicy", Type::String),
        pointer(15, "securityContext", Type::Message(&SECURITY_CONTEXT)),
        field(16, "stdin", Type::Bool),
        field(17, "stdinOnce", Type::Bool),
        field(18, "tty", Type::Bool),
        list(19, "envFrom", Type::Message(&ENV_FROM_SOURCE)),
        field(20, "terminationMessagePolicy", Type::String),
        pointer(22, "startupProbe", Type::Message(&PROBE)),
        pointer(24, "restartPolicy", Type::String),
    ],
};

static CONTAINER_PORT: Message = Message {
    name: "core.v1.ContainerPort",
    fields: &[
        field(1, "name", Type::String),
        field(2, "hostPort", Type::Int32),
        field(3, "containerPort", Type::Int32),
        field(4, "protocol", Type::String),
        field(5, "hostIP", Type::String),
    ],
};

static ENV_VAR: Message = Message {
    name: "core.v1.EnvVar",
    fields: &[
        field(1, "name", Type::String),
        field(2, "value", Type::String),
        pointer(3, "valueFrom", Type::Message(&ENV_VAR_SOURCE)),
    ],
};

static ENV_VAR_SOURCE: Message = Message {
    name: "core.v1.EnvVarSource",
    fields: &[
        pointer(1, "fieldRef", Type::Message(&OBJECT_FIELD_SELECTOR)),
        pointer(2, "resourceFieldRef", Type::Message(&RESOURCE_FIELD_SELECTOR)),
        pointer(3, "configMapKeyRef", Type::Message(&KEY_SELECTOR)),
        pointer(4, "secretKeyRef", Type::Message(&KEY_SELECTOR)),
    ],
};

static OBJECT_FIELD_SELECTOR: Message = Message {
    name: "core.v1.ObjectFieldSelector",
    fields: &[
        field(1, "apiVersion", Type::String),
        field(2, "fieldPath", Type::String),
    ],
};

static RESOURCE_FIELD_SELECTOR: Message = Message {
    name: "core.v1.ResourceFieldSelector",
    fields: &[
        field(1, "containerName", Type::String),
        field(2, "resource", Type::String),
        field(3, "divisor", Type::Quantity),
    ],
};

/// `ConfigMapKeySelector` and `SecretKeySelector` have the same layout.
static KEY_SELECTOR: Message = Message {
    name: "core.v1.ConfigMapKeySelector",
    fields: &[
        inline(1, &LOCAL_OBJECT_REFERENCE),
        field(2, "key", Type::String),
        pointer(3, "optional", Type::Bool),
    ],
};

static ENV_FROM_SOURCE: Message = Message {
    name: "core.v1.EnvFromSource",
    fields: &[
        field(1, "prefix", Type::String),
        pointer(2, "configMapRef", Type::Message(&ENV_SOURCE)),
        pointer(3, "secretRef", Type::Message(&ENV_SOURCE)),
    ],
};

/// `ConfigMapEnvSource` and `SecretEnvSource` have the same layout.
static ENV_SOURCE: Message = Message {
    name: "core.v1.ConfigMapEnvSource",
    fields: &[inline(1, &LOCAL_OBJECT_REFERENCE), pointer(2, "optional", Type::Bool)],
};

static LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "core.v1.LocalObjectReference",
    fields: &[field(1, "name", Type::String)],
};

static RESOURCE_REQUIREMENTS: Message = Message {
    name: "core.v1.ResourceRequirements",
    fields: &[field(1, "limits", QUANTITIES), field(2, "requests", QUANTITIES)],
};

static VOLUME_MOUNT: Message = Message {
    name: "core.v1.VolumeMount",
    fields: &[
        field(1, "name", Type::String),
        field(2, "readOnly", Type::Bool),
        field(3, "mountPath", Type::String),
        field(4, "subPath", Type::String),
        pointer(5, "mountPropagation", Type::String),
        field(6, "subPathExpr", Type::String),
        pointer(7, "recursiveReadOnly", Type::String),
    ],
};

static PROBE: Message = Message {
    name: "core.v1.Probe",
    fields: &[
        inline(1, &PROBE_HANDLER),
        field(2, "initialDelaySeconds", Type::Int32),
        field(3, "timeoutSeconds", Type::Int32),
        field(4, "periodSeconds", Type::Int32),
        field(5, "successThreshold", Type::Int32),
        field(6, "failureThreshold", Type::Int32),
        pointer(7, "terminationGracePeriodSeconds", Type::Int64),
    ],
};

static PROBE_HANDLER: Message = Message {
    name: "core.v1.ProbeHandler",
    fields: &[
        pointer(1, "exec", Type::Message(&EXEC_ACTION)),
        pointer(2, "httpGet", Type::Message(&HTTP_GET_ACTION)),
        pointer(3, "tcpSocket", Type::Message(&TCP_SOCKET_ACTION)),
        pointer(4, "grpc", Type::Message(&GRPC_ACTION)),
    ],
};

static EXEC_ACTION: Message = Message {
    name: "core.v1.ExecAction",
    fields: &[list(1, "command", Type::String)],
};

static HTTP_GET_ACTION: Message = Message {
    name: "core.v1.HTTPGetAction",
    fields: &[
        field(1, "path", Type::String),
        field(2, "port", Type::IntOrString),
        field(3, "host", Type::String),
        field(4, "scheme", Type::String),
        list(5, "httpHeaders", Type::Message(&HTTP_HEADER)),
    ],
};

static HTTP_HEADER: Message = Message {
    name: "core.v1.HTTPHeader",
    fields: &[field(1, "name", Type::String), field(2, "value", Type::String)],
};

static TCP_SOCKET_ACTION: Message = Message {
    name: "core.v1.TCPSocketAction",
    fields: &[field(1, "port", Type::IntOrString), field(2, "host", Type::String)],
};

static GRPC_ACTION: Message = Message {
    name: "core.v1.GRPCAction",
    fields: &[field(1, "port", Type::Int32), pointer(2, "service", Type::String)],
};

static LIFECYCLE: Message = Message {
    name: "core.v1.Lifecycle",
    fields: &[
        pointer(1, "postStart", Type::Message(&LIFECYCLE_HANDLER)),
        pointer(2, "preStop", Type::Message(&LIFECYCLE_HANDLER)),
    ],
};

static LIFECYCLE_HANDLER: Message = Message {
    name: "core.v1.LifecycleHandler",
    fields: &[
        pointer(1, "exec", Type::Message(&EXEC_ACTION)),
        pointer(2, "httpGet", Type::Message(&HTTP_GET_ACTION)),
        pointer(3, "tcpSocket", Type::Message(&TCP_SOCKET_ACTION)),
        pointer(4, "sleep", Type::Message(&SLEEP_ACTION)),
    ],
};

static SLEEP_ACTION: Message = Message {
    name: "core.v1.SleepAction",
    fields: &[field(1, "seconds", Type::Int64)],
};

static SECURITY_CONTEXT: Message = Message {
    name: "core.v1.SecurityContext",
    fields: &[
        pointer(1, "capabilities", Type::Message(&CAPABILITIES)),
        pointer(2, "privileged", Type::Bool),
        pointer(4, "runAsUser", Type::Int64),
        pointer(5, "runAsNonRoot", Type::Bool),
        pointer(6, "readOnlyRootFilesystem", Type::Bool),
        pointer(7, "allowPrivilegeEscalation", Type::Bool),
        pointer(8, "runAsGroup", Type::Int64),
    ],
};

static CAPABILITIES: Message = Message {
    name: "core.v1.Capabilities",
    fields: &[list(1, "add", Type::String), list(2, "drop", Type::String)],
};

static POD_SECURITY_CONTEXT: Message = Message {
    name: "core.v1.PodSecurityContext",
    fields: &[
        pointer(2, "runAsUser", Type::Int64),
        pointer(3, "runAsNonRoot", Type::Bool),
        list(4, "supplementalGroups", Type::Int64),
        pointer(5, "fsGroup", Type::Int64),
        pointer(6, "runAsGroup", Type::Int64),
    ],
};

static VOLUME: Message = Message {
    name: "core.v1.Volume",
    fields: &[field(1, "name", Type::String), inline(2, &VOLUME_SOURCE)],
};

/// Only the volume types kubelab's agent runs; any other carries data and is refused by number.
static VOLUME_SOURCE: Message = Message {
    name: "core.v1.VolumeSource",
    fields: &[
        pointer(1, "hostPath", Type::Message(&HOST_PATH_VOLUME_SOURCE)),
        pointer(2, "emptyDir", Type::Message(&EMPTY_DIR_VOLUME_SOURCE)),
        pointer(6, "secret", Type::Message(&SECRET_VOLUME_SOURCE)),
        pointer(10, "persistentVolumeClaim", Type::Message(&PVC_VOLUME_SOURCE)),
        pointer(19, "configMap", Type::Message(&CONFIG_MAP_VOLUME_SOURCE)),
    ],
};

static HOST_PATH_VOLUME_SOURCE: Message = Message {
    name: "core.v1.HostPathVolumeSource",
    fields: &[field(1, "path", Type::String), pointer(2, "type", Type::String)],
};

static EMPTY_DIR_VOLUME_SOURCE: Message = Message {
    name: "core.v1.EmptyDirVolumeSource",
    fields: &[
        field(1, "medium", Type::String),
        pointer(2, "sizeLimit", Type::Quantity),
    ],
};

static SECRET_VOLUME_SOURCE: Message = Message {
    name: "core.v1.SecretVolumeSource",
    fields: &[
        field(1, "secretName", Type::String),
        list(2, "items", Type::Message(&KEY_TO_PATH)),
        pointer(3, "defaultMode", Type::Int32),
        pointer(4, "optional", Type::Bool),
    ],
};

static CONFIG_MAP_VOLUME_SOURCE: Message = Message {
    name: "core.v1.ConfigMapVolumeSource",
    fields: &[
        inline(1, &LOCAL_OBJECT_REFERENCE),
        list(2, "items", Type::Message(&KEY_TO_PATH)),
        pointer(3, "defaultMode", Type::Int32),
        pointer(4, "optional", Type::Bool),
    ],
};

static KEY_TO_PATH: Message = Message {
    name: "core.v1.KeyToPath",
    fields: &[
        field(1, "key", Type::String),
        field(2, "path", Type::String),
        pointer(3, "mode", Type::Int32),
    ],
};

static PVC_VOLUME_SOURCE: Message = Message {
    name: "core.v1.PersistentVolumeClaimVolumeSource",
    fields: &[field(1, "claimName", Type::String), field(2, "readOnly", Type::Bool)],
};

static TOLERATION: Message = Message {
    name: "core.v1.Toleration",
    fields: &[
        field(1, "key", Type::String),
        field(2, "operator", Type::String),
        field(3, "value", Type::String),
        field(4, "effect", Type::String),
        pointer(5, "tolerationSeconds", Type::Int64),
    ],
};

static HOST_ALIAS: Message = Message {
    name: "core.v1.HostAlias",
    fields: &[field(1, "ip", Type::String), list(2, "hostnames", Type::String)],
};

static POD_DNS_CONFIG: Message = Message {
    name: "core.v1.PodDNSConfig",
    fields: &[
        list(1, "nameservers", Type::String),
        list(2, "searches", Type::String),
        list(3, "options", Type::Message(&POD_DNS_CONFIG_OPTION)),
    ],
};

static POD_DNS_CONFIG_OPTION: Message = Message {
    name: "core.v1.PodDNSConfigOption",
    fields: &[field(1, "name", Type::String), pointer(2, "value", Type::String)],
};

static AFFINITY: Message = Message {
    name: "core.v1.Affinity",
    fields: &[pointer(1, "nodeAffinity", Type::Message(&NODE_AFFINITY))],
};

static NODE_AFFINITY: Message = Message {
    name: "core.v1.NodeAffinity",
    fields: &[
        pointer(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Type::Message(&NODE_SELECTOR),
        ),
        list(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            Type::Message(&PREFERRED_SCHEDULING_TERM),
        ),
    ],
};

static NODE_SELECTOR: Message = Message {
    name: "core.v1.NodeSelector",
    fields: &[list(1, "nodeSelectorTerms", Type::Message(&NODE_SELECTOR_TERM))],
};

static NODE_SELECTOR_TERM: Message = Message {
    name: "core.v1.NodeSelectorTerm",
    fields: &[
        list(1, "matchExpressions", Type::Message(&NODE_SELECTOR_REQUIREMENT)),
        list(2, "matchFields", Type::Message(&NODE_SELECTOR_REQUIREMENT)),
    ],
};

static NODE_SELECTOR_REQUIREMENT: Message = Message {
    name: "core.v1.NodeSelectorRequirement",
    fields: &[
        field(1, "key", Type::String),
        field(2, "operator", Type::String),
        list(3, "values", Type::String),
    ],
};

static PREFERRED_SCHEDULING_TERM: Message = Message {
    name: "core.v1.PreferredSchedulingTerm",
    fields: &[
        field(1, "weight", Type::Int32),
        field(2, "preference", Type::Message(&NODE_SELECTOR_TERM)),
    ],
};
