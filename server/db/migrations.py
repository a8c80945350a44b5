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


@migrations()
def m005_calling(db):
    db.execute("ALTER TABLE agent_line ADD COLUMN away INTEGER NOT NULL DEFAULT 0")
    db.execute("""
        CREATE TABLE phone (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            token_sha256 TEXT UNIQUE,
            mode TEXT NOT NULL DEFAULT 'router' CHECK (mode IN ('router', 'internet', 'sim')),
            group_name TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            last_seen REAL,
            device TEXT,                   -- JSON, from hello
            health TEXT,                   -- JSON, last heartbeat
            assets TEXT,                   -- JSON list of sha256 the phone holds
            images TEXT                    -- JSON {outgoing, callback, status, at, error}
        )""")
    db.execute("""
        CREATE TABLE phone_join_request (
            id TEXT PRIMARY KEY,
            poll_secret_sha256 TEXT NOT NULL,
            name TEXT NOT NULL,
            mode TEXT NOT NULL,
            device TEXT,
            address TEXT,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'rejected', 'delivered')),
            phone_id INTEGER REFERENCES phone(id) ON DELETE SET NULL,
            token TEXT,                    -- kept only until the phone has fetched it once
            created_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE campaign (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            list_id INTEGER NOT NULL REFERENCES contact_list(id),
            state TEXT NOT NULL DEFAULT 'ready'
                CHECK (state IN ('ready', 'running', 'paused', 'stopped', 'finished')),
            settings TEXT NOT NULL,        -- JSON: operating settings, snapshot at creation
            assets TEXT NOT NULL,          -- JSON: announcement and image hashes
            created_at TEXT NOT NULL,
            started_at TEXT,
            ended_at TEXT
        )""")
    db.execute("""
        CREATE TABLE campaign_contact (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
            contact_id INTEGER NOT NULL,
            number TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'leased', 'done')),
            attempts INTEGER NOT NULL DEFAULT 0,     -- calls dialled so far
            next_at REAL NOT NULL DEFAULT 0,         -- not before (retry delay)
            call_id TEXT,                            -- the call holding it while leased
            last_result TEXT,
            UNIQUE (campaign_id, contact_id)
        )""")
    db.execute("CREATE INDEX campaign_contact_due ON campaign_contact(campaign_id, status, next_at)")
    db.execute("""
        CREATE TABLE call (
            id TEXT PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
            campaign_contact_id INTEGER NOT NULL,
            phone_id INTEGER NOT NULL,
            batch_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            number TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'queued',
            result TEXT,
            hung_up_in TEXT,
            reason TEXT,
            pressed_one INTEGER NOT NULL DEFAULT 0,
            agent_line_id INTEGER,
            leased_at REAL NOT NULL,
            lease_expires REAL NOT NULL,
            dialed_at REAL,
            answered_at REAL,
            bridged_at REAL,
            ended_at REAL,
            last_seq INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("CREATE INDEX call_campaign ON call(campaign_id, result)")
    db.execute("CREATE INDEX call_phone_day ON call(phone_id, dialed_at)")
    db.execute("CREATE INDEX call_open ON call(lease_expires) WHERE result IS NULL")
    db.execute("CREATE INDEX call_recent ON call(ended_at)")
    db.execute("""
        CREATE TABLE call_event (
            call_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            event TEXT NOT NULL,
            at REAL NOT NULL,              -- phone clock
            received_at REAL NOT NULL,     -- server clock
            data TEXT,
            PRIMARY KEY (call_id, seq)
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE callback (
            id INTEGER PRIMARY KEY,
            call_id TEXT UNIQUE,
            campaign_id INTEGER,
            contact_id INTEGER,
            number TEXT NOT NULL,
            name TEXT,
            status TEXT NOT NULL DEFAULT 'requested'
                CHECK (status IN ('requested', 'done', 'deleted', 'failed')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            note TEXT
        )""")
    db.execute("CREATE INDEX callback_status ON callback(status, created_at)")


@migrations()
def m006_contacts_by_id_range(db):
    """Call lists import about twice as fast without secondary indexes on contact.

    A list's contacts are inserted in one transaction holding the write lock,
    so their ids are one contiguous range in file order: the list row keeps
    that range and every read of a list (paging, campaign creation, deletion)
    goes through the primary key. The importer de-duplicates in memory, so
    UNIQUE(list_id, phone) was only a cost: at 1,000,000 rows most of the
    import went into maintaining it. Rejects move into a table; the .xlsx is
    made when the manager downloads it.
    """
    db.execute("""
        CREATE TABLE contact_new (
            id INTEGER PRIMARY KEY,
            list_id INTEGER NOT NULL REFERENCES contact_list(id) ON DELETE CASCADE,
            row_number INTEGER NOT NULL,
            phone TEXT NOT NULL,
            name TEXT,
            address TEXT,
            extra TEXT,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0
        )""")
    db.execute("INSERT INTO contact_new SELECT id, list_id, row_number, phone, name, address, extra, "
               "status, attempts FROM contact ORDER BY list_id, row_number")
    db.execute("DROP TABLE contact")
    db.execute("ALTER TABLE contact_new RENAME TO contact")
    db.execute("ALTER TABLE contact_list ADD COLUMN first_contact_id INTEGER")
    db.execute("ALTER TABLE contact_list ADD COLUMN last_contact_id INTEGER")
    db.execute("UPDATE contact_list SET first_contact_id = (SELECT min(id) FROM contact WHERE list_id = contact_list.id), "
               "last_contact_id = (SELECT max(id) FROM contact WHERE list_id = contact_list.id)")
    db.execute("""
        CREATE TABLE contact_reject (
            list_id INTEGER NOT NULL REFERENCES contact_list(id) ON DELETE CASCADE,
            row_number INTEGER NOT NULL,
            value TEXT,
            reason TEXT NOT NULL,
            message TEXT,
            PRIMARY KEY (list_id, row_number)
        ) WITHOUT ROWID""")


@migrations()
def m007_calling_integrity(db):
    """Phone ids are never reused; campaigns have a type; a refusal announcement.

    - ``phone.deleted_at``: a deleted phone stays as a row without a token, so
      its id (and the calls recorded under it) can never be taken by a new
      phone. SQLite hands out max(id) + 1 without AUTOINCREMENT, so deleting
      the newest phone would otherwise give its id to the next one.
    - ``campaign.kind``: 선거운동 (``election``, never calls 23:00-06:00 in
      Seoul whatever the settings say), 안내 (``notice``) or 설문 (``survey``).
    - ``ment.kind`` gains ``refusal`` (수신거부 안내멘트, played when a voter
      refuses further calls by keypad). A CHECK cannot be altered in SQLite,
      so the table is rebuilt.
    """
    db.execute("ALTER TABLE phone ADD COLUMN deleted_at TEXT")
    db.execute("ALTER TABLE campaign ADD COLUMN kind TEXT NOT NULL DEFAULT 'election' "
               "CHECK (kind IN ('election', 'notice', 'survey'))")
    db.execute("""
        CREATE TABLE ment_new (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL,
            original_name TEXT NOT NULL,
            title TEXT NOT NULL,
            kind TEXT CHECK (kind IN ('intro', 'promise', 'callback', 'refusal')),
            position INTEGER NOT NULL DEFAULT 1,
            duration_s REAL NOT NULL,
            source TEXT,
            changes TEXT,
            created_at TEXT NOT NULL
        )""")
    db.execute("INSERT INTO ment_new SELECT id, sha256, original_name, title, kind, position, duration_s, "
               "source, changes, created_at FROM ment")
    db.execute("DROP TABLE ment")
    db.execute("ALTER TABLE ment_new RENAME TO ment")


@migrations()
def m008_join_requests_expire(db):
    """Join requests are counted by address and expire (docs/protocol.md
    "Enrolment"): ``requested_at`` and ``expires_at`` in epoch seconds of the
    server's clock, and the status ``expired``. A CHECK cannot be altered in
    SQLite, so the table is rebuilt; requests already waiting get the default
    24 hours from when they were made."""
    db.execute("""
        CREATE TABLE phone_join_request_new (
            id TEXT PRIMARY KEY,
            poll_secret_sha256 TEXT NOT NULL,
            name TEXT NOT NULL,
            mode TEXT NOT NULL,
            device TEXT,
            address TEXT,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'rejected', 'delivered', 'expired')),
            phone_id INTEGER REFERENCES phone(id) ON DELETE SET NULL,
            token TEXT,                    -- kept only until the phone has fetched it once
            created_at TEXT NOT NULL,
            requested_at REAL NOT NULL,    -- epoch seconds: counts requests per address
            expires_at REAL NOT NULL       -- a pending request after this is expired
        )""")
    db.execute("INSERT INTO phone_join_request_new SELECT id, poll_secret_sha256, name, mode, device, "
               "address, status, phone_id, token, created_at, "
               "CAST(strftime('%s', created_at) AS REAL), CAST(strftime('%s', created_at) AS REAL) + 86400 "
               "FROM phone_join_request")
    db.execute("DROP TABLE phone_join_request")
    db.execute("ALTER TABLE phone_join_request_new RENAME TO phone_join_request")
    db.execute("CREATE INDEX phone_join_request_by_address ON phone_join_request (address, requested_at)")
    db.execute("CREATE INDEX phone_join_request_by_status ON phone_join_request (status, expires_at)")


@migrations()
def m009_reports(db):
    """통계: phone problems kept as they start; calls found by the time they were dialled.

    - ``phone_problem``: one row each time a phone's heartbeat shows a problem
      it did not show before (low battery, weak signal, no network, SIM,
      device lost), so the 통계 page can count problems per phone over a
      period (``phone.health`` keeps only the latest beat).
    - ``call_dialed``: the statistics and their exports select calls by the
      Seoul day they were dialled.
    """
    db.execute("""
        CREATE TABLE phone_problem (
            phone_id INTEGER NOT NULL,
            at REAL NOT NULL,              -- server clock
            kind TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX phone_problem_at ON phone_problem(at)")
    db.execute("CREATE INDEX call_dialed ON call(dialed_at)")


@migrations()
def m010_console_sessions(db):
    """Console sessions are held on the server; managers can be disabled.

    - ``console_session``: one row per log-in. The browser's signed cookie
      carries only a random 256-bit session id; the row is keyed by its
      SHA-256, so a copy of the database does not hold usable cookies. A
      session ends (``ended_at``, ``end_reason``) at log-out, password change,
      idle or absolute expiry, five wrong admin PINs, or when a manager ends
      it on 접근관리; an ended row is never valid again.
    - ``manager.disabled_at``: a disabled manager cannot log in and every
      session of theirs ends.
    """
    db.execute("""
        CREATE TABLE console_session (
            id TEXT PRIMARY KEY,           -- SHA-256 (hex) of the cookie's session id
            manager_id INTEGER NOT NULL REFERENCES manager(id) ON DELETE CASCADE,
            created_at REAL NOT NULL,      -- server clock (epoch seconds)
            last_seen REAL NOT NULL,
            address TEXT NOT NULL,
            user_agent TEXT,               -- a short summary, e.g. "Chrome / Windows"
            pin_failures INTEGER NOT NULL DEFAULT 0,
            ended_at REAL,
            end_reason TEXT
        )""")
    db.execute("CREATE INDEX console_session_manager ON console_session(manager_id, ended_at)")
    db.execute("CREATE INDEX console_session_open ON console_session(last_seen) WHERE ended_at IS NULL")
    db.execute("ALTER TABLE manager ADD COLUMN disabled_at TEXT")
