//! What every command shares: where to write, which cluster and namespace, and the discovery
//! cache.
//!
//! Nothing here touches the network until a command asks for it: `kubectl-lite version --client`
//! reads no kubeconfig and opens no connection, which keeps start-up at a few milliseconds.

use std::io::Write;

use kubelab_client::{Client, Config};

use crate::cli::Global;
use crate::error::{CliError, Result};
use crate::kubeconfig;
use crate::resolve::{ApiResource, Discovery};

/// The state of one kubectl-lite invocation.
pub struct Ctx<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub global: Global,
    client: Option<(Client, String)>,
    discovery: Option<Discovery>,
    /// Set when an error was printed but the command went on (the other documents of a file):
    /// the exit code is then 1.
    pub failed: bool,
    /// The exit code a command asks for (`exec` passes on the remote command's).
    pub exit_code: Option<i32>,
}

impl<'a> Ctx<'a> {
    pub fn new(global: Global, out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Ctx {
            out,
            err,
            global,
            client: None,
            discovery: None,
            failed: false,
            exit_code: None,
        }
    }

    /// The client for the chosen cluster (`--server`, else `--context` or the current context
    /// of the kubeconfig).
    pub fn client(&mut self) -> Result<Client> {
        Ok(self.connect()?.0)
    }

    /// The namespace to work in: `-n`, else the context's, else `default`.
    pub fn namespace(&mut self) -> Result<String> {
        if let Some(ns) = &self.global.namespace {
            return Ok(ns.clone());
        }
        Ok(self.connect()?.1)
    }

    /// Whether `-n` was given (an object's own namespace must then agree with it).
    pub fn namespace_explicit(&self) -> bool {
        self.global.namespace.is_some()
    }

    fn connect(&mut self) -> Result<(Client, String)> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        let path = kubeconfig::path(self.global.kubeconfig.as_deref());
        let config = match (&self.global.server, &path) {
            (Some(server), Some(path)) => {
                let ns = Config::from_kubeconfig_file(path, self.global.context.as_deref())
                    .map(|c| c.namespace)
                    .unwrap_or_else(|_| "default".into());
                Config::new(server.clone()).with_namespace(ns)
            }
            (Some(server), None) => Config::new(server.clone()),
            (None, Some(path)) => Config::from_kubeconfig_file(path, self.global.context.as_deref())
                .map_err(|e| CliError::msg(e.to_string()))?,
            (None, None) => {
                return Err(CliError::msg(
                    "no kubeconfig: set KUBECONFIG, pass --kubeconfig or --server, or run `kubelab up`",
                ))
            }
        };
        let namespace = config.namespace.clone();
        let client = Client::new(config).map_err(|e| CliError::msg(e.to_string()))?;
        self.client = Some((client.clone(), namespace.clone()));
        Ok((client, namespace))
    }

    /// The server's resources, fetched on first use.
    pub async fn discovery(&mut self) -> Result<&Discovery> {
        if self.discovery.is_none() {
            let client = self.client()?;
            self.discovery = Some(Discovery::fetch(&client).await?);
        }
        Ok(self.discovery.as_ref().expect("just filled"))
    }

    /// The resource a word names (`po`, `deployments.apps`).
    pub async fn resolve(&mut self, word: &str) -> Result<ApiResource> {
        Ok(self.discovery().await?.resolve(word)?.clone())
    }

    /// Prints an error and remembers that the command failed, so it can go on with the rest.
    pub fn report(&mut self, err: CliError) {
        let _ = writeln!(self.err, "{err}");
        self.failed = true;
    }
}
