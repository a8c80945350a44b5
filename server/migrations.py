"""The database schema, one versioned migration at a time.

Each migration runs in a transaction together with the record that it ran
(sqlite-utils ``Migrations``), so a half-applied schema cannot exist. Never
edit a migration that has shipped: add a new one.
"""

from sqlite_utils import Migrations

migrations = Migrations("mobile-ars")


@migrations()
def m001_managers_and_audit(db):
    db.execute("""
        CREATE TABLE manager (
            id INTEGER PRIMARY KEY,
            login_id TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            pin_hash TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE login_failure (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            address TEXT NOT NULL,
            login_id TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX login_failure_at ON login_failure(at)")
    db.execute("""
        CREATE TABLE lockout (
            key TEXT PRIMARY KEY,          -- 'address:1.2.3.4' or 'login_id:admin'
            until REAL NOT NULL
        )""")
    db.execute("""
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,              -- ISO 8601, UTC
            actor TEXT,
            address TEXT,
            action TEXT NOT NULL,
            target TEXT,
            detail TEXT,                   -- JSON
            ok INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("CREATE INDEX audit_log_action ON audit_log(action, at)")
    db.execute("""
        CREATE TABLE app_secret (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""")


@migrations()
def m002_contacts(db):
    db.execute("""
        CREATE TABLE contact_list (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            source_filename TEXT,
            source_sha256 TEXT,
            rows INTEGER NOT NULL DEFAULT 0,
            imported INTEGER NOT NULL DEFAULT 0,
            invalid INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            do_not_call INTEGER NOT NULL DEFAULT 0,
            rejects_sha256 TEXT,
            columns TEXT                   -- JSON: detected column map
        )""")
    db.execute("""
        CREATE TABLE contact (
            id INTEGER PRIMARY KEY,
            list_id INTEGER NOT NULL REFERENCES contact_list(id) ON DELETE CASCADE,
            row_number INTEGER NOT NULL,
            phone TEXT NOT NULL,
            name TEXT,
            address TEXT,
            extra TEXT,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            UNIQUE(list_id, phone)
        )""")
    db.execute("CREATE INDEX contact_list_name ON contact(list_id, name)")
    db.execute("""
        CREATE TABLE do_not_call (
            phone TEXT PRIMARY KEY,
            note TEXT,
            created_at TEXT NOT NULL
        )""")


@migrations()
def m003_media(db):
    db.execute("""
        CREATE TABLE ment (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL,
            original_name TEXT NOT NULL,
            title TEXT NOT NULL,
            kind TEXT CHECK (kind IN ('intro', 'promise', 'callback')),
            position INTEGER NOT NULL DEFAULT 1,
            duration_s REAL NOT NULL,
            source TEXT,
            changes TEXT,                  -- JSON list of what the conversion changed
            created_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE image (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('outgoing', 'callback')),
            sha256 TEXT NOT NULL,
            original_sha256 TEXT NOT NULL,
            original_name TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            source TEXT,
            changes TEXT,
            active INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )""")


@migrations()
def m004_settings_and_agent_lines(db):
    db.execute("""
        CREATE TABLE setting (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL            -- JSON
        )""")
    db.execute("""
        CREATE TABLE agent_line (
            id INTEGER PRIMARY KEY,
            extension TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            dial_target TEXT NOT NULL,
            position INTEGER NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1
        )""")
    db.execute("""
        INSERT INTO agent_line (extension, name, dial_target, position)
        VALUES ('1001', '상담원1', '1001', 1), ('1002', '상담원2', '1002', 2)""")
