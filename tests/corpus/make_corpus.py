#!/usr/bin/env python3
"""Writes the bad-input corpus: one file per Kinesis record under records/, and expected.json.

Run from anywhere: `python3 tests/corpus/make_corpus.py`. The output is deterministic; the files
are committed, so the test does not need Python. Every record arrives at ARRIVAL (window
2026-11-26T10:01Z); timestamps in the records are judged against that arrival time.

Each expected entry says what ReadWindow must make of the record:
  rejected:   the reason codes, one per rejected part, in record order
  routed:     events staged for a routed table
  unrouted:   valid events of a type with no route
  duplicates: events dropped because their id was already seen in the window
  line0:      true when the record is refused whole (the kept bytes are the record's bytes)
"""
import gzip
import io
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "records")
ARRIVAL = "2026-11-26T10:01:30Z"
WINDOW = "2026-11-26T10:01Z"

TS = "2026-11-26T10:01:00.000Z"


def event(i, etype="SEND", body=None, **extra):
    e = {
        "id": f"c0a1b2c3-0000-4000-8000-{i:012d}",
        "type": etype,
        "occurred": TS,
        "processed": TS,
        "device": {"channel": "1b0f8a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "device_type": "IOS"},
        "body": {"push_id": "5d1c2b3a-0000-4000-8000-0000000000aa"} if body is None else body,
    }
    e.update(extra)
    return e


def js(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def gz(data):
    buf = io.BytesIO()
    # mtime=0 keeps the bytes the same on every run.
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as f:
        f.write(data)
    return buf.getvalue()


kinds = []


def kind(name, what, data, rejected=(), routed=0, unrouted=0, duplicates=0, line0=False):
    kinds.append(
        {
            "file": name,
            "what": what,
            "rejected": list(rejected),
            "routed": routed,
            "unrouted": unrouted,
            "duplicates": duplicates,
            "line0": line0,
            "_data": data,
        }
    )


SEND = js(event(1))

# --- controls: the corpus must not reject good input -------------------------------------------
kind("valid-send.json", "a valid SEND (control)", SEND, routed=1)
kind("valid-unknown-type.json", "a valid event of a type with no route (CUSTOM)",
     js(event(2, "CUSTOM", {"name": "email_open"})), unrouted=1)
kind("valid-brand-new-type.json", "a valid event of a type nobody has heard of",
     js(event(3, "HOLOGRAM_VIEWED", {})), unrouted=1)
kind("bom-valid.json", "a byte-order mark before a valid event (tolerated)", b"\xef\xbb\xbf" + SEND, routed=1)
kind("offset-as-number.json", "offset as a number (the vendor's offset is text, numbers tolerated)",
     js(event(4, offset=1000001)), routed=1)
kind("crlf-and-blank-lines.json", "newline-delimited events with CRLF and blank lines",
     js(event(5)) + b"\r\n\r\n   \n" + js(event(6, "OPEN", {"session_id": "s"})) + b"\r\n", routed=2)
kind("gzip-valid-multi.json.gz", "a gzip record holding two events", gz(js(event(7)) + b"\n" + js(event(8)) + b"\n"), routed=2)
kind("offset-timezone.json", "timestamps with a non-UTC offset",
     js(event(9, occurred="2026-11-26T11:01:00.000+01:00")), routed=1)
kind("escaped-key-name.json", "a key spelled with a unicode escape (\\u0069d is id)",
     SEND.replace(b'"id"', b'"\\u0069d"'), routed=1)

# --- emptiness -----------------------------------------------------------------------------------
kind("empty.bin", "an empty record (zero bytes)", b"", rejected=["empty"], line0=True)
kind("whitespace.bin", "only white space and newlines", b" \t\r\n \n", rejected=["empty"], line0=True)
kind("bom-only.bin", "only a byte-order mark", b"\xef\xbb\xbf", rejected=["empty"])
kind("gzip-empty.bin.gz", "a gzip record that inflates to nothing", gz(b""), rejected=["empty"], line0=True)

# --- not JSON ------------------------------------------------------------------------------------
kind("truncated.json", "truncated JSON (cut mid-key)", SEND[:57], rejected=["not_json"])
kind("truncated-after-brace.json", "truncated JSON (cut before the last brace)", SEND[:-1], rejected=["not_json"])
kind("trailing-garbage.json", "an event followed by garbage on the same line", SEND + b" xyz", rejected=["not_json"])
kind("two-events-one-line.json", "two events on one line, no newline between", SEND + js(event(10)), rejected=["not_json"])
kind("single-quotes.json", "JavaScript-style single quotes", SEND.replace(b'"', b"'"), rejected=["not_json"])
kind("bad-escape.json", "an invalid escape \\x41", SEND.replace(b'"IOS"', b'"I\\x41S"'), rejected=["not_json"])
kind("raw-nul-in-string.json", "a raw NUL byte inside a string", SEND.replace(b'"IOS"', b'"I\x00S"'), rejected=["not_json"])
kind("raw-nuls-only.bin", "a record of raw NUL bytes", b"\x00" * 16, rejected=["not_json"])
kind("raw-newline-in-string.json", "a raw newline splitting a string (the record becomes two bad lines)",
     SEND.replace(b'"IOS"', b'"I\nS"'), rejected=["not_json", "not_json"])
# Accepted today: serde_json skips unknown fields without converting their numbers, and the raw
# event keeps 1e999 as text (PostgreSQL's jsonb stores it as numeric). See docs/reliability.md.
kind("number-overflow.json", "a number beyond f64 (1e999) in an unknown field (accepted)",
     js(event(11))[:-1] + b',"score":1e999}', routed=1)
kind("html-error-page.html", "an HTML error page instead of JSON", b"<html><body>502 Bad Gateway</body></html>", rejected=["not_json"])

# --- not UTF-8 -----------------------------------------------------------------------------------
kind("invalid-utf8-in-string.json", "a Latin-1 byte inside a string of a JSON event",
     SEND.replace(b"IOS", b"I\xe9S"), rejected=["not_utf8"])
kind("binary-garbage.bin", "binary bytes that are not text at all",
     bytes((i * 37 + 11) % 256 for i in range(200)), rejected=["not_utf8"], line0=True)
kind("utf16le.json", "the event encoded as UTF-16LE with its BOM",
     b"\xff\xfe" + SEND.decode().encode("utf-16-le"), rejected=["not_utf8"], line0=True)
kind("overlong-utf8.json", "an overlong UTF-8 encoding of '/' (0xC0 0xAF)",
     SEND.replace(b"IOS", b"I\xc0\xafS"), rejected=["not_utf8"])
kind("gzip-binary.bin.gz", "a gzip record that inflates to binary", gz(bytes(range(256)) * 4), rejected=["not_utf8"], line0=True)

# --- not an object -------------------------------------------------------------------------------
kind("array.json", "a JSON array of events", b"[" + SEND + b"]", rejected=["not_object"])
kind("string.json", "a JSON string", b'"SEND"', rejected=["not_object"])
kind("null.json", "JSON null", b"null", rejected=["not_object"])
kind("number.json", "a bare number", b"42", rejected=["not_object"])

# --- missing fields ------------------------------------------------------------------------------
def without(i, *path):
    e = event(i)
    d = e
    for p in path[:-1]:
        d = d[p]
    del d[path[-1]]
    return js(e)

kind("missing-id.json", "no id", without(12, "id"), rejected=["missing_field:id"])
kind("null-id.json", "id is null", js(event(13, id=None)), rejected=["missing_field:id"])
kind("missing-type.json", "no type", without(14, "type"), rejected=["missing_field:type"])
kind("missing-occurred.json", "no occurred", without(15, "occurred"), rejected=["missing_field:occurred"])
kind("missing-processed.json", "no processed", without(16, "processed"), rejected=["missing_field:processed"])
kind("missing-push-id.json", "a SEND without body.push_id", without(17, "body", "push_id"), rejected=["missing_field:body.push_id"])
kind("open-trigger-without-push-id.json", "an OPEN whose triggering_push has no push_id",
     js(event(18, "OPEN", {"triggering_push": {"group_id": "g"}})), rejected=["missing_field:body.triggering_push.push_id"])

# --- wrong types ---------------------------------------------------------------------------------
kind("wrong-type-id-number.json", "id as a number", js(event(19, id=12345)), rejected=["wrong_type:id"])
kind("wrong-type-id-object.json", "id as an object", js(event(20, id={"v": "x"})), rejected=["wrong_type:id"])
kind("wrong-type-device.json", "device as a string", js(event(21, device="iPhone")), rejected=["wrong_type:device"])
kind("wrong-type-body.json", "body as an array", js(event(22, body=[1, 2])), rejected=["wrong_type:body"])
kind("wrong-type-channel.json", "device.channel as a number", js(event(23, device={"channel": 5})), rejected=["wrong_type:device.channel"])
kind("number-as-string-variant.json", "body.variant_id as a string (\"2\")",
     js(event(24, body={"push_id": "p", "variant_id": "2"})), rejected=["wrong_type:body.variant_id"])
kind("number-as-string-occurred.json", "occurred as epoch milliseconds (a number)",
     js(event(25, occurred=1795687260000)), rejected=["wrong_type:occurred"])
kind("bool-as-string-type.json", "type as a boolean", js(event(26, type=True)), rejected=["wrong_type:type"])
kind("variant-overflow.json", "body.variant_id beyond 32 bits",
     js(event(27, body={"push_id": "p", "variant_id": 99999999999})), rejected=["wrong_type:body.variant_id"])
kind("variant-float.json", "body.variant_id as a fraction",
     js(event(28, body={"push_id": "p", "variant_id": 2.5})), rejected=["wrong_type:body.variant_id"])
kind("categories-not-strings.json", "campaign categories holding a number",
     js(event(29, "OPEN", {"triggering_push": {"push_id": "p", "campaigns": {"categories": ["a", 7]}}})),
     rejected=["wrong_type:body.triggering_push.campaigns.categories"])

# --- timestamps ----------------------------------------------------------------------------------
kind("bad-timestamp.json", "occurred is not a timestamp", js(event(30, occurred="yesterday")), rejected=["bad_timestamp:occurred"])
kind("bad-timestamp-date-only.json", "processed is a date without a time", js(event(31, processed="2026-11-26")), rejected=["bad_timestamp:processed"])
kind("bad-timestamp-impossible.json", "occurred on month 13", js(event(32, occurred="2026-13-45T99:00:00Z")), rejected=["bad_timestamp:occurred"])
kind("far-future.json", "occurred in 2031", js(event(33, occurred="2031-01-01T00:00:00.000Z")), rejected=["future_timestamp:occurred"])
kind("far-future-year-9999.json", "processed in the year 9999", js(event(34, processed="9999-12-31T23:59:59.999Z")), rejected=["future_timestamp:processed"])
kind("ancient.json", "occurred in 1999", js(event(35, occurred="1999-01-01T00:00:00.000Z")), rejected=["ancient_timestamp:occurred"])
kind("epoch-zero.json", "occurred at the Unix epoch", js(event(36, occurred="1970-01-01T00:00:00Z")), rejected=["ancient_timestamp:occurred"])

# --- values --------------------------------------------------------------------------------------
kind("empty-id.json", "id is the empty string", js(event(37, id="")), rejected=["bad_value:id"])
kind("long-id.json", "id of 10,000 characters", js(event(38, id="x" * 10000)), rejected=["bad_value:id"])
kind("control-char-id.json", "id holding an escaped control character",
     js(event(39)).replace(b'-000000000039"', b'-000000000039\\u0007"'), rejected=["bad_value:id"])
kind("id-with-escaped-quote.json", "an id holding an escaped quote and backslash (valid)",
     js(event(64, id='quote"back\\slash-64')), routed=1)
kind("lowercase-type.json", "type in lower case with a space", js(event(40, type="send me")), rejected=["bad_value:type"])
# Redshift's VARCHAR counts bytes: 2,049 two-byte characters are 4,098 bytes, over the reason's 4,096.
kind("multibyte-reason-over-4096-bytes.json", "a rejection reason of 2,049 characters, 4,098 bytes",
     js(event(90, "SEND_REJECTED", {"push_id": "p", "reason": "é" * 2049})), rejected=["bad_value:body.reason"])
kind("multibyte-reason-at-4096-bytes.json", "a rejection reason of exactly 4,096 bytes of two-byte characters (valid)",
     js(event(91, "SEND_REJECTED", {"push_id": "p", "reason": "é" * 2048})), routed=1)
kind("multibyte-open-push-id-over-256-bytes.json", "an open's push id of 129 two-byte characters",
     js(event(92, "OPEN", {"triggering_push": {"push_id": "é" * 129}})), rejected=["bad_value:body.push_id"])

# --- escapes -------------------------------------------------------------------------------------
kind("nul-escaped.json", "an escaped NUL (\\u0000) in a string", js(event(41))[:-1] + b',"note":"a\\u0000b"}', rejected=["nul_character"])
kind("nul-escaped-in-id.json", "an escaped NUL inside the id", js(event(42)).replace(b'-000000000042"', b'-000000000042\\u0000"'), rejected=["bad_value:id"])
kind("lone-high-surrogate.json", "a lone high surrogate \\ud800", js(event(43))[:-1] + b',"note":"\\ud800x"}', rejected=["bad_value:unicode_escape"])
kind("lone-low-surrogate.json", "a lone low surrogate \\udc00", js(event(44))[:-1] + b',"note":"\\udc00"}', rejected=["bad_value:unicode_escape"])
kind("reversed-surrogates.json", "a surrogate pair in the wrong order", js(event(45))[:-1] + b',"note":"\\ude00\\ud83d"}', rejected=["bad_value:unicode_escape"])
kind("valid-surrogate-pair.json", "an emoji as a valid surrogate pair (control)", js(event(46))[:-1] + b',"note":"\\ud83d\\ude00"}', routed=1)

# --- duplicate keys ------------------------------------------------------------------------------
kind("duplicate-id.json", "the key id twice with different values",
     SEND.replace(b'"type"', b'"id":"other","type"'), rejected=["duplicate_field:id"])
kind("duplicate-push-id.json", "body.push_id twice",
     js(event(47, body={"push_id": "a"})).replace(b'"push_id":"a"', b'"push_id":"a","push_id":"b"'),
     rejected=["duplicate_field:push_id"])
kind("duplicate-id-via-escape.json", "id twice, once spelled \\u0069d",
     SEND.replace(b'"type"', b'"\\u0069d":"other","type"'), rejected=["duplicate_field:id"])

# --- size ----------------------------------------------------------------------------------------
kind("huge-string.json", "a 300 KiB string in an event (over the 256 KiB event limit)",
     js(event(48))[:-1] + b',"pad":"' + b"x" * (300 * 1024) + b'"}', rejected=["too_large"])
one_mib = js(event(49))[:-1] + b',"pad":"'
one_mib += b"y" * (1024 * 1024 - len(one_mib) - 2) + b'"}'
assert len(one_mib) == 1024 * 1024
kind("one-mib.json", "a record of exactly 1 MiB (the Kinesis maximum)", one_mib, rejected=["too_large"])
kind("gzip-bomb.bin.gz", "a gzip bomb: 64 MiB of spaces in 64 KiB", gz(b" " * (64 * 1024 * 1024)), rejected=["too_large"], line0=True)
kind("gzip-over-limit.bin.gz", "gzip of valid events inflating just over 1 MiB",
     gz((SEND + b"\n") * (1024 * 1024 // (len(SEND) + 1) + 1)), rejected=["too_large"], line0=True)
corrupt = bytearray(gz(SEND))
corrupt[15] ^= 0xFF
corrupt[20] ^= 0xFF
kind("gzip-corrupt.bin.gz", "a gzip record with flipped bytes in its deflate stream", bytes(corrupt), rejected=["bad_gzip"], line0=True)
kind("gzip-truncated.bin.gz", "a gzip record cut in half", gz(SEND)[: len(gz(SEND)) // 2], rejected=["bad_gzip"], line0=True)
kind("gzip-magic-only.bin", "only the gzip magic bytes", b"\x1f\x8b", rejected=["bad_gzip"], line0=True)

# --- nesting -------------------------------------------------------------------------------------
kind("deep-nesting-array.json", "10,000 nested arrays", b"[" * 10000 + b"]" * 10000, rejected=["too_deep"])
# The raw event goes into Redshift's SUPER, which holds 1,000 levels (the event itself is level 1)
# and strings of up to 65,535 bytes: what it cannot hold would fail the whole batch's COPY.
kind("deep-nesting-in-event.json", "a valid event with 1,000 nested objects in an unknown field: 1,001 levels",
     js(event(50))[:-1] + b',"x":' + b'{"a":' * 1000 + b"1" + b"}" * 1000 + b"}", rejected=["too_deep"])
kind("nesting-at-super-limit.json", "a valid event with 999 nested objects in an unknown field: 1,000 levels (valid)",
     js(event(93))[:-1] + b',"x":' + b'{"a":' * 999 + b"1" + b"}" * 999 + b"}", routed=1)
kind("string-over-super-limit.json", "a string of 65,536 bytes in an unknown field",
     js(event(94))[:-1] + b',"note":"' + b"n" * 65536 + b'"}', rejected=["string_too_long"])
kind("string-at-super-limit.json", "a string of 32,767 escaped two-byte characters: 65,534 bytes (valid)",
     js(event(95))[:-1] + b',"note":"' + b"\\u00e9" * 32767 + b'"}', routed=1)
kind("deep-nesting-in-device.json", "200 nested arrays where device.channel belongs",
     js(event(63, device={"channel": "PLACEHOLDER"})).replace(b'"PLACEHOLDER"', b"[" * 200 + b"]" * 200),
     rejected=["too_deep"])
kind("deep-nesting-unclosed.json", "40,000 unclosed objects", b'{"a":' * 40000, rejected=["too_deep"])

# --- several events in one record ----------------------------------------------------------------
kind("multi-one-bad-line.json", "three events, the middle one with a numeric id",
     js(event(51)) + b"\n" + js(event(52, id=52)) + b"\n" + js(event(53)),
     rejected=["wrong_type:id"], routed=2)
kind("multi-all-kinds.json", "a routed, an unrouted, a duplicate and a truncated event",
     js(event(54)) + b"\n" + js(event(55, "CUSTOM", {})) + b"\n" + js(event(54)) + b"\n" + js(event(56))[:40],
     rejected=["not_json"], routed=1, unrouted=1, duplicates=1)
kind("multi-gzip-one-bad-line.json.gz", "gzip, three events, the last with an ancient timestamp",
     gz(js(event(57)) + b"\n" + js(event(58)) + b"\n" + js(event(59, occurred="2001-01-01T00:00:00Z")) + b"\n"),
     rejected=["ancient_timestamp:occurred"], routed=2)
kind("multi-invalid-utf8-line.json", "two events, the second holding invalid UTF-8",
     js(event(60)) + b"\n" + js(event(61)).replace(b"IOS", b"I\xffS"), rejected=["not_utf8"], routed=1)
kind("multi-same-id-twice.json", "the same event twice in one record",
     js(event(62)) + b"\n" + js(event(62)), routed=1, duplicates=1)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    manifest = {"arrival": ARRIVAL, "window": WINDOW, "kinds": []}
    seen = set()
    for k in kinds:
        assert k["file"] not in seen, k["file"]
        seen.add(k["file"])
        data = k.pop("_data")
        assert len(data) <= 1024 * 1024, k["file"]
        with open(os.path.join(OUT, k["file"]), "wb") as f:
            f.write(data)
        manifest["kinds"].append(k)
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"{len(kinds)} kinds written to {OUT}")


if __name__ == "__main__":
    main()
