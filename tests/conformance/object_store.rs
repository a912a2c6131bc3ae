//! ObjectStore scenarios: what the steps rely on from S3 and its local stand-in.

use pushfeed::ports::{ErrorKind, ObjectStore};

/// Runs every scenario. `bucket` is the bucket the store's URLs name; `list_many` is how many
/// objects the paginated-listing scenario writes (over 1,000 crosses an S3 page).
pub async fn all(store: &dyn ObjectStore, bucket: &str, list_many: usize) {
    put_get_and_missing(store).await;
    put_if_absent(store).await;
    get_if_exists(store).await;
    list_by_prefix(store).await;
    list_many_objects(store, list_many).await;
    streamed_write(store, 11 * 1024 * 1024 + 17).await;
    streamed_read(store).await;
    url(store, bucket);
}

pub async fn put_get_and_missing(store: &dyn ObjectStore) {
    store
        .put("c/put/a.json", b"{\"a\":1}\n".to_vec())
        .await
        .unwrap();
    assert_eq!(store.get("c/put/a.json").await.unwrap(), b"{\"a\":1}\n");
    // A put replaces.
    store.put("c/put/a.json", b"2".to_vec()).await.unwrap();
    assert_eq!(store.get("c/put/a.json").await.unwrap(), b"2");
    let e = store.get("c/put/missing.json").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(
        e.to_string().contains("c/put/missing.json"),
        "the error names the key: {e}"
    );
}

pub async fn put_if_absent(store: &dyn ObjectStore) {
    store
        .put_if_absent("c/once/cp.json", b"first".to_vec())
        .await
        .unwrap();
    let e = store
        .put_if_absent("c/once/cp.json", b"second".to_vec())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
    assert_eq!(store.get("c/once/cp.json").await.unwrap(), b"first");
}

/// Absence is an answer, not an error; a key that only prefixes others is absent.
pub async fn get_if_exists(store: &dyn ObjectStore) {
    assert_eq!(store.get_if_exists("c/maybe/w.json").await.unwrap(), None);
    store
        .put("c/maybe/w.json.tmp", b"other".to_vec())
        .await
        .unwrap();
    assert_eq!(store.get_if_exists("c/maybe/w.json").await.unwrap(), None);
    store.put("c/maybe/w.json", b"cp".to_vec()).await.unwrap();
    assert_eq!(
        store.get_if_exists("c/maybe/w.json").await.unwrap(),
        Some(b"cp".to_vec())
    );
}

pub async fn list_by_prefix(store: &dyn ObjectStore) {
    for key in ["c/list/b/2", "c/list/a/1", "c/list/a/2", "c/listing/x"] {
        store.put(key, key.as_bytes().to_vec()).await.unwrap();
    }
    let listed = store.list("c/list/a/").await.unwrap();
    let keys: Vec<&str> = listed.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys, ["c/list/a/1", "c/list/a/2"]);
    assert!(listed.iter().all(|m| m.size == 10));
    let all: Vec<String> = store
        .list("c/list/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(all, ["c/list/a/1", "c/list/a/2", "c/list/b/2"]);
    assert!(store.list("c/nothing/").await.unwrap().is_empty());
}

pub async fn list_many_objects(store: &dyn ObjectStore, n: usize) {
    for i in 0..n {
        store
            .put(&format!("c/many/{i:05}"), vec![b'x'; i % 3])
            .await
            .unwrap();
    }
    let listed = store.list("c/many/").await.unwrap();
    assert_eq!(listed.len(), n);
    assert!(
        listed.windows(2).all(|w| w[0].key < w[1].key),
        "sorted by key"
    );
    assert_eq!(listed.last().unwrap().key, format!("c/many/{:05}", n - 1));
}

/// A streamed write larger than a multipart part: invisible until finished, whole afterwards.
pub async fn streamed_write(store: &dyn ObjectStore, size: usize) {
    let key = "c/stream/raw.ndjson.gz";
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let mut w = store.writer(key).await.unwrap();
    for chunk in data.chunks(700 * 1024 + 3) {
        w.write(chunk).await.unwrap();
    }
    assert!(
        store.list("c/stream/").await.unwrap().is_empty(),
        "nothing visible before finish"
    );
    let meta = w.finish().await.unwrap();
    assert_eq!((meta.key.as_str(), meta.size), (key, size as u64));
    let back = store.get(key).await.unwrap();
    assert_eq!(back.len(), size);
    assert!(back == data, "the object reads back byte for byte");
    // A small streamed write works too (one plain put).
    let mut w = store.writer("c/stream/small").await.unwrap();
    w.write(b"ab").await.unwrap();
    w.write(b"c").await.unwrap();
    w.finish().await.unwrap();
    assert_eq!(store.get("c/stream/small").await.unwrap(), b"abc");
}

pub async fn streamed_read(store: &dyn ObjectStore) {
    let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    store.put("c/read/big", data.clone()).await.unwrap();
    let mut r = store.reader("c/read/big").await.unwrap();
    let mut out = Vec::new();
    loop {
        let n = r.read_into(&mut out, 65_536).await.unwrap();
        assert!(n <= 65_536);
        if n == 0 {
            break;
        }
    }
    assert!(out == data);
    let e = match store.reader("c/read/missing").await {
        Err(e) => e,
        Ok(mut r) => r.read_into(&mut Vec::new(), 10).await.unwrap_err(),
    };
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
}

pub fn url(store: &dyn ObjectStore, bucket: &str) {
    assert_eq!(
        store.url("manifests/window=2026-11-26T10:01Z/type=OPEN/batch=b.json"),
        format!("s3://{bucket}/manifests/window=2026-11-26T10:01Z/type=OPEN/batch=b.json")
    );
}
