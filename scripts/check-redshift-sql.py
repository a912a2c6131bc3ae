#!/usr/bin/env python3
"""Parses SQL statements as Redshift SQL with sqlglot's `redshift` dialect and reports the first
that does not parse.

Usage: check-redshift-sql.py STATEMENTS.json

STATEMENTS.json holds a list of {"origin": "...", "sql": "..."}. Exit 0: every statement parses.
Exit 1: the first failure is printed (its number, origin, the reason and its text). Exit 2: the
input cannot be read.

sqlglot is lenient in three ways that this checker closes:
- what it cannot parse it keeps as an opaque `Command` (with a logged warning). That fails here,
  except LOCK, CREATE GROUP, ALTER GROUP and CREATE USER, which sqlglot does not model: they are
  checked against Redshift's grammar (`LOCK [ TABLE ] table_name [, ...]` and those below) instead;
- a bare expression parses (`LCOK push_opens` is an alias): only statements pass;
- it reads COPY's parameters loosely (any word is taken as one): COPY's head
  (`COPY table [ (columns) ] FROM 'source'`) and each parameter are checked against Redshift's
  documented COPY parameters (Database Developer Guide, "COPY parameter reference").
"""

import json
import logging
import re
import sys

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel
from sqlglot.tokens import TokenType

# sqlglot logs the Command fallback; the checker reports it itself.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

STATEMENTS = tuple(
    getattr(exp, name)
    for name in (
        "Select", "Union", "Intersect", "Except", "SetOperation", "Insert", "Update", "Delete",
        "Merge", "Create", "Drop", "Alter", "Copy", "Grant", "Revoke", "Transaction", "Commit",
        "Rollback", "TruncateTable", "Analyze", "Set", "Comment",
    )
    if hasattr(exp, name)
)

NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
QUALIFIED = rf"{NAME}(?:\s*\.\s*{NAME})*"
LOCK = re.compile(rf"^\s*LOCK(?:\s+TABLE)?\s+{QUALIFIED}(?:\s*,\s*{QUALIFIED})*\s*;?\s*$", re.I)
# Users and groups, which sqlglot does not model either, against Redshift's grammar:
# "CREATE GROUP group_name [ [ WITH ] [ USER username ] [, ...] ]";
# "ALTER GROUP group_name { ADD USER username [, ... ] | DROP USER username [, ... ] | RENAME TO new_name }";
# CREATE USER's "PASSWORD { 'password' | 'md5hash' | 'sha256hash' | DISABLE }" and
# "IN GROUP groupname [, ... ]" (the only options pushfeed's statements use).
NAMES = rf"{NAME}(?:\s*,\s*{NAME})*"
USERS_AND_GROUPS = [
    re.compile(rf"^\s*CREATE\s+GROUP\s+{NAME}(?:\s+(?:WITH\s+)?USER\s+{NAMES})?\s*;?\s*$", re.I),
    re.compile(rf"^\s*ALTER\s+GROUP\s+{NAME}\s+(?:(?:ADD|DROP)\s+USER\s+{NAMES}|RENAME\s+TO\s+{NAME})\s*;?\s*$", re.I),
    re.compile(rf"^\s*CREATE\s+USER\s+{NAME}\s+PASSWORD\s+(?:'(?:[^']|'')*'|DISABLE)(?:\s+IN\s+GROUP\s+{NAMES})?\s*;?\s*$", re.I),
]

# COPY parameters and what follows each: None (nothing), "string", "string?" (an optional
# string), "number", "word", "onoff?" (optionally ON, OFF, TRUE, FALSE or PRESET). Those that
# take an optional AS are in AS_OPTIONAL. From the COPY parameter reference: data sources,
# authorization, file compression, data format, data conversion and data load parameters.
COPY_PARAMETERS = {
    "IAM_ROLE": "role", "CREDENTIALS": "string", "ACCESS_KEY_ID": "string",
    "SECRET_ACCESS_KEY": "string", "SESSION_TOKEN": "string", "MASTER_SYMMETRIC_KEY": "string",
    "ENCRYPTED": None, "REGION": "string", "MANIFEST": None, "READRATIO": "number", "SSH": None,
    "FORMAT": "format", "CSV": "csv", "DELIMITER": "string", "FIXEDWIDTH": "string",
    "JSON": "string?", "AVRO": "string?", "SHAPEFILE": None, "PARQUET": None, "ORC": None,
    "BZIP2": None, "GZIP": None, "LZOP": None, "ZSTD": None,
    "ACCEPTANYDATE": None, "ACCEPTINVCHARS": "string?", "BLANKSASNULL": None,
    "DATEFORMAT": "string", "EMPTYASNULL": None, "ENCODING": "word", "ESCAPE": None,
    "EXPLICIT_IDS": None, "FILLRECORD": None, "IGNOREBLANKLINES": None, "IGNOREHEADER": "number",
    "NULL": "null", "REMOVEQUOTES": None, "ROUNDEC": None, "TIMEFORMAT": "string",
    "TRIMBLANKS": None, "TRUNCATECOLUMNS": None,
    "COMPROWS": "number", "COMPUPDATE": "onoff?", "IGNOREALLERRORS": None, "MAXERROR": "number",
    "NOLOAD": None, "STATUPDATE": "onoff?",
}
AS_OPTIONAL = {
    "CREDENTIALS", "REGION", "DELIMITER", "JSON", "AVRO", "ACCEPTINVCHARS", "DATEFORMAT",
    "ENCODING", "IGNOREHEADER", "TIMEFORMAT", "MAXERROR", "FORMAT",
}
FORMATS = {"CSV", "JSON", "AVRO", "PARQUET", "ORC", "SHAPEFILE", "FIXEDWIDTH"}


class Refused(Exception):
    pass


def word(token):
    return token.text.upper() if token.token_type not in (TokenType.STRING, TokenType.NUMBER) else None


def check_copy(sql):
    tokens = [t for t in sqlglot.Dialect.get_or_raise("redshift").tokenize(sql)
              if t.token_type != TokenType.SEMICOLON]
    i = 1
    # COPY table_name [ ( column, ... ) ] FROM 'source'
    def ident(i):
        if i >= len(tokens) or word(tokens[i]) is None:
            raise Refused("COPY expects a table name")
        i += 1
        while i + 1 < len(tokens) and tokens[i].token_type == TokenType.DOT:
            i += 2
        return i
    i = ident(i)
    if i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN:
        while True:
            i = ident(i + 1)
            if i < len(tokens) and tokens[i].token_type == TokenType.COMMA:
                continue
            if i < len(tokens) and tokens[i].token_type == TokenType.R_PAREN:
                i += 1
                break
            raise Refused("COPY's column list is malformed")
    if i >= len(tokens) or word(tokens[i]) != "FROM":
        raise Refused(f"COPY expects FROM after the table, found `{tokens[i].text if i < len(tokens) else 'the end'}`")
    i += 1
    if i >= len(tokens) or tokens[i].token_type != TokenType.STRING:
        raise Refused("COPY ... FROM takes a quoted source ('s3://...')")
    i += 1
    seen = set()

    def take(kind, i, name):
        if kind in ("string", "role") and i < len(tokens) and tokens[i].token_type == TokenType.STRING:
            return i + 1
        if kind == "role" and i < len(tokens) and word(tokens[i]) == "DEFAULT":
            return i + 1
        if kind == "number" and i < len(tokens) and tokens[i].token_type == TokenType.NUMBER:
            return i + 1
        if kind == "word" and i < len(tokens) and word(tokens[i]) is not None:
            return i + 1
        if kind == "string?":
            return i + 1 if i < len(tokens) and tokens[i].token_type == TokenType.STRING else i
        if kind == "onoff?":
            return i + 1 if i < len(tokens) and word(tokens[i]) in {"ON", "OFF", "TRUE", "FALSE", "PRESET"} else i
        raise Refused(f"COPY parameter {name} takes a {kind.rstrip('?')}")

    while i < len(tokens):
        name = word(tokens[i])
        if name not in COPY_PARAMETERS:
            raise Refused(f"`{tokens[i].text}` is not a COPY parameter")
        if name in seen:
            raise Refused(f"COPY parameter {name} is given twice")
        seen.add(name)
        kind = COPY_PARAMETERS[name]
        i += 1
        if name in AS_OPTIONAL and i < len(tokens) and word(tokens[i]) == "AS":
            i += 1
        if kind is None:
            continue
        if kind == "null":
            if i + 1 < len(tokens) and word(tokens[i]) == "AS" and tokens[i + 1].token_type == TokenType.STRING:
                i += 2
                continue
            raise Refused("COPY parameter NULL takes AS 'string'")
        if kind == "format":
            fmt = word(tokens[i]) if i < len(tokens) else None
            if fmt not in FORMATS:
                raise Refused(f"FORMAT takes one of {', '.join(sorted(FORMATS))}")
            seen.add(fmt)
            i += 1
            kind = {"JSON": "string?", "AVRO": "string?", "FIXEDWIDTH": "string", "CSV": "csv"}.get(fmt)
            if kind is None:
                continue
        if kind == "csv":
            if i < len(tokens) and word(tokens[i]) == "QUOTE":
                i += 1
                if i < len(tokens) and word(tokens[i]) == "AS":
                    i += 1
                i = take("string", i, "QUOTE")
            continue
        i = take(kind, i, name)


def check(sql):
    parsed = [p for p in sqlglot.parse(sql, read="redshift", error_level=ErrorLevel.RAISE) if p is not None]
    if len(parsed) != 1:
        raise Refused(f"expected one statement, found {len(parsed)}")
    tree = parsed[0]
    if isinstance(tree, exp.Command):
        if str(tree.this).upper() == "LOCK" and LOCK.match(sql):
            return
        if str(tree.this).upper() in ("CREATE", "ALTER") and any(r.match(sql) for r in USERS_AND_GROUPS):
            return
        raise Refused("sqlglot could not parse it (it fell back to an opaque command)")
    if not isinstance(tree, STATEMENTS):
        raise Refused(f"it parses as a {type(tree).__name__} expression, not a statement")
    if isinstance(tree, exp.Copy):
        check_copy(sql)


def main(argv):
    if len(argv) != 2:
        print("usage: check-redshift-sql.py STATEMENTS.json", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            statements = json.load(f)
    except (OSError, ValueError) as e:
        print(f"cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    for n, st in enumerate(statements, 1):
        try:
            check(st["sql"])
        except (Refused, sqlglot.errors.SqlglotError) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            print(f"statement {n} ({st.get('origin', '?')}) does not parse as Redshift SQL: {reason}\n{st['sql']}")
            return 1
    print(f"{len(statements)} statements parse as Redshift SQL (sqlglot {sqlglot.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
