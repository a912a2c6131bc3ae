//! A private PostgreSQL cluster, run from the installed server binaries (`initdb`, `pg_ctl`,
//! `postgres`): pushfeed's local stand-in for Redshift, and the database its tests start. It
//! creates the cluster on first use, serialises concurrent starts and stops with a lock file,
//! clears the stale pid files a crash leaves, and listens on a unix socket only.
//!
//! Layout under the root directory (e.g. `<PUSHFEED_HOME>/postgres`):
//!
//! ```text
//! data/          the cluster (initdb output)
//! sock/          the only place the server listens: a unix socket, never TCP
//! server.log     server output, appended by pg_ctl (rotated once it grows large)
//! cluster.lock   held while starting or stopping, so concurrent callers serialise
//! ```
//!
//! Everything here blocks (it runs child processes and sleeps while polling), so async callers
//! should wrap it in `spawn_blocking`.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Environment variable naming the directory that holds `initdb`, `pg_ctl` and `postgres`.
pub const BINDIR_ENV: &str = "PUSHFEED_PG_BINDIR";
/// Name of the cluster's superuser, and of the OS account the server runs as when we are root.
pub const SUPERUSER: &str = "postgres";
/// The port only names the socket file (`.s.PGSQL.<port>`); the socket directory is private, so
/// the standard port cannot collide with another server.
pub const DEFAULT_PORT: u16 = 5432;

/// `sun_path` is 108 bytes on Linux, including the terminating NUL.
const SOCKET_PATH_MAX: usize = 107;
/// initdb on a slow CI disk plus crash recovery after an unclean stop can take a while.
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);
/// pg_ctl appends to the log forever; past this size the old log is moved to `server.log.1`.
const LOG_ROTATE_BYTES: u64 = 16 << 20;
const LOG_TAIL_LINES: usize = 30;
/// Used while waiting on a server someone else is starting; pg_isready costs a few ms each time.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
const START_POLL_INTERVAL: Duration = Duration::from_millis(5);
const STOP_POLL_INTERVAL: Duration = Duration::from_millis(5);
/// Where Debian and Ubuntu install each major version's server binaries (`<version>/bin`).
const VERSIONED_BIN_ROOT: &str = "/usr/lib/postgresql";

// Paths below are relative to the root directory because every child process runs with the
// root as its working directory. pg_ctl pastes -D and -l into a `/bin/sh -c` command line
// inside double quotes without escaping, so keeping them short fixed names means a root path
// containing `$`, `"` or a backquote cannot break or inject into that command line.
const DATA_DIR: &str = "data";
const INIT_DIR: &str = "data.initdb";
const SOCKET_DIR: &str = "sock";
const LOG_FILE: &str = "server.log";
const LOCK_FILE: &str = "cluster.lock";

/// Variables that would make a server or client tool look somewhere other than where we point it.
const SCRUBBED_ENV: &[&str] = &[
    "PGDATA",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGOPTIONS",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGSSLMODE",
    "PGCLUSTER",
];

/// Everything that can go wrong starting, stopping or using the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found {searched}: install them with `apt-get install postgresql` (Debian/Ubuntu) or set PUSHFEED_PG_BINDIR to their directory, or point PUSHFEED_DATABASE_URL at an existing database"
    )]
    BinariesNotFound { searched: String },

    #[error(
        "Running as root, PostgreSQL must run as another account (initdb and postgres refuse root), but /etc/passwd has no `postgres` user: create one with `useradd --system postgres`, or run pushfeed as a normal user"
    )]
    NoPostgresUser,

    #[error(
        "The socket path {path} is {len} bytes, longer than the {SOCKET_PATH_MAX} bytes a unix socket path may have: move the cluster root {root} (PUSHFEED_HOME) to a shorter path"
    )]
    SocketPathTooLong {
        path: PathBuf,
        len: usize,
        root: PathBuf,
    },

    #[error("The cluster root {root} cannot be used because {reason}: choose another path for PUSHFEED_HOME")]
    UnusableRoot { root: PathBuf, reason: &'static str },

    #[error("{data_dir} exists but is not a PostgreSQL data directory (it has no PG_VERSION): move it away or delete it, and pushfeed will create a fresh cluster")]
    NotACluster { data_dir: PathBuf },

    #[error(
        "The PostgreSQL server for {data_dir} is already running with its socket at {found}, not at {wanted}: stop it first (pg_ctl stop -D {data_dir})"
    )]
    RunningElsewhere {
        data_dir: PathBuf,
        found: String,
        wanted: String,
    },

    #[error("Could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("Could not run {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{program} failed for {target} ({status}): {stderr}")]
    CommandFailed {
        program: PathBuf,
        target: PathBuf,
        status: String,
        stderr: String,
    },

    #[error("Could not start the PostgreSQL server for {data_dir}: {detail}\nThe last lines of {log} are:\n{log_tail}")]
    StartFailed {
        data_dir: PathBuf,
        detail: String,
        log: PathBuf,
        log_tail: String,
    },

    #[error(
        "The PostgreSQL server for {data_dir} did not accept connections on {socket} within {waited_secs} s; the last lines of {log} are:\n{log_tail}"
    )]
    NotReady {
        data_dir: PathBuf,
        socket: PathBuf,
        waited_secs: u64,
        log: PathBuf,
        log_tail: String,
    },

    #[error(
        "The PostgreSQL server for {data_dir} did not stop within {waited_secs} s of `pg_ctl stop -m fast`; the last lines of {log} are:\n{log_tail}"
    )]
    NotStopped {
        data_dir: PathBuf,
        waited_secs: u64,
        log: PathBuf,
        log_tail: String,
    },

    #[error("Could not create database {name:?} in the cluster at {data_dir}: {reason}")]
    Database {
        name: String,
        data_dir: PathBuf,
        reason: String,
    },
}

/// What `ensure_started` did, so a caller stops only a server it started itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// This call created the cluster with initdb and started it.
    Initialized,
    /// This call started the server on an existing cluster.
    Started,
    /// A server was already running (from an earlier run or another process); leave it running.
    AlreadyRunning,
}

impl Started {
    /// True when the caller owns the running server and should `stop` it when done.
    pub fn by_this_call(self) -> bool {
        !matches!(self, Started::AlreadyRunning)
    }
}

/// How to reach the cluster over its unix socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnParams {
    /// The socket directory; libpq and tokio-postgres treat a host starting with `/` as one.
    pub host: PathBuf,
    pub port: u16,
    pub user: String,
    pub dbname: String,
}

impl ConnParams {
    /// libpq key=value form, e.g. `host=/x/sock port=5432 user=postgres dbname=pushfeed`.
    pub fn to_conninfo(&self) -> String {
        format!(
            "host={} port={} user={} dbname={}",
            conninfo_value(&self.host.to_string_lossy()),
            self.port,
            conninfo_value(&self.user),
            conninfo_value(&self.dbname),
        )
    }
}

impl fmt::Display for ConnParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_conninfo())
    }
}

/// A directory holding `initdb`, `pg_ctl` and `postgres` (and usually the client tools).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    bindir: PathBuf,
}

impl PgBinaries {
    /// The binaries in `dir`, if all three server programs are there.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Option<Self> {
        let bindir = dir.into();
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|name| is_executable(&bindir.join(name)))
            .then_some(Self { bindir })
    }

    /// Finds the server binaries using the process environment (see [`PgBinaries::locate_with`]).
    pub fn locate() -> Result<Self, ClusterError> {
        Self::locate_with(|key| std::env::var_os(key))
    }

    /// Finds the server binaries, reading environment variables through `env`.
    ///
    /// Order: `PUSHFEED_PG_BINDIR`; `pg_config --bindir`; the highest version under
    /// `/usr/lib/postgresql/*/bin`; the directory of `initdb` on `PATH`. An explicit
    /// `PUSHFEED_PG_BINDIR` that lacks the binaries is an error rather than a reason to fall
    /// back, because silently using other binaries would hide the misconfiguration.
    pub fn locate_with(env: impl Fn(&str) -> Option<OsString>) -> Result<Self, ClusterError> {
        locate_in(&env, Path::new(VERSIONED_BIN_ROOT))
    }

    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    pub fn initdb(&self) -> PathBuf {
        self.bindir.join("initdb")
    }

    pub fn pg_ctl(&self) -> PathBuf {
        self.bindir.join("pg_ctl")
    }

    pub fn postgres(&self) -> PathBuf {
        self.bindir.join("postgres")
    }

    /// A client program from the same installation (`psql`, `pg_isready`), when present.
    pub fn client(&self, name: &str) -> Option<PathBuf> {
        let path = self.bindir.join(name);
        is_executable(&path).then_some(path)
    }
}

fn locate_in(
    env: &dyn Fn(&str) -> Option<OsString>,
    versioned_root: &Path,
) -> Result<PgBinaries, ClusterError> {
    if let Some(dir) = env(BINDIR_ENV).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return PgBinaries::in_dir(&dir).ok_or_else(|| ClusterError::BinariesNotFound {
            searched: format!("in {} (from {BINDIR_ENV})", dir.display()),
        });
    }
    let path_var = env("PATH").unwrap_or_default();
    // On Debian pg_config may come from libpq-dev and report a bindir with client tools only,
    // so its answer counts only if the server programs are really there.
    if let Some(pg_config) = find_on_path("pg_config", &path_var) {
        let output = Command::new(&pg_config)
            .arg("--bindir")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        if let Some(output) = output.ok().filter(|o| o.status.success()) {
            let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if let Some(found) = (!dir.is_empty()).then(|| PgBinaries::in_dir(dir)).flatten() {
                return Ok(found);
            }
        }
    }
    if let Some(found) = highest_versioned_bindir(versioned_root) {
        return Ok(found);
    }
    if let Some(initdb) = find_on_path("initdb", &path_var) {
        // Prefer the symlink's target directory: it also holds pg_isready and psql.
        let real_dir = fs::canonicalize(&initdb)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        let link_dir = initdb.parent().map(Path::to_path_buf);
        if let Some(found) = real_dir
            .into_iter()
            .chain(link_dir)
            .find_map(PgBinaries::in_dir)
        {
            return Ok(found);
        }
    }
    Err(ClusterError::BinariesNotFound {
        searched: format!(
            "in {BINDIR_ENV}, `pg_config --bindir`, {}/*/bin or PATH",
            versioned_root.display()
        ),
    })
}

fn highest_versioned_bindir(versioned_root: &Path) -> Option<PgBinaries> {
    let mut candidates: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(versioned_root)
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version = parse_version(entry.file_name().to_str()?)?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .rev()
        .find_map(|(_, dir)| PgBinaries::in_dir(dir))
}

/// "15" -> [15], "9.6" -> [9, 6]; anything else is not a version directory.
fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn find_on_path(program: &str, path_var: &OsString) -> Option<PathBuf> {
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The OS account the server and its tools run as, when that is not us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Account {
    uid: u32,
    gid: u32,
}

type EnvLookup = Arc<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// A private PostgreSQL cluster rooted at one directory.
#[derive(Clone)]
pub struct PgCluster {
    root: PathBuf,
    port: u16,
    start_timeout: Duration,
    env: EnvLookup,
    binaries: OnceLock<PgBinaries>,
}

impl fmt::Debug for PgCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgCluster")
            .field("root", &self.root)
            .field("port", &self.port)
            .field("start_timeout", &self.start_timeout)
            .field("binaries", &self.binaries.get())
            .finish_non_exhaustive()
    }
}

impl PgCluster {
    /// A cluster rooted at `root`; nothing is touched until `ensure_started`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        // Children run with the root as working directory, so a relative root must be
        // resolved against the caller's working directory now.
        let root = std::path::absolute(&root).unwrap_or(root);
        Self {
            root,
            port: DEFAULT_PORT,
            start_timeout: DEFAULT_START_TIMEOUT,
            env: Arc::new(|key: &str| std::env::var_os(key)),
            binaries: OnceLock::new(),
        }
    }

    /// Names the socket `.s.PGSQL.<port>`; there is no TCP listener whatever the port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// How long to wait for the server to accept connections after starting it.
    pub fn with_start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Uses these binaries instead of searching for them.
    pub fn with_binaries(self, binaries: PgBinaries) -> Self {
        let _ = self.binaries.set(binaries);
        self
    }

    /// Reads environment variables (for binary discovery) through `env` instead of the process
    /// environment, so tests need not mutate global state. It forgets binaries given to an
    /// earlier `with_binaries`.
    pub fn with_env(
        mut self,
        env: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static,
    ) -> Self {
        self.env = Arc::new(env);
        self.binaries = OnceLock::new();
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join(DATA_DIR)
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.root.join(SOCKET_DIR)
    }

    pub fn log_file(&self) -> PathBuf {
        self.root.join(LOG_FILE)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server binaries this cluster uses, found on first use.
    pub fn binaries(&self) -> Result<&PgBinaries, ClusterError> {
        if let Some(found) = self.binaries.get() {
            return Ok(found);
        }
        let env = Arc::clone(&self.env);
        let found = PgBinaries::locate_with(move |key| env(key))?;
        Ok(self.binaries.get_or_init(|| found))
    }

    /// Parameters for connecting as the superuser to the `postgres` database.
    pub fn connection_params(&self) -> ConnParams {
        ConnParams {
            host: self.socket_dir(),
            port: self.port,
            user: SUPERUSER.to_owned(),
            dbname: "postgres".to_owned(),
        }
    }

    /// A libpq key=value connection string for `dbname`, accepted by tokio-postgres.
    pub fn connection_string(&self, dbname: &str) -> String {
        ConnParams {
            dbname: dbname.to_owned(),
            ..self.connection_params()
        }
        .to_conninfo()
    }

    /// Creates the cluster if needed and starts the server if it is not running, then waits
    /// until it accepts connections.
    pub fn ensure_started(&self) -> Result<Started, ClusterError> {
        let bins = self.binaries()?;
        self.check_socket_path()?;
        create_private_dir(&self.root)?;
        let _lock = self.lock()?;
        let account = self.server_account()?;
        create_private_dir(&self.socket_dir())?;
        if let Some(account) = account {
            self.hand_over_to(account)?;
        }

        let data_dir = self.data_dir();
        let mut initialized = false;
        if !data_dir.join("PG_VERSION").is_file() {
            self.initdb(bins, account)?;
            initialized = true;
        }

        self.clear_stale_pid_file()?;
        if self.status(bins, account)? {
            self.check_running_here()?;
            self.wait_ready(bins, account, Instant::now() + self.start_timeout, 0)?;
            return Ok(Started::AlreadyRunning);
        }

        self.rotate_log()?;
        let deadline = Instant::now() + self.start_timeout;
        // Errors quote only what this start attempt logged, not earlier runs.
        let log_from = fs::metadata(self.log_file()).map(|m| m.len()).unwrap_or(0);
        if !self.start_server(bins, account, log_from)? {
            self.wait_ready(bins, account, deadline, log_from)?;
        }
        Ok(if initialized {
            Started::Initialized
        } else {
            Started::Started
        })
    }

    /// Stops the server with `pg_ctl stop -m fast`; stopping a stopped cluster is not an error.
    pub fn stop(&self) -> Result<(), ClusterError> {
        if !self.data_dir().join("PG_VERSION").is_file() {
            return Ok(());
        }
        let bins = self.binaries()?;
        let _lock = self.lock()?;
        let account = self.server_account()?;
        if !self.status(bins, account)? {
            return Ok(());
        }
        // -W and our own polling: pg_ctl's -w checks only every 100 ms, while a fast shutdown
        // of this cluster takes a few milliseconds.
        let mut cmd = self.command(&bins.pg_ctl(), account);
        cmd.args(["stop", "-D", DATA_DIR, "-m", "fast", "-W", "-s"]);
        let output = run(cmd, &bins.pg_ctl())?;
        if !output.status.success() {
            // The server may have gone away between the status check and the stop.
            if !self.status(bins, account)? {
                return Ok(());
            }
            return Err(command_failed(&bins.pg_ctl(), &self.data_dir(), &output));
        }
        self.wait_stopped(Instant::now() + self.start_timeout)
    }

    /// Whether a server is running on this cluster's data directory (`pg_ctl status`).
    pub fn is_running(&self) -> bool {
        let Ok(bins) = self.binaries() else {
            return false;
        };
        let Ok(account) = self.server_account() else {
            return false;
        };
        self.status(bins, account).unwrap_or(false)
    }

    /// Creates database `name` unless it exists, with the `psql` client of the same installation
    /// (or `psql` on PATH). Returns whether this call created it. The server must be running.
    pub fn ensure_database(&self, name: &str) -> Result<bool, ClusterError> {
        let data_dir = self.data_dir();
        let invalid = |reason: &str| ClusterError::Database {
            name: name.to_owned(),
            data_dir: data_dir.clone(),
            reason: reason.to_owned(),
        };
        if name.is_empty() || name.len() > 63 {
            return Err(invalid("a database name must be 1 to 63 bytes long"));
        }
        let bins = self.binaries()?;
        let psql = bins
            .client("psql")
            .or_else(|| find_on_path("psql", &(self.env)("PATH").unwrap_or_default()))
            .ok_or_else(|| invalid("psql was not found next to the server binaries or on PATH"))?;
        // psql quotes the name itself (:'dbname' as a literal, :"dbname" as an identifier), so
        // any name is safe; \if needs psql 10 or newer.
        let script = "SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = :'dbname') AS missing \\gset\n\
                      \\if :missing\n\
                      CREATE DATABASE :\"dbname\";\n\
                      \\echo created\n\
                      \\endif\n";
        let output = self.psql(&psql, name, script)?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout)
                .lines()
                .any(|l| l.trim() == "created"));
        }
        // Another process may have created it between our check and our CREATE.
        let recheck = self.psql(
            &psql,
            name,
            "SELECT count(*) FROM pg_database WHERE datname = :'dbname';\n",
        );
        if recheck
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "1")
        {
            return Ok(false);
        }
        Err(invalid(&command_detail(&output)))
    }

    fn psql(&self, psql: &Path, dbname: &str, script: &str) -> Result<Output, ClusterError> {
        let mut cmd = Command::new(psql);
        for var in SCRUBBED_ENV {
            cmd.env_remove(var);
        }
        cmd.env("PGCONNECT_TIMEOUT", "10")
            .arg("-X")
            .arg("-w")
            .arg("-q")
            .arg("-At")
            .args(["-v", "ON_ERROR_STOP=1", "-v"])
            .arg(format!("dbname={dbname}"))
            .arg("-h")
            .arg(self.socket_dir())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-f",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawn_err = |source| ClusterError::Spawn {
            program: psql.to_path_buf(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn_err)?;
        if let Some(mut stdin) = child.stdin.take() {
            // The script is far smaller than a pipe buffer, so writing before reading cannot
            // deadlock; a write error shows up as psql's own failure below.
            let _ = stdin.write_all(script.as_bytes());
        }
        child.wait_with_output().map_err(spawn_err)
    }

    fn socket_file(&self) -> PathBuf {
        self.socket_dir().join(format!(".s.PGSQL.{}", self.port))
    }

    fn check_socket_path(&self) -> Result<(), ClusterError> {
        let unusable = |reason| ClusterError::UnusableRoot {
            root: self.root.clone(),
            reason,
        };
        let Some(root) = self.root.to_str() else {
            return Err(unusable(
                "it is not valid UTF-8, so no connection string can name its socket",
            ));
        };
        if root.contains(',') {
            return Err(unusable(
                "it contains a comma, which libpq and tokio-postgres read as a list of hosts",
            ));
        }
        let path = self.socket_file();
        let len = path.as_os_str().len();
        if len > SOCKET_PATH_MAX {
            return Err(ClusterError::SocketPathTooLong {
                path,
                len,
                root: self.root.clone(),
            });
        }
        Ok(())
    }

    /// Settings passed on the command line rather than written to postgresql.conf, so that
    /// moving the root directory or changing the port needs no edit inside the cluster.
    fn server_options(&self) -> String {
        let socket_dir = self.socket_dir().to_string_lossy().replace('"', "\"\"");
        let settings = [
            // Unix socket only: no TCP port is opened, so nothing else on the machine (or the
            // network) can reach it, and two pushfeed homes never fight over a port.
            "listen_addresses=".to_owned(),
            // Quoted as a list element so a comma or space in the path stays part of it.
            format!("unix_socket_directories=\"{socket_dir}\""),
            "unix_socket_permissions=0700".to_owned(),
            format!("port={}", self.port),
            // Durability is traded for speed: this is a disposable local stand-in for Redshift,
            // and everything in it can be reloaded from the stream and the object store. After a
            // machine crash the cluster may need deleting; a process crash loses nothing.
            "fsync=off".to_owned(),
            "synchronous_commit=off".to_owned(),
            "full_page_writes=off".to_owned(),
            // A load's statements each touch a whole batch, so their cost estimates cross JIT's
            // threshold and each spent ~0.3 s compiling, more than some took to run.
            "jit=off".to_owned(),
            // The load hashes and sorts a batch (up to ~100 MB) in memory rather than on disk.
            "work_mem=256MB".to_owned(),
            // A large window's batch (100k rows are ~130 MB with indexes) fits in the buffers,
            // so a load does not evict and write back its own pages as it goes.
            "shared_buffers=512MB".to_owned(),
            "wal_buffers=64MB".to_owned(),
        ];
        // pg_ctl hands -o to /bin/sh, so each option is single-quoted for the shell.
        settings
            .iter()
            .map(|setting| shell_quote(&format!("-c{setting}")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// As root, the account the server must run as: the owner of an existing cluster (so a
    /// cluster a normal user created keeps its owner), otherwise `postgres`.
    fn server_account(&self) -> Result<Option<Account>, ClusterError> {
        if effective_uid() != Some(0) {
            return Ok(None);
        }
        if let Ok(meta) = fs::metadata(self.data_dir()) {
            if meta.uid() != 0 {
                return Ok(Some(Account {
                    uid: meta.uid(),
                    gid: meta.gid(),
                }));
            }
        }
        let passwd = fs::read_to_string("/etc/passwd")
            .map_err(|source| io_error("read", "/etc/passwd", source))?;
        lookup_account(&passwd, SUPERUSER)
            .map(Some)
            .ok_or(ClusterError::NoPostgresUser)
    }

    /// Gives the root directory to the server account and makes sure that account can reach it.
    fn hand_over_to(&self, account: Account) -> Result<(), ClusterError> {
        chown_tree(&self.root, account, &self.data_dir())?;
        let canonical = fs::canonicalize(&self.root)
            .map_err(|source| io_error("resolve", &self.root, source))?;
        // Decision: rather than fail, add the "search" bit for others (o+x) to any ancestor the
        // server account cannot traverse, e.g. a 0700 temp dir or /root. That lets it reach
        // paths it already knows but not list or read those directories, which is the least
        // change that makes running as root work.
        for dir in canonical.ancestors().skip(1) {
            let meta = fs::metadata(dir).map_err(|source| io_error("inspect", dir, source))?;
            if !searchable_by(&meta, account) {
                let mode = (meta.mode() & 0o7777) | 0o001;
                fs::set_permissions(dir, fs::Permissions::from_mode(mode))
                    .map_err(|source| io_error("make traversable (o+x)", dir, source))?;
            }
        }
        Ok(())
    }

    fn initdb(&self, bins: &PgBinaries, account: Option<Account>) -> Result<(), ClusterError> {
        let data_dir = self.data_dir();
        if data_dir.exists() {
            let empty = fs::read_dir(&data_dir)
                .map_err(|source| io_error("read", &data_dir, source))?
                .next()
                .is_none();
            if !empty {
                return Err(ClusterError::NotACluster { data_dir });
            }
            fs::remove_dir(&data_dir).map_err(|source| io_error("remove", &data_dir, source))?;
        }
        // initdb writes PG_VERSION early, so a crash mid-initdb would leave a data/ that looks
        // complete. Building in a scratch directory and renaming it makes data/ all or nothing;
        // a leftover scratch directory is from an interrupted run (we hold the lock).
        let scratch = self.root.join(INIT_DIR);
        if scratch.exists() {
            fs::remove_dir_all(&scratch).map_err(|source| io_error("remove", &scratch, source))?;
        }
        let mut cmd = self.command(&bins.initdb(), account);
        cmd.args([
            "-D",
            INIT_DIR,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ])
        // Skipping fsync saves seconds; like fsync=off below, a machine crash right after
        // initdb costs only a re-created local cluster.
        .arg("--no-sync");
        let output = run(cmd, &bins.initdb())?;
        if !output.status.success() {
            return Err(command_failed(&bins.initdb(), &scratch, &output));
        }
        fs::rename(&scratch, &data_dir).map_err(|source| io_error("rename", &scratch, source))
    }

    /// Runs `pg_ctl start -w`, which reports a server that dies during startup and enforces the
    /// timeout, but checks only every 100 ms; meanwhile we probe with pg_isready every few
    /// milliseconds and stop waiting for pg_ctl as soon as the server answers (startup itself
    /// takes about 40 ms here). Killing pg_ctl then is harmless: the server runs in its own
    /// session and pg_ctl is only reading postmaster.pid. Returns whether pg_isready confirmed
    /// the server answers.
    fn start_server(
        &self,
        bins: &PgBinaries,
        account: Option<Account>,
        log_from: u64,
    ) -> Result<bool, ClusterError> {
        let pg_ctl = bins.pg_ctl();
        let mut cmd = self.command(&pg_ctl, account);
        cmd.args(["start", "-D", DATA_DIR, "-l", LOG_FILE, "-w", "-s", "-t"])
            .arg(self.start_timeout.as_secs().max(1).to_string())
            .arg("-o")
            .arg(self.server_options())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let spawn_err = |source| ClusterError::Spawn {
            program: pg_ctl.clone(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn_err)?;
        let can_probe = bins.client("pg_isready").is_some();
        let mut answered = false;
        loop {
            if child.try_wait().map_err(spawn_err)?.is_some() {
                break;
            }
            if can_probe && self.accepts_connections(bins) {
                answered = true;
                let _ = child.kill();
                break;
            }
            std::thread::sleep(START_POLL_INTERVAL);
        }
        let output = child.wait_with_output().map_err(spawn_err)?;
        if answered || output.status.success() {
            return Ok(answered);
        }
        Err(ClusterError::StartFailed {
            data_dir: self.data_dir(),
            detail: command_detail(&output),
            log: self.log_file(),
            log_tail: self.log_tail(log_from),
        })
    }

    /// The postmaster removes postmaster.pid as the last step of shutting down. A pid file whose
    /// process is gone (a crash mid-shutdown) also counts as stopped; postgres itself treats it
    /// as stale on the next start.
    fn wait_stopped(&self, deadline: Instant) -> Result<(), ClusterError> {
        let pid_file = self.data_dir().join("postmaster.pid");
        let started_waiting = Instant::now();
        loop {
            let Ok(contents) = fs::read_to_string(&pid_file) else {
                return Ok(());
            };
            let pid = contents
                .lines()
                .next()
                .and_then(|line| line.trim().parse::<u32>().ok());
            // Without /proc there is no telling, so only the pid file's removal counts.
            let alive = pid.is_none_or(|pid| {
                Path::new(&format!("/proc/{pid}")).exists() || !Path::new("/proc/self").exists()
            });
            if !alive {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NotStopped {
                    data_dir: self.data_dir(),
                    waited_secs: started_waiting.elapsed().as_secs(),
                    log: self.log_file(),
                    log_tail: self.log_tail(0),
                });
            }
            std::thread::sleep(STOP_POLL_INTERVAL);
        }
    }

    /// A postmaster.pid that names no live postgres process is stale: left by a crash, or
    /// empty or garbage after a full disk. pg_ctl would take a live unrelated pid in it for a
    /// running server (and wait out the start timeout), and postgres refuses to start on a file
    /// it cannot parse; we hold the cluster's lock, so no start of ours is under way, and the
    /// file is removed. Without /proc there is no telling, and the file is left to postgres.
    fn clear_stale_pid_file(&self) -> Result<(), ClusterError> {
        let pid_file = self.data_dir().join("postmaster.pid");
        let Ok(contents) = fs::read(&pid_file) else {
            return Ok(());
        };
        if !Path::new("/proc/self").exists() {
            return Ok(());
        }
        let pid = std::str::from_utf8(&contents)
            .ok()
            .and_then(|text| text.lines().next())
            .and_then(|line| line.trim().parse::<u32>().ok())
            .filter(|pid| *pid > 0);
        let is_postgres = pid.is_some_and(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim_end().starts_with("postgres"))
        });
        if is_postgres {
            return Ok(());
        }
        fs::remove_file(&pid_file).map_err(|source| io_error("remove", &pid_file, source))
    }

    fn status(&self, bins: &PgBinaries, account: Option<Account>) -> Result<bool, ClusterError> {
        if !self.data_dir().join("PG_VERSION").is_file() {
            return Ok(false);
        }
        let mut cmd = self.command(&bins.pg_ctl(), account);
        cmd.args(["status", "-D", DATA_DIR]);
        // Exit 0: running; 3: not running; 4: no usable data directory.
        Ok(run(cmd, &bins.pg_ctl())?.status.success())
    }

    /// A server found running may have been started with another port or socket directory
    /// (by hand, or by a pushfeed with another setting); waiting on our socket would then time
    /// out with a misleading message.
    fn check_running_here(&self) -> Result<(), ClusterError> {
        let pid_file = self.data_dir().join("postmaster.pid");
        let Ok(contents) = fs::read_to_string(&pid_file) else {
            return Ok(());
        };
        let lines: Vec<&str> = contents.lines().collect();
        let (Some(port), Some(socket_dir)) = (lines.get(3), lines.get(4)) else {
            return Ok(());
        };
        // postgres records the directory lexically normalised, ours may still hold `..`.
        let same_dir =
            fs::canonicalize(socket_dir.trim()).ok() == fs::canonicalize(self.socket_dir()).ok();
        if port.trim() == self.port.to_string() && same_dir {
            return Ok(());
        }
        Err(ClusterError::RunningElsewhere {
            data_dir: self.data_dir(),
            found: format!("{}/.s.PGSQL.{}", socket_dir.trim(), port.trim()),
            wanted: self.socket_file().display().to_string(),
        })
    }

    fn wait_ready(
        &self,
        bins: &PgBinaries,
        account: Option<Account>,
        deadline: Instant,
        log_from: u64,
    ) -> Result<(), ClusterError> {
        let started_waiting = Instant::now();
        loop {
            if self.accepts_connections(bins) {
                return Ok(());
            }
            if !self.status(bins, account)? {
                return Err(ClusterError::StartFailed {
                    data_dir: self.data_dir(),
                    detail: "the server exited before it accepted connections".to_owned(),
                    log: self.log_file(),
                    log_tail: self.log_tail(log_from),
                });
            }
            if Instant::now() >= deadline {
                return Err(ClusterError::NotReady {
                    data_dir: self.data_dir(),
                    socket: self.socket_file(),
                    waited_secs: started_waiting.elapsed().as_secs(),
                    log: self.log_file(),
                    log_tail: self.log_tail(log_from),
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn accepts_connections(&self, bins: &PgBinaries) -> bool {
        let Some(pg_isready) = bins.client("pg_isready") else {
            // The socket appears before recovery finishes, so this fallback is weaker than
            // pg_isready; pg_ctl start -w has already waited for "ready" in postmaster.pid.
            return self.socket_file().exists();
        };
        let mut cmd = Command::new(pg_isready);
        for var in SCRUBBED_ENV {
            cmd.env_remove(var);
        }
        cmd.arg("-q")
            .arg("-h")
            .arg(self.socket_dir())
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-t",
                "5",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.status().is_ok_and(|status| status.success())
    }

    fn lock(&self) -> Result<File, ClusterError> {
        let path = self.root.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| io_error("open the lock file", &path, source))?;
        // flock-style: released when the File is dropped, or when the process dies, so a
        // crashed pushfeed never leaves the cluster locked. Rust opens files close-on-exec, so
        // the server we spawn does not inherit (and keep) the lock.
        file.lock()
            .map_err(|source| io_error("lock", &path, source))?;
        Ok(file)
    }

    /// pg_ctl's shell recreates the log (as the server account) on the next start.
    fn rotate_log(&self) -> Result<(), ClusterError> {
        let log = self.log_file();
        if fs::metadata(&log).is_ok_and(|m| m.len() > LOG_ROTATE_BYTES) {
            let old = self.root.join(format!("{LOG_FILE}.1"));
            fs::rename(&log, &old).map_err(|source| io_error("rotate", &log, source))?;
        }
        Ok(())
    }

    /// The last lines of the server log, starting no earlier than byte `from`.
    fn log_tail(&self, from: u64) -> String {
        let path = self.log_file();
        let Ok(mut file) = File::open(&path) else {
            return "(no log file)".to_owned();
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024).max(from)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n");
        if tail.trim().is_empty() {
            "(log is empty)".to_owned()
        } else {
            tail
        }
    }

    fn command(&self, program: &Path, account: Option<Account>) -> Command {
        let mut cmd = Command::new(program);
        for var in SCRUBBED_ENV {
            cmd.env_remove(var);
        }
        // The root is readable by the server account, unlike e.g. /root, the caller's working
        // directory when run as root (the tools warn or fail when they cannot read it).
        cmd.current_dir(&self.root).stdin(Stdio::null());
        if let Some(account) = account {
            // std drops supplementary groups (setgroups(0)) before setuid when we are root.
            cmd.uid(account.uid).gid(account.gid);
        }
        cmd
    }
}

fn run(mut cmd: Command, program: &Path) -> Result<Output, ClusterError> {
    cmd.output().map_err(|source| ClusterError::Spawn {
        program: program.to_path_buf(),
        source,
    })
}

fn command_failed(program: &Path, target: &Path, output: &Output) -> ClusterError {
    ClusterError::CommandFailed {
        program: program.to_path_buf(),
        target: target.to_path_buf(),
        status: output.status.to_string(),
        stderr: command_detail(output),
    }
}

/// stderr, or stdout when a tool reported its failure there.
fn command_detail(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if !stderr.is_empty() {
        return stderr;
    }
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if stdout.is_empty() {
        format!("no output ({})", output.status)
    } else {
        stdout
    }
}

fn io_error(action: &'static str, path: impl AsRef<Path>, source: io::Error) -> ClusterError {
    ClusterError::Io {
        action,
        path: path.as_ref().to_path_buf(),
        source,
    }
}

fn create_private_dir(dir: &Path) -> Result<(), ClusterError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| io_error("create directory", dir, source))
}

/// Reads the effective uid from /proc, since std has no geteuid and libc is not a dependency;
/// the `Uid:` line lists the real, effective, saved and filesystem uids.
fn effective_uid() -> Option<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(rest) = status.lines().find_map(|line| line.strip_prefix("Uid:")) {
            return rest.split_whitespace().nth(1)?.parse().ok();
        }
    }
    fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Only /etc/passwd is consulted (no NSS): system accounts such as `postgres` live there.
fn lookup_account(passwd: &str, name: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        Some(Account {
            uid: fields.next()?.parse().ok()?,
            gid: fields.next()?.parse().ok()?,
        })
    })
}

/// Owner, group and other bits are exclusive classes; supplementary groups are ignored because
/// std drops them when it switches to the server account.
fn searchable_by(meta: &fs::Metadata, account: Account) -> bool {
    let mode = meta.mode();
    if meta.uid() == account.uid {
        mode & 0o100 != 0
    } else if meta.gid() == account.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

/// Changes ownership throughout the root, without following symlinks. A data directory that
/// already belongs to the account was made by initdb as that account, so its (many) files are
/// not walked again on every start.
fn chown_tree(path: &Path, account: Account, data_dir: &Path) -> Result<(), ClusterError> {
    let meta = fs::symlink_metadata(path).map_err(|source| io_error("inspect", path, source))?;
    let owned = meta.uid() == account.uid && meta.gid() == account.gid;
    if !owned {
        std::os::unix::fs::lchown(path, Some(account.uid), Some(account.gid))
            .map_err(|source| io_error("change the owner of", path, source))?;
    }
    if meta.is_dir() && !(owned && path == data_dir) {
        for entry in fs::read_dir(path).map_err(|source| io_error("read", path, source))? {
            let entry = entry.map_err(|source| io_error("read", path, source))?;
            chown_tree(&entry.path(), account, data_dir)?;
        }
    }
    Ok(())
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Quotes a libpq key=value value when it is empty or holds spaces, quotes or backslashes.
fn conninfo_value(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\');
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh 0700 directory under the system temp dir, like the private temp dirs that make
    /// running as root hard; stops the cluster and removes the directory when dropped.
    struct Scratch {
        dir: PathBuf,
        clusters: Vec<PgCluster>,
    }

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("pgc-{tag}-{}-{unique}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .expect("create scratch dir");
            Scratch {
                dir,
                clusters: Vec::new(),
            }
        }

        fn cluster(&mut self) -> PgCluster {
            let cluster = PgCluster::new(self.dir.join("postgres"));
            self.clusters.push(cluster.clone());
            cluster
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            for cluster in &self.clusters {
                let _ = cluster.stop();
            }
            let _ = fs::remove_dir_all(&self.dir);
        }
    }

    fn psql(cluster: &PgCluster, dbname: &str, sql: &str) -> String {
        let output = Command::new("/usr/bin/psql")
            .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .arg(cluster.connection_string(dbname))
            .output()
            .expect("run /usr/bin/psql");
        assert!(
            output.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    #[test]
    fn starts_stops_and_restarts_a_private_cluster() {
        let mut scratch = Scratch::new("life");
        let cluster = scratch.cluster();
        assert!(!cluster.is_running());

        let t = Instant::now();
        let first = cluster.ensure_started().expect("first start");
        let first_ms = t.elapsed().as_millis();
        assert_eq!(first, Started::Initialized);
        assert!(first.by_this_call());
        assert!(cluster.is_running());

        assert_eq!(psql(&cluster, "postgres", "select 1"), "1");
        assert_eq!(
            psql(&cluster, "postgres", "show listen_addresses"),
            "",
            "no TCP listener"
        );
        assert_eq!(psql(&cluster, "postgres", "show fsync"), "off");
        assert_eq!(psql(&cluster, "postgres", "show jit"), "off");

        let again = cluster.ensure_started().expect("second ensure_started");
        assert_eq!(again, Started::AlreadyRunning);
        assert!(!again.by_this_call());

        assert!(cluster
            .ensure_database("pushfeed")
            .expect("create database"));
        assert!(!cluster
            .ensure_database("pushfeed")
            .expect("database exists"));
        assert!(cluster
            .ensure_database("odd 'name\"")
            .expect("create quoted database"));
        psql(&cluster, "pushfeed", "create table marker (id int)");

        let t = Instant::now();
        cluster.stop().expect("stop");
        let stop_ms = t.elapsed().as_millis();
        assert!(!cluster.is_running());
        cluster.stop().expect("stopping a stopped cluster");

        let t = Instant::now();
        let restarted = cluster.ensure_started().expect("restart");
        let restart_ms = t.elapsed().as_millis();
        assert_eq!(restarted, Started::Started);
        // The table survives, so the restart reused the cluster instead of running initdb.
        assert_eq!(
            psql(&cluster, "pushfeed", "select count(*) from marker"),
            "0"
        );

        let elsewhere = PgCluster::new(cluster.root())
            .with_port(5439)
            .ensure_started();
        assert!(
            matches!(elsewhere, Err(ClusterError::RunningElsewhere { .. })),
            "{elsewhere:?}"
        );

        if effective_uid() == Some(0) {
            let postgres = fs::read_to_string("/etc/passwd")
                .ok()
                .and_then(|passwd| lookup_account(&passwd, SUPERUSER))
                .expect("postgres account");
            let data = fs::metadata(cluster.data_dir()).unwrap();
            assert_eq!((data.uid(), data.gid()), (postgres.uid, postgres.gid));
            let parent_mode = fs::metadata(&scratch.dir).unwrap().mode() & 0o7777;
            assert_eq!(parent_mode, 0o701, "only o+x added to the 0700 temp dir");
        }

        cluster.stop().expect("final stop");
        assert!(!cluster.is_running());

        // A broken config makes the server exit during startup: the error carries the log.
        let conf = cluster.data_dir().join("postgresql.conf");
        let mut file = OpenOptions::new().append(true).open(&conf).unwrap();
        writeln!(file, "this is not a setting").unwrap();
        drop(file);
        let t = Instant::now();
        let err = cluster.ensure_started().expect_err("broken config");
        assert!(matches!(err, ClusterError::StartFailed { .. }), "{err}");
        assert!(err.to_string().contains("syntax error"), "{err}");
        eprintln!(
            "failed start reported in {} ms: {err}",
            t.elapsed().as_millis()
        );
        assert!(!cluster.is_running());
        eprintln!("timings: first start (initdb + start) {first_ms} ms, restart {restart_ms} ms, stop {stop_ms} ms");
    }

    #[test]
    fn a_stale_garbage_or_empty_pid_file_and_a_torn_initdb_do_not_block_a_start() {
        let mut scratch = Scratch::new("stale");
        // Before the fix, a live unrelated pid made the start wait this long, then fail.
        let cluster = scratch
            .cluster()
            .with_start_timeout(Duration::from_secs(15));
        // An initdb that crashed half-way left its scratch directory with files in it.
        let torn = cluster.root().join(INIT_DIR).join("base/1");
        fs::create_dir_all(&torn).unwrap();
        fs::write(torn.join("112"), b"half a relation").unwrap();
        assert_eq!(cluster.ensure_started().unwrap(), Started::Initialized);
        assert!(!cluster.root().join(INIT_DIR).exists());
        cluster.stop().unwrap();
        let pid_file = cluster.data_dir().join("postmaster.pid");
        // pid 1 is alive and is not postgres; the rest of the file looks real.
        let live_unrelated = format!(
            "1\n{}\n1700000000\n{}\n{}\nlocalhost\n  5432001 0\nready   \n",
            cluster.data_dir().display(),
            cluster.port(),
            cluster.socket_dir().display()
        );
        for (what, contents) in [
            ("empty", String::new()),
            ("garbage", "\u{0}\u{0}not a pid file".to_string()),
            ("a live unrelated pid", live_unrelated),
        ] {
            fs::write(&pid_file, &contents).unwrap();
            let started = cluster
                .ensure_started()
                .unwrap_or_else(|e| panic!("{what} postmaster.pid: {e}"));
            assert_eq!(started, Started::Started, "{what}");
            assert_eq!(psql(&cluster, "postgres", "select 1"), "1", "{what}");
            cluster.stop().unwrap();
        }
    }

    #[test]
    fn concurrent_starts_on_one_root_start_one_server() {
        let mut scratch = Scratch::new("race");
        let cluster = scratch.cluster().with_port(5433);
        // Each call opens its own lock file handle, so threads contend exactly like processes.
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let cluster = cluster.clone();
                std::thread::spawn(move || cluster.ensure_started())
            })
            .collect();
        let mut outcomes: Vec<Started> = handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("ensure_started"))
            .collect();
        outcomes.sort_by_key(|s| *s as u8);
        assert_eq!(
            outcomes,
            vec![
                Started::Initialized,
                Started::AlreadyRunning,
                Started::AlreadyRunning
            ]
        );
        assert_eq!(psql(&cluster, "postgres", "select 1"), "1");
        cluster.stop().expect("stop");
    }

    #[test]
    fn empty_bindir_gives_the_install_hint() {
        let scratch = Scratch::new("nobin");
        let empty = scratch.dir.clone();
        let env = move |key: &str| (key == BINDIR_ENV).then(|| empty.clone().into_os_string());
        let err = PgBinaries::locate_with(env.clone()).expect_err("no binaries there");
        assert!(matches!(err, ClusterError::BinariesNotFound { .. }));
        let message = err.to_string();
        assert!(message.contains("apt-get install postgresql"), "{message}");
        assert!(
            message.contains(&scratch.dir.display().to_string()),
            "{message}"
        );
        assert_eq!(message.lines().count(), 1, "one sentence: {message}");

        let cluster = PgCluster::new(scratch.dir.join("postgres")).with_env(env);
        assert!(matches!(
            cluster.ensure_started(),
            Err(ClusterError::BinariesNotFound { .. })
        ));
        assert!(!cluster.is_running());
        assert!(
            !scratch.dir.join("postgres").exists(),
            "nothing is created without binaries"
        );
    }

    #[test]
    fn nothing_found_anywhere_names_every_place_searched() {
        let scratch = Scratch::new("none");
        let err = locate_in(&|_| None, &scratch.dir.join("missing")).expect_err("nothing to find");
        let message = err.to_string();
        assert!(
            message.contains("pg_config --bindir") && message.contains("PATH"),
            "{message}"
        );
    }

    #[test]
    fn falls_back_to_the_highest_versioned_bindir() {
        if !Path::new(VERSIONED_BIN_ROOT).is_dir() {
            return;
        }
        let found = PgBinaries::locate_with(|_| None).expect("versioned bindir");
        assert!(found.bindir().starts_with(VERSIONED_BIN_ROOT), "{found:?}");
    }

    #[test]
    fn client_only_pg_config_falls_through_to_initdb_on_path() {
        let scratch = Scratch::new("path");
        let real = PgBinaries::locate().expect("this machine has PostgreSQL");
        let on_path = scratch.dir.join("bin");
        let client_only = scratch.dir.join("client-only");
        fs::create_dir_all(&on_path).unwrap();
        fs::create_dir_all(&client_only).unwrap();
        for name in ["initdb", "pg_ctl", "postgres"] {
            std::os::unix::fs::symlink(real.bindir().join(name), on_path.join(name)).unwrap();
        }
        let pg_config = on_path.join("pg_config");
        fs::write(
            &pg_config,
            format!("#!/bin/sh\necho {}\n", client_only.display()),
        )
        .unwrap();
        fs::set_permissions(&pg_config, fs::Permissions::from_mode(0o755)).unwrap();

        let path = on_path.clone().into_os_string();
        let env = move |key: &str| (key == "PATH").then(|| path.clone());
        let found = locate_in(&env, &scratch.dir.join("no-versions")).expect("initdb on PATH");
        // The symlinks' target directory wins: it also has pg_isready and psql.
        assert_eq!(found.bindir(), fs::canonicalize(real.bindir()).unwrap());
    }

    #[test]
    fn versions_sort_numerically() {
        let scratch = Scratch::new("ver");
        let real = PgBinaries::locate().expect("this machine has PostgreSQL");
        for version in ["9.6", "15", "10", "not-a-version"] {
            let bin = scratch.dir.join(version).join("bin");
            fs::create_dir_all(&bin).unwrap();
            for name in ["initdb", "pg_ctl", "postgres"] {
                std::os::unix::fs::symlink(real.bindir().join(name), bin.join(name)).unwrap();
            }
        }
        let found = highest_versioned_bindir(&scratch.dir).expect("found");
        assert_eq!(found.bindir(), scratch.dir.join("15").join("bin"));
        assert_eq!(parse_version("9.6"), Some(vec![9, 6]));
        assert_eq!(parse_version("main"), None);
    }

    #[test]
    fn stray_data_directory_is_not_overwritten() {
        let mut scratch = Scratch::new("stray");
        let cluster = scratch.cluster();
        fs::create_dir_all(cluster.data_dir()).unwrap();
        fs::write(cluster.data_dir().join("notes.txt"), "mine").unwrap();
        let err = cluster.ensure_started().expect_err("not a cluster");
        assert!(matches!(err, ClusterError::NotACluster { .. }), "{err}");
        assert_eq!(
            fs::read_to_string(cluster.data_dir().join("notes.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn too_long_socket_path_is_refused_before_touching_disk() {
        let scratch = Scratch::new("long");
        let root = scratch.dir.join("x".repeat(120));
        let err = PgCluster::new(&root)
            .ensure_started()
            .expect_err("path too long");
        assert!(
            matches!(err, ClusterError::SocketPathTooLong { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("107 bytes"), "{err}");
        assert!(!root.exists());
    }

    #[test]
    fn connection_string_is_libpq_key_value() {
        let cluster = PgCluster::new("/srv/pf/postgres");
        assert_eq!(
            cluster.connection_string("pushfeed"),
            "host=/srv/pf/postgres/sock port=5432 user=postgres dbname=pushfeed"
        );
        let params = PgCluster::new("/a b/it's")
            .with_port(6000)
            .connection_params();
        assert_eq!(
            params.to_conninfo(),
            r"host='/a b/it\'s/sock' port=6000 user=postgres dbname=postgres"
        );
    }

    #[test]
    fn server_options_survive_the_shell() {
        let cluster = PgCluster::new("/tmp/a'b \"c\"/$x");
        let options = cluster.server_options();
        let output = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("printf '%s\\n' {options}"))
            .output()
            .expect("sh");
        let args = String::from_utf8_lossy(&output.stdout);
        assert!(
            args.lines()
                .any(|l| l == r#"-cunix_socket_directories="/tmp/a'b ""c""/$x/sock""#),
            "{args}"
        );
        assert!(args.lines().any(|l| l == "-clisten_addresses="), "{args}");
    }

    #[test]
    fn passwd_lookup_and_traversal_rules() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104:PostgreSQL:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(
            lookup_account(passwd, "postgres"),
            Some(Account { uid: 101, gid: 104 })
        );
        assert_eq!(lookup_account(passwd, "nobody"), None);
    }
}
