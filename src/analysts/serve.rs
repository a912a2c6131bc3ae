//! `pushfeed warehouse serve`: the private PostgreSQL kept running and reachable on 127.0.0.1,
//! for Power BI Desktop, SAS, DBeaver or psql, as one read-only login in `pushfeed_analysts`.
//!
//! The cluster itself still listens on its private unix socket only, with trust for the local
//! commands; a small relay on 127.0.0.1 admits exactly the analysts' login and database, and
//! PostgreSQL asks that login for its password (a `scram-sha-256` line for it heads
//! `pg_hba.conf`), so nobody reaches the superuser through the port. SELECT is all the login's
//! group is granted, so PostgreSQL itself refuses its writes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

use crate::adapters::local::stack::{self, Database, Home, LocalStack, DATABASE_NAME};
use crate::domain::access::ANALYST_GROUP;
use crate::domain::routes::RoutingTable;
use crate::domain::sql::literal;
use crate::ports::Warehouse;
use pg_cluster::PgCluster;

/// The default login's name.
pub const DEFAULT_LOGIN: &str = "pushfeed_analyst";

/// What `warehouse serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The TCP port on 127.0.0.1 (0: any free one, printed).
    pub port: u16,
    pub login: String,
    /// The login's password; a random one when None.
    pub password: Option<String>,
    pub json: bool,
}

/// Where a client connects, as printed.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub port: u16,
    pub login: String,
    pub password: String,
}

impl Endpoint {
    pub fn url(&self) -> String {
        format!(
            "postgresql://{}:{}@127.0.0.1:{}/{DATABASE_NAME}?sslmode=disable",
            self.login, self.password, self.port
        )
    }
}

/// Serves until `stop` completes (Ctrl-C from the CLI), then stops what it started.
pub async fn serve(
    home: &Home,
    routes: &RoutingTable,
    opts: &ServeOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    if let Database::Url(_) = Database::from_env() {
        bail!("warehouse serve serves the private PostgreSQL under the home; unset PUSHFEED_DATABASE_URL, or point your tool at that database directly");
    }
    check_login_name(&opts.login)?;
    let password = match &opts.password {
        Some(p) if p.len() >= 8 && !p.contains('\'') && !p.contains('\\') => p.clone(),
        Some(_) => bail!("--password must be at least 8 characters, without quotes or backslashes"),
        None => random_password()?,
    };
    let listener = TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .with_context(|| {
            format!(
                "listening on 127.0.0.1:{} (choose another --port)",
                opts.port
            )
        })?;
    let port = listener.local_addr()?.port();
    let stack = LocalStack::start(
        home.clone(),
        routes,
        Database::Private,
        stack::hints_from_env()?,
    )
    .await?;
    let served = async {
        prepare_login(&stack, &opts.login, &password).await?;
        let cluster = PgCluster::new(home.postgres_dir());
        let socket = cluster
            .socket_dir()
            .join(format!(".s.PGSQL.{}", cluster.port()));
        let endpoint = Endpoint {
            port,
            login: opts.login.clone(),
            password,
        };
        announce(&endpoint, opts.json);
        relay(
            listener,
            Arc::new(socket),
            Arc::new(opts.login.clone()),
            stop,
        )
        .await;
        anyhow::Ok(())
    }
    .await;
    let stopped = stack.shutdown().await;
    served?;
    stopped?;
    if !opts.json {
        eprintln!("pushfeed warehouse serve: stopped; the private PostgreSQL is stopped unless another pushfeed command still uses it");
    }
    Ok(())
}

/// A role name the relay, the SQL and a connection string can all carry unquoted.
fn check_login_name(login: &str) -> Result<()> {
    let ok = !login.is_empty()
        && login.len() <= 63
        && login.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && login != "postgres"
        && login != ANALYST_GROUP;
    if !ok {
        bail!("--login `{login}` must be lower-case letters, digits and underscores (at most 63), and neither postgres nor {ANALYST_GROUP}");
    }
    Ok(())
}

fn random_password() -> Result<String> {
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .context("reading /dev/urandom for the login's password (or give --password)")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Creates (or updates) the login in the group, read-only by default, and makes PostgreSQL ask
/// it for its password.
async fn prepare_login(stack: &LocalStack, login: &str, password: &str) -> Result<()> {
    let w = &stack.warehouse;
    let existing = w
        .query(&format!(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = {}",
            literal(login)
        ))
        .await?;
    let pw = literal(password);
    match existing
        .rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
    {
        Some(powerful) if powerful == "t" => {
            bail!("the role {login} can do more than read (superuser, or it creates roles or databases): choose another --login")
        }
        Some(_) => {
            w.query(&format!(
                "ALTER USER {login} LOGIN PASSWORD {pw}; ALTER GROUP {ANALYST_GROUP} ADD USER {login}"
            ))
            .await?;
        }
        None => {
            w.query(&format!(
                "CREATE USER {login} PASSWORD {pw} IN GROUP {ANALYST_GROUP}"
            ))
            .await?;
        }
    }
    // Tools that honour it open read-only transactions; the grants are what refuse a write.
    w.query(&format!(
        "ALTER ROLE {login} SET default_transaction_read_only = on"
    ))
    .await?;
    require_password(&stack.home, login)?;
    w.query("SELECT pg_reload_conf()").await?;
    Ok(())
}

/// Puts `local all LOGIN scram-sha-256` first in pg_hba.conf (first match wins; initdb's lines
/// trust every local connection), once.
fn require_password(home: &Home, login: &str) -> Result<()> {
    let path: PathBuf = home.postgres_dir().join("data").join("pg_hba.conf");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let line = format!("local all {login} scram-sha-256");
    if text.lines().any(|l| l.trim() == line) {
        return Ok(());
    }
    let updated = format!(
        "# pushfeed warehouse serve: the analysts' login gives its password, even locally.\n{line}\n{text}"
    );
    // Written in place, so the file keeps its owner (the server's account).
    std::fs::write(&path, updated).with_context(|| format!("writing {}", path.display()))
}

fn announce(e: &Endpoint, json: bool) {
    let port = e.port;
    if json {
        println!(
            "{}",
            json!({
                "host": "127.0.0.1", "port": port, "database": DATABASE_NAME,
                "user": e.login, "password": e.password, "url": e.url(),
                "jdbc": format!("jdbc:postgresql://127.0.0.1:{port}/{DATABASE_NAME}?sslmode=disable"),
            })
        );
    } else {
        println!("pushfeed warehouse serve: the local warehouse, read-only, on 127.0.0.1:{port} (Ctrl-C stops it)\n");
        println!("  connection string  {}", e.url());
        println!("  psql               psql \"{}\"", e.url());
        println!("  JDBC (DBeaver)     jdbc:postgresql://127.0.0.1:{port}/{DATABASE_NAME}?sslmode=disable  user {}  password {}", e.login, e.password);
        println!("  Power BI Desktop   Get Data > PostgreSQL database: Server 127.0.0.1:{port}, Database {DATABASE_NAME}, Import;");
        println!("                     Database credentials {} / {}; there is no TLS, so allow the unencrypted connection", e.login, e.password);
        println!("  SAS                libname pf postgres server=\"127.0.0.1\" port={port} database={DATABASE_NAME} user={} password=\"{}\";", e.login, e.password);
        println!("\n  Try: select * from customer_send_hours; select * from push_holdout_uplift; (docs/analysts.md)");
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
}

/// Accepts connections until `stop`; each is relayed to the cluster's socket once its startup
/// message names the login and the database.
async fn relay(
    listener: TcpListener,
    socket: Arc<PathBuf>,
    login: Arc<String>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let (socket, login) = (socket.clone(), login.clone());
                tasks.spawn(async move {
                    let _ = connection(client, socket.as_path(), login.as_str()).await;
                });
            }
            // Reap finished connections so the set does not grow.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.abort_all();
}

/// PostgreSQL's protocol codes in the first message (Frontend/Backend Protocol, "Message Formats").
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;
/// A startup packet is small; anything larger is not a PostgreSQL client.
const MAX_STARTUP: usize = 10_000;

async fn connection(mut client: TcpStream, socket: &Path, login: &str) -> std::io::Result<()> {
    loop {
        let len = client.read_u32().await? as usize;
        if !(8..=MAX_STARTUP).contains(&len) {
            return Ok(());
        }
        let mut body = vec![0u8; len - 4];
        client.read_exact(&mut body).await?;
        let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        match code {
            // No TLS or GSS here: the client goes on in plain text on the loopback (or gives up).
            SSL_REQUEST | GSSENC_REQUEST => client.write_all(b"N").await?,
            CANCEL_REQUEST => {
                let mut up = UnixStream::connect(socket).await?;
                up.write_u32(len as u32).await?;
                up.write_all(&body).await?;
                return Ok(());
            }
            c if c >> 16 == 3 => {
                let params = startup_params(&body[4..]);
                let user = params
                    .iter()
                    .find(|(k, _)| k == "user")
                    .map(|(_, v)| v.as_str());
                let database = params
                    .iter()
                    .find(|(k, _)| k == "database")
                    .map(|(_, v)| v.as_str())
                    .or(user);
                if user != Some(login) {
                    return refuse(
                        &mut client,
                        "28000",
                        &format!(
                            "pushfeed warehouse serve admits only the read-only login {login}"
                        ),
                    )
                    .await;
                }
                if database != Some(DATABASE_NAME) {
                    return refuse(
                        &mut client,
                        "3D000",
                        &format!(
                            "pushfeed warehouse serve serves only the database {DATABASE_NAME}"
                        ),
                    )
                    .await;
                }
                let mut up = UnixStream::connect(socket).await?;
                up.write_u32(len as u32).await?;
                up.write_all(&body).await?;
                tokio::io::copy_bidirectional(&mut client, &mut up).await?;
                return Ok(());
            }
            _ => return Ok(()),
        }
    }
}

/// `key\0value\0...\0` pairs.
fn startup_params(bytes: &[u8]) -> Vec<(String, String)> {
    let parts: Vec<String> = bytes
        .split(|&b| b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    parts
        .chunks(2)
        .filter(|kv| kv.len() == 2 && !kv[0].is_empty())
        .map(|kv| (kv[0].clone(), kv[1].clone()))
        .collect()
}

/// An ErrorResponse (severity FATAL), as the server would send it, then the connection closes.
async fn refuse(client: &mut TcpStream, code: &str, message: &str) -> std::io::Result<()> {
    let mut fields = Vec::new();
    for (tag, value) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', code),
        (b'M', message),
    ] {
        fields.push(tag);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&fields);
    client.write_all(&out).await?;
    client.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_parameters_are_read_in_pairs() {
        let p = startup_params(b"user\0pushfeed_analyst\0database\0pushfeed\0\0");
        assert_eq!(
            p,
            [
                ("user".to_string(), "pushfeed_analyst".to_string()),
                ("database".to_string(), "pushfeed".to_string())
            ]
        );
    }

    #[test]
    fn login_names_are_plain_and_never_the_superuser() {
        assert!(check_login_name("pushfeed_analyst").is_ok());
        for bad in ["postgres", "pushfeed_analysts", "Bob", "a b", "x'--", ""] {
            assert!(check_login_name(bad).is_err(), "{bad}");
        }
    }
}
