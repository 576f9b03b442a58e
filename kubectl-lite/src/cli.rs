//! The command line: kubectl's commands and flags, declared with clap.
//!
//! Only the shape lives here; each command's behaviour is in `commands/`. Flags keep kubectl's
//! names and defaults (`-o wide`, `-l app=web`, `-A`, `--wait=false`, `--grace-period=-1`) so a
//! student's muscle memory carries over in both directions.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

/// kubelab's own kubectl.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-lite",
    about = "kubectl-lite controls a kubelab cluster, or any Kubernetes API server reachable over plain HTTP."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Args, Debug, Clone, Default)]
pub struct Global {
    /// Path to the kubeconfig file (else KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The namespace for this request.
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// The kubeconfig context to use.
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The address of the API server (http://host:port), instead of the kubeconfig's.
    #[arg(short = 's', long, global = true)]
    pub server: Option<String>,
}

/// A `--wait=false`-style boolean flag: `--wait` alone means true.
fn bool_flag() -> ArgAction {
    ArgAction::Set
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Display one or many resources.
    Get(GetArgs),
    /// Apply a configuration to a resource by file name or stdin.
    Apply(ApplyArgs),
    /// Create a resource from a file or from stdin, or a namespace or deployment.
    Create(CreateArgs),
    /// Show details of a specific resource or group of resources.
    Describe(DescribeArgs),
    /// Delete resources by file names, stdin, resources and names, or by resources and label selector.
    Delete(DeleteArgs),
    /// Print the logs for a container in a pod.
    Logs(LogsArgs),
    /// Execute a command in a container.
    Exec(ExecArgs),
    /// Set a new size for a deployment, replica set or stateful set.
    Scale(ScaleArgs),
    /// Manage the rollout of a resource.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Update the labels on a resource.
    Label(MetaArgs),
    /// Update the annotations on a resource.
    Annotate(MetaArgs),
    /// Edit a resource on the server.
    Edit(EditArgs),
    /// Display cluster information.
    ClusterInfo,
    /// Print the client and server version information.
    Version(VersionArgs),
    /// Print the supported API resources on the server.
    ApiResources(ApiResourcesArgs),
    /// Modify kubeconfig files.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Args, Debug, Default, Clone)]
pub struct GetArgs {
    /// TYPE[,TYPE...] [NAME...], or TYPE/NAME...
    pub args: Vec<String>,
    /// Output format: wide, yaml, json or name.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    /// Label selector (app=web,tier!=db).
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// After listing, watch for changes.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Show all labels as the last column.
    #[arg(long)]
    pub show_labels: bool,
    /// Don't print headers.
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Files, directories or - (stdin) with the configuration to apply.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<String>,
    /// Process the directories of -f recursively.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Output format: name prints only deployment.apps/web.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CreateArgs {
    #[command(subcommand)]
    pub what: Option<CreateCommand>,
    /// Files, directories or - (stdin) with the objects to create.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<String>,
    /// Process the directories of -f recursively.
    #[arg(short = 'R', long)]
    pub recursive: bool,
}

#[derive(Subcommand, Debug)]
pub enum CreateCommand {
    /// Create a namespace with the specified name.
    #[command(alias = "ns")]
    Namespace { name: String },
    /// Create a deployment with the specified name.
    #[command(alias = "deploy")]
    Deployment {
        name: String,
        /// Image(s) to run; one container each.
        #[arg(long, required = true)]
        image: Vec<String>,
        /// Number of replicas.
        #[arg(short = 'r', long, default_value_t = 1)]
        replicas: i64,
        /// The containerPort the containers expose.
        #[arg(long)]
        port: Option<i64>,
    },
}

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// TYPE [NAME_PREFIX...], or TYPE/NAME...
    pub args: Vec<String>,
    /// Label selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// TYPE NAME..., or TYPE/NAME...
    pub args: Vec<String>,
    /// Files with the objects to delete.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<String>,
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Label selector.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Delete all resources of the type in the namespace.
    #[arg(long)]
    pub all: bool,
    /// Seconds given to the resource to terminate gracefully; -1 uses its default.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// Shorthand for --grace-period=1.
    #[arg(long)]
    pub now: bool,
    /// Wait for the resources to be gone before returning.
    #[arg(long, default_value_t = true, action = bool_flag(), num_args = 0..=1, default_missing_value = "true")]
    pub wait: bool,
    /// Treat "resource not found" as a successful delete.
    #[arg(long)]
    pub ignore_not_found: bool,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// POD, or TYPE/NAME (deploy/web, pod/web).
    pub target: String,
    /// The container (else the only one, or the default one).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Keep streaming the logs.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Lines of recent log to show; -1 shows all.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// The logs of the previous, terminated instance of the container.
    #[arg(short = 'p', long)]
    pub previous: bool,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// POD, or TYPE/NAME (deploy/web, pod/web).
    pub target: String,
    /// The container (else the only one, or the default one).
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Pass standard input to the container.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Standard input is a terminal (raw mode, window size).
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ScaleArgs {
    /// TYPE NAME, or TYPE/NAME...
    pub args: Vec<String>,
    /// The new number of replicas.
    #[arg(long, required = true)]
    pub replicas: i64,
}

#[derive(Subcommand, Debug)]
pub enum RolloutCommand {
    /// Show the status of the rollout.
    Status {
        args: Vec<String>,
        /// Keep watching until the rollout is done.
        #[arg(short = 'w', long, default_value_t = true, action = bool_flag(), num_args = 0..=1, default_missing_value = "true")]
        watch: bool,
        /// Give up after this long (30s, 5m); 0 waits forever.
        #[arg(long, default_value = "0s")]
        timeout: String,
    },
    /// View rollout history.
    History {
        args: Vec<String>,
        /// Show the pod template of this revision.
        #[arg(long, default_value_t = 0)]
        revision: i64,
    },
    /// Undo a previous rollout.
    Undo {
        args: Vec<String>,
        /// The revision to roll back to; 0 is the previous one.
        #[arg(long, default_value_t = 0)]
        to_revision: i64,
    },
    /// Restart a resource: its pods are replaced by a new rollout.
    Restart { args: Vec<String> },
    /// Mark the provided resource as paused.
    Pause { args: Vec<String> },
    /// Resume a paused resource.
    Resume { args: Vec<String> },
}

#[derive(Args, Debug)]
pub struct MetaArgs {
    /// TYPE NAME KEY=VAL... KEY-..., or TYPE/NAME KEY=VAL...
    pub args: Vec<String>,
    /// Replace values that are already set.
    #[arg(long)]
    pub overwrite: bool,
    /// Label selector of the objects to change.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Every object of the type in the namespace.
    #[arg(long)]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    /// TYPE NAME, or TYPE/NAME.
    pub args: Vec<String>,
    /// The format to edit in: yaml or json.
    #[arg(short = 'o', long, default_value = "yaml")]
    pub output: String,
}

#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Only the client's version, without asking the server.
    #[arg(long)]
    pub client: bool,
    /// yaml or json.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
}

#[derive(Args, Debug)]
pub struct ApiResourcesArgs {
    /// Only namespaced (true) or cluster-scoped (false) resources.
    #[arg(long, action = bool_flag(), num_args = 0..=1, default_missing_value = "true")]
    pub namespaced: Option<bool>,
    /// wide or name.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    /// Only resources of this API group ("" for the core group).
    #[arg(long)]
    pub api_group: Option<String>,
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Display the kubeconfig.
    View {
        /// Only the current context and what it refers to.
        #[arg(long)]
        minify: bool,
        /// Show credentials instead of hiding them.
        #[arg(long)]
        raw: bool,
        /// yaml or json.
        #[arg(short = 'o', long)]
        output: Option<String>,
    },
    /// Set the current-context.
    UseContext { name: String },
    /// Display the current-context.
    CurrentContext,
    /// Describe one or many contexts.
    GetContexts {
        name: Option<String>,
        #[arg(long)]
        no_headers: bool,
        /// name prints only the names.
        #[arg(short = 'o', long)]
        output: Option<String>,
    },
}
