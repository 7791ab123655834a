-- facerec schema for MariaDB (10.6+) / MySQL 8: InnoDB, utf8mb4, binary collation.
--
-- The same schema as the SQLAlchemy models in api/storage/models.py (the service creates it
-- itself on start-up; this file is for DBAs and for provisioning). tests/storage/
-- test_schema_parity.py loads this file and compares it with the models: change both together.
--
-- Load it into the database the service uses:
--     mariadb facerec < db-gen/face_recognition_db.sql
-- Safe to run twice (IF NOT EXISTS). Images are stored in the database: give the server
-- max_allowed_packet = 64M, or images over ~8 MB are refused (16M, the default, carries ~8 MB).
--
-- Timestamps are UTC, with microseconds. Ids compare byte for byte (utf8mb4_bin), as in SQLite.

CREATE TABLE IF NOT EXISTS people (
    id VARCHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT pk_people PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Enrolment photos, the original bytes stored once per person (unique sha256).
CREATE TABLE IF NOT EXISTS images (
    id INTEGER NOT NULL AUTO_INCREMENT,
    person_id VARCHAR(64) NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    data LONGBLOB NOT NULL,
    size_bytes INTEGER NOT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT pk_images PRIMARY KEY (id),
    CONSTRAINT uq_images_person_id_sha256 UNIQUE (person_id, sha256),
    CONSTRAINT fk_images_person_id FOREIGN KEY (person_id)
        REFERENCES people (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One 512-d float32 embedding (2048 bytes, little-endian) per image, with the bundle that made it.
CREATE TABLE IF NOT EXISTS embeddings (
    image_id INTEGER NOT NULL,
    vector BLOB NOT NULL,
    bundle_version VARCHAR(64) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT pk_embeddings PRIMARY KEY (image_id),
    CONSTRAINT fk_embeddings_image_id FOREIGN KEY (image_id)
        REFERENCES images (id) ON DELETE CASCADE,
    INDEX ix_embeddings_bundle_version (bundle_version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The quality (0-1: face size vs the 112 px chip x detector confidence) of an image's face when
-- it was enrolled; images enrolled before qualities were kept have no row.
CREATE TABLE IF NOT EXISTS image_qualities (
    image_id INTEGER NOT NULL,
    quality DOUBLE NOT NULL,
    CONSTRAINT pk_image_qualities PRIMARY KEY (image_id),
    CONSTRAINT fk_image_qualities_image_id FOREIGN KEY (image_id)
        REFERENCES images (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- state: queued | running | succeeded | failed
CREATE TABLE IF NOT EXISTS training_jobs (
    id INTEGER NOT NULL AUTO_INCREMENT,
    kind VARCHAR(32) NOT NULL,
    state VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    started_at DATETIME(6) NULL,
    finished_at DATETIME(6) NULL,
    model_version VARCHAR(64) NULL,
    error TEXT NULL,
    CONSTRAINT pk_training_jobs PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Leases: one training job at a time across every replica; a dead holder's lease expires.
CREATE TABLE IF NOT EXISTS locks (
    name VARCHAR(64) NOT NULL,
    holder VARCHAR(128) NOT NULL,
    acquired_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    CONSTRAINT pk_locks PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One person passing one camera: every crop sent under one edge track id (track_key), decided
-- together; label/score/threshold are the decision over its best crops so far (faces of them).
CREATE TABLE IF NOT EXISTS tracks (
    id BIGINT NOT NULL AUTO_INCREMENT,
    camera_id VARCHAR(64) NOT NULL,
    track_key VARCHAR(64) NOT NULL,
    location_id VARCHAR(64) NULL,
    first_seen_at DATETIME(6) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    ended_at DATETIME(6) NULL,
    crops INTEGER NOT NULL,
    person_id VARCHAR(64) NULL,
    label VARCHAR(64) NOT NULL,
    score DOUBLE NOT NULL,
    threshold DOUBLE NULL,
    faces INTEGER NOT NULL,
    model_version VARCHAR(64) NULL,
    best_crops BLOB NULL, -- while open: its best crops (storage/track_window.py)
    CONSTRAINT pk_tracks PRIMARY KEY (id),
    CONSTRAINT fk_tracks_person_id FOREIGN KEY (person_id)
        REFERENCES people (id) ON DELETE CASCADE,
    CONSTRAINT uq_tracks_camera_id_track_key UNIQUE (camera_id, track_key),
    INDEX ix_tracks_person_id_last_seen_at (person_id, last_seen_at),
    INDEX ix_tracks_label_last_seen_at (label, last_seen_at),
    INDEX ix_tracks_last_seen_at (last_seen_at),
    INDEX ix_tracks_ended_at_last_seen_at (ended_at, last_seen_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Faces seen by cameras; person_id is NULL for strangers (label 'unknown'). confidence is the
-- decision's score, threshold what naming needed (NULL: no model); unknown_group_id groups
-- strangers seen again; code is the face as int8 codes (one byte a dimension: 256 for the
-- default embedder) in embedding_space, kept in the row (VARBINARY). Rows older than
-- FACEREC_RETENTION_DAYS are purged by the service.
CREATE TABLE IF NOT EXISTS recognitions (
    id BIGINT NOT NULL AUTO_INCREMENT,
    person_id VARCHAR(64) NULL,
    label VARCHAR(64) NOT NULL,
    confidence DOUBLE NOT NULL,
    camera_id VARCHAR(64) NULL,
    location_id VARCHAR(64) NULL,
    box_left DOUBLE NOT NULL,
    box_top DOUBLE NOT NULL,
    box_right DOUBLE NOT NULL,
    box_bottom DOUBLE NOT NULL,
    model_version VARCHAR(64) NULL,
    recognized_at DATETIME(6) NOT NULL,
    threshold DOUBLE NULL,
    unknown_group_id INTEGER NULL,
    track_id BIGINT NULL,
    quality DOUBLE NULL,
    grey INTEGER NULL,
    embedding_space VARCHAR(64) NULL,
    code VARBINARY(512) NULL,
    CONSTRAINT pk_recognitions PRIMARY KEY (id),
    CONSTRAINT fk_recognitions_person_id FOREIGN KEY (person_id)
        REFERENCES people (id) ON DELETE CASCADE,
    CONSTRAINT fk_recognitions_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE SET NULL,
    INDEX ix_recognitions_person_id_recognized_at (person_id, recognized_at),
    INDEX ix_recognitions_label_recognized_at (label, recognized_at),
    INDEX ix_recognitions_camera_id_recognized_at (camera_id, recognized_at),
    INDEX ix_recognitions_recognized_at (recognized_at),
    INDEX ix_recognitions_unknown_group_id_recognized_at (unknown_group_id, recognized_at),
    INDEX ix_recognitions_track_id_quality (track_id, quality)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Each sighting's face as a JPEG about 112 px on its long side (GET /recognitions/<id>/face).
CREATE TABLE IF NOT EXISTS sighting_thumbnails (
    recognition_id BIGINT NOT NULL,
    jpeg BLOB NOT NULL,
    CONSTRAINT pk_sighting_thumbnails PRIMARY KEY (recognition_id),
    CONSTRAINT fk_sighting_thumbnails_recognition_id FOREIGN KEY (recognition_id)
        REFERENCES recognitions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What happened to each track, append-only: start | label | end (GET /events and webhooks).
CREATE TABLE IF NOT EXISTS track_events (
    id BIGINT NOT NULL AUTO_INCREMENT,
    track_id BIGINT NOT NULL,
    camera_id VARCHAR(64) NOT NULL,
    kind VARCHAR(8) NOT NULL,
    label VARCHAR(64) NOT NULL,
    at DATETIME(6) NOT NULL,
    CONSTRAINT pk_track_events PRIMARY KEY (id),
    CONSTRAINT fk_track_events_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    INDEX ix_track_events_camera_id_id (camera_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A track's face for search and grouping: the int8 codes of the mean of its best crops. A track's
-- row is replaced each time it is decided again, so id (a change id) only grows.
CREATE TABLE IF NOT EXISTS track_codes (
    id BIGINT NOT NULL AUTO_INCREMENT,
    track_id BIGINT NOT NULL,
    embedding_space VARCHAR(64) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    camera_id VARCHAR(64) NOT NULL,
    location_id VARCHAR(64) NULL,
    code VARBINARY(512) NOT NULL,
    CONSTRAINT pk_track_codes PRIMARY KEY (id),
    CONSTRAINT fk_track_codes_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT uq_track_codes_track_id UNIQUE (track_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Unknown faces that look like one person, grouped one at a time by the service (api/unknowns.py).
CREATE TABLE IF NOT EXISTS unknown_groups (
    id INTEGER NOT NULL AUTO_INCREMENT,
    embedding_space VARCHAR(64) NOT NULL,
    size INTEGER NOT NULL,
    first_seen_at DATETIME(6) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    cover_id BIGINT NULL,
    CONSTRAINT pk_unknown_groups PRIMARY KEY (id),
    INDEX ix_unknown_groups_last_seen_at (last_seen_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- API keys: only the sha256 of a key is stored. scope: recognize | review | admin
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER NOT NULL AUTO_INCREMENT,
    key_sha256 VARCHAR(64) NOT NULL,
    scope VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT pk_api_keys PRIMARY KEY (id),
    CONSTRAINT uq_api_keys_key_sha256 UNIQUE (key_sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The name an audit shows for each configured key (api/keys.py); its own table, so api_keys
-- rows written before keys had names stay valid.
CREATE TABLE IF NOT EXISTS api_key_names (
    key_sha256 VARCHAR(64) NOT NULL,
    name VARCHAR(64) NOT NULL,
    CONSTRAINT pk_api_key_names PRIMARY KEY (key_sha256),
    CONSTRAINT uq_api_key_names_name UNIQUE (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The audit trail (api/audit.py): every read of biometric data, every change, every refused
-- key. Append-only: no route changes a row; retention (FACEREC_AUDIT_RETENTION_DAYS) deletes.
CREATE TABLE IF NOT EXISTS audit_log (
    id BIGINT NOT NULL AUTO_INCREMENT,
    at DATETIME(6) NOT NULL,
    who VARCHAR(64) NOT NULL,
    address VARCHAR(64) NOT NULL,
    method VARCHAR(8) NOT NULL,
    route VARCHAR(255) NOT NULL,
    kind VARCHAR(8) NOT NULL,
    status INTEGER NOT NULL,
    outcome VARCHAR(64) NOT NULL,
    CONSTRAINT pk_audit_log PRIMARY KEY (id),
    INDEX ix_audit_log_at (at),
    INDEX ix_audit_log_who_at (who, at),
    INDEX ix_audit_log_route_at (route, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- What each audited request was about (person_id obama, group_id 3), one row each.
CREATE TABLE IF NOT EXISTS audit_targets (
    audit_id BIGINT NOT NULL,
    name VARCHAR(32) NOT NULL,
    value VARCHAR(64) NOT NULL,
    CONSTRAINT pk_audit_targets PRIMARY KEY (audit_id, name),
    CONSTRAINT fk_audit_targets_audit_id FOREIGN KEY (audit_id)
        REFERENCES audit_log (id) ON DELETE CASCADE,
    INDEX ix_audit_targets_value (value)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Labels an operator puts on people (watchlists), for alert rules to match on.
CREATE TABLE IF NOT EXISTS person_tags (
    person_id VARCHAR(64) NOT NULL,
    tag VARCHAR(64) NOT NULL,
    CONSTRAINT pk_person_tags PRIMARY KEY (person_id, tag),
    CONSTRAINT fk_person_tags_person_id FOREIGN KEY (person_id)
        REFERENCES people (id) ON DELETE CASCADE,
    INDEX ix_person_tags_tag (tag)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Alert rules: who/where/when (spec, JSON), the webhook destination and the cooldown.
CREATE TABLE IF NOT EXISTS alert_rules (
    id INTEGER NOT NULL AUTO_INCREMENT,
    name VARCHAR(128) NOT NULL,
    spec TEXT NOT NULL,
    destination VARCHAR(2048) NULL,
    cooldown_seconds DOUBLE NOT NULL,
    created_at DATETIME(6) NOT NULL,
    CONSTRAINT pk_alert_rules PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A rule matched a track (at most once per rule and track); event_id is its 'alert' track event.
CREATE TABLE IF NOT EXISTS alerts (
    id BIGINT NOT NULL AUTO_INCREMENT,
    event_id BIGINT NOT NULL,
    rule_id INTEGER NULL,
    rule_name VARCHAR(128) NOT NULL,
    track_id BIGINT NOT NULL,
    camera_id VARCHAR(64) NOT NULL,
    subject VARCHAR(64) NOT NULL,
    at DATETIME(6) NOT NULL,
    acked_at DATETIME(6) NULL,
    CONSTRAINT pk_alerts PRIMARY KEY (id),
    CONSTRAINT fk_alerts_event_id FOREIGN KEY (event_id)
        REFERENCES track_events (id) ON DELETE CASCADE,
    CONSTRAINT fk_alerts_rule_id FOREIGN KEY (rule_id)
        REFERENCES alert_rules (id) ON DELETE SET NULL,
    CONSTRAINT fk_alerts_track_id FOREIGN KEY (track_id)
        REFERENCES tracks (id) ON DELETE CASCADE,
    CONSTRAINT uq_alerts_event_id UNIQUE (event_id),
    CONSTRAINT uq_alerts_rule_id_track_id UNIQUE (rule_id, track_id),
    INDEX ix_alerts_rule_id_subject_camera_id_at (rule_id, subject, camera_id, at),
    INDEX ix_alerts_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Operators' corrections of a track's or sighting's label (kind: is | not | undo), kept forever.
CREATE TABLE IF NOT EXISTS label_changes (
    id BIGINT NOT NULL AUTO_INCREMENT,
    at DATETIME(6) NOT NULL,
    who VARCHAR(128) NOT NULL,
    kind VARCHAR(8) NOT NULL,
    target VARCHAR(16) NOT NULL,
    camera_id VARCHAR(64) NULL,
    track_key VARCHAR(64) NULL,
    recognition_id BIGINT NULL,
    from_label VARCHAR(64) NOT NULL,
    to_label VARCHAR(64) NOT NULL,
    undoes BIGINT NULL,
    undone_by BIGINT NULL,
    CONSTRAINT pk_label_changes PRIMARY KEY (id),
    INDEX ix_label_changes_camera_id_track_key (camera_id, track_key),
    INDEX ix_label_changes_recognition_id (recognition_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Faces an operator said are NOT a person ('not' changes): negatives of that person at training.
CREATE TABLE IF NOT EXISTS person_negatives (
    id BIGINT NOT NULL AUTO_INCREMENT,
    change_id BIGINT NOT NULL,
    person_id VARCHAR(64) NOT NULL,
    embedding_space VARCHAR(64) NOT NULL,
    code VARBINARY(512) NOT NULL,
    CONSTRAINT pk_person_negatives PRIMARY KEY (id),
    CONSTRAINT fk_person_negatives_change_id FOREIGN KEY (change_id)
        REFERENCES label_changes (id) ON DELETE CASCADE,
    CONSTRAINT fk_person_negatives_person_id FOREIGN KEY (person_id)
        REFERENCES people (id) ON DELETE CASCADE,
    INDEX ix_person_negatives_embedding_space (embedding_space)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The sightings a label change relabelled, with their label before (undo puts it back).
CREATE TABLE IF NOT EXISTS label_change_sightings (
    change_id BIGINT NOT NULL,
    recognition_id BIGINT NOT NULL,
    from_label VARCHAR(64) NOT NULL,
    CONSTRAINT pk_label_change_sightings PRIMARY KEY (change_id, recognition_id),
    CONSTRAINT fk_label_change_sightings_change_id FOREIGN KEY (change_id)
        REFERENCES label_changes (id) ON DELETE CASCADE,
    CONSTRAINT fk_label_change_sightings_recognition_id FOREIGN KEY (recognition_id)
        REFERENCES recognitions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Enrolment images an 'is' change made from a track's good crops (undo deletes them).
CREATE TABLE IF NOT EXISTS label_change_images (
    change_id BIGINT NOT NULL,
    image_id INTEGER NOT NULL,
    CONSTRAINT pk_label_change_images PRIMARY KEY (change_id, image_id),
    CONSTRAINT fk_label_change_images_change_id FOREIGN KEY (change_id)
        REFERENCES label_changes (id) ON DELETE CASCADE,
    CONSTRAINT fk_label_change_images_image_id FOREIGN KEY (image_id)
        REFERENCES images (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
