//! The analysts' access to the local warehouse: the read-only group `pushfeed_analysts` that the
//! local stack creates with its tables, a login made with the README's SQL, and
//! `pushfeed warehouse serve`, which lets a BI tool in over 127.0.0.1 as a read-only login.

mod common;

use common::{json_ok, stderr, TempHome};
use pushfeed::domain::access::readable;
use pushfeed::domain::routes::RoutingTable;

fn sql(home: &TempHome, query: &str) -> std::process::Output {
    home.pushfeed(&["--json", "sql", query])
}

#[test]
fn the_group_may_select_every_table_and_view_and_nothing_else() {
    let home = TempHome::new();
    let grants = json_ok(&sql(
        &home,
        "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) AS privileges \
         FROM information_schema.role_table_grants WHERE grantee = 'pushfeed_analysts' \
         GROUP BY table_name ORDER BY table_name",
    ));
    let mut want: Vec<String> = readable(RoutingTable::default_routes().routes());
    want.sort();
    let got: Vec<(String, String)> = grants
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["table_name"].as_str().unwrap().to_string(),
                r["privileges"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        want.iter()
            .map(|t| (t.clone(), "SELECT".to_string()))
            .collect::<Vec<_>>()
    );

    // The README's way to add an analyst, then that analyst's session.
    json_ok(&sql(
        &home,
        "CREATE USER analyst_alice PASSWORD 'A-strong-password-1' IN GROUP pushfeed_analysts",
    ));
    for object in &want {
        json_ok(&sql(
            &home,
            &format!("SET ROLE analyst_alice; SELECT count(*) FROM {object}"),
        ));
    }
    for write in [
        "INSERT INTO push_opens (event_id) VALUES ('analyst-was-here')",
        "UPDATE push_sends SET push_id = 'x'",
        "DELETE FROM pushfeed_loads",
        "TRUNCATE push_controls",
        "DROP TABLE push_uninstalls",
        "DROP VIEW customer_send_hours",
        "CREATE TABLE analyst_scratch (n int)",
    ] {
        let out = sql(&home, &format!("SET ROLE analyst_alice; {write}"));
        assert!(!out.status.success(), "the analyst ran `{write}`");
        let text = stderr(&out);
        assert!(
            text.contains("permission denied") || text.contains("must be owner"),
            "{write}: {text}"
        );
    }
    // Re-applying the schema (every command does) keeps the group and its grants.
    let again = json_ok(&sql(
        &home,
        "SET ROLE analyst_alice; SELECT count(*) AS n FROM push_campaign_performance",
    ));
    assert_eq!(again[0]["n"], "0");
}

/// `pushfeed warehouse serve` on a free port: the printed connection string reaches the views
/// read-only; writes, other logins and a wrong password are refused; Ctrl-C stops it cleanly.
#[tokio::test]
async fn warehouse_serve_lets_a_tool_in_read_only_until_ctrl_c() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let home = TempHome::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pushfeed"))
        .arg("--home")
        .arg(home.path())
        .args(["--json", "warehouse", "serve", "--port", "0"])
        .env("PUSHFEED_ANALYST_PASSWORD", "Test-password-1")
        .env_remove("PUSHFEED_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint: serde_json::Value = match serde_json::from_str(&line) {
        Ok(v) => v,
        Err(e) => {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "serve printed `{line}` ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        }
    };
    assert_eq!(endpoint["host"], "127.0.0.1");
    assert_eq!(endpoint["user"], "pushfeed_analyst");
    let url = endpoint["url"].as_str().unwrap().to_string();
    let port = endpoint["port"].as_u64().unwrap();

    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("the printed connection string connects");
    let conn = tokio::spawn(conn);
    let who = client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(who.get::<_, String>(0), "pushfeed_analyst");
    for object in readable(RoutingTable::default_routes().routes()) {
        client
            .simple_query(&format!("SELECT count(*) FROM {object}"))
            .await
            .unwrap_or_else(|e| panic!("reading {object}: {e}"));
    }
    let e = client
        .simple_query("INSERT INTO push_opens (event_id) VALUES ('x')")
        .await
        .unwrap_err();
    let text = format!("{e:?}");
    assert!(
        text.contains("read-only transaction") || text.contains("permission denied"),
        "{text}"
    );
    // Read-only by default, and refused by the grants once the session says otherwise.
    client
        .simple_query("SET default_transaction_read_only = off")
        .await
        .unwrap();
    let e = client
        .simple_query("DELETE FROM pushfeed_loads")
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("permission denied"), "{e:?}");
    drop(client);
    let _ = conn.await;

    for (who, url) in [
        ("the superuser", format!("postgresql://postgres@127.0.0.1:{port}/pushfeed?sslmode=disable")),
        ("a wrong password", format!("postgresql://pushfeed_analyst:wrong-password@127.0.0.1:{port}/pushfeed?sslmode=disable")),
        ("another database", format!("postgresql://pushfeed_analyst:Test-password-1@127.0.0.1:{port}/postgres?sslmode=disable")),
    ] {
        let refused = tokio_postgres::connect(&url, tokio_postgres::NoTls).await;
        assert!(refused.is_err(), "{who} got in");
    }

    // Ctrl-C.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !pg_cluster::PgCluster::new(home.path().join("postgres")).is_running(),
        "the private PostgreSQL is stopped"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_err(),
        "the port is closed"
    );
}
