-- schema.sql - every line kaspa-sensor writes (inbound, announce) and every
-- line its crawl writes (crawl_start, seeder, peer, addresses, crawl_end),
-- one table per kind with one column per field, for ClickHouse 18.16 and
-- later:
--
--   clickhouse-client --multiquery < dist/clickhouse/schema.sql
--
-- Lines go in whole, as text, into sensor.lines; a materialized view per
-- kind takes each field out of them.  18.16's JSONEachRow cannot put an
-- array of objects into a column, so the line is read as one CSV field
-- (a delimiter, 0x01, that a log line never holds: control bytes are
-- escaped) and its fields with visitParamExtract*.  The exporter's URL:
--
--   --export-url 'https://ch.example:8443/?query=INSERT%20INTO%20sensor.lines%20FORMAT%20CSV&format_csv_delimiter=%01'
--
-- and a crawl file:
--
--   curl --data-binary @crawl.ndjson 'https://ch.example:8443/?query=INSERT%20INTO%20sensor.lines%20FORMAT%20CSV&format_csv_delimiter=%01'
--
-- Types: Nullable wherever the field can be null or absent (absent and
-- null are both NULL); arrays of objects (unknown_fields, probe_attempts)
-- as their JSON text; lists of addresses as Array(String) (absent: []);
-- booleans as UInt8; milliseconds (*_ms, 3 decimals in the line) as
-- Decimal64(3), exact (18.16's float parsing is not).  ts stays the line's
-- text (18.16 has no DateTime64) and ts_ms (Unix ms, 0 if ts is not a
-- time) is computed from it.  ReplacingMergeTree on
-- event_id: lines sent again (export is at least once) collapse into one;
-- query with FINAL for exact counts before the merge.

CREATE DATABASE IF NOT EXISTS sensor;

-- What the exporter (and curl) insert into: kept nowhere, only passed on.
CREATE TABLE IF NOT EXISTS sensor.lines (line String) ENGINE = Null;

-- one line per inbound connection (peer.c)
CREATE TABLE IF NOT EXISTS sensor.inbound (
    ts String,
    event_id String,
    sensor_id String,
    direction String,
    peer_ip String,
    peer_port UInt16,
    local_port UInt16,
    protocol_version Nullable(UInt32),
    user_agent Nullable(String),
    network Nullable(String),
    peer_id Nullable(String),
    advertised_address Nullable(String),
    services Nullable(UInt64),
    disable_relay_tx Nullable(UInt8),
    peer_timestamp_ms Nullable(Int64),
    unknown_fields Nullable(String),
    unknown_fields_dropped Nullable(UInt64),
    advertised_unknown_fields Nullable(String),
    advertised_unknown_fields_dropped Nullable(UInt64),
    message_unknown_fields Nullable(String),
    message_unknown_fields_dropped Nullable(UInt64),
    our_protocol_version Nullable(UInt32),
    version_order Nullable(String),
    http_user_agent Nullable(String),
    compressed UInt8,
    handshake_ms Nullable(Decimal64(3)),
    duration_ms Decimal64(3),
    stage_reached String,
    outcome String,
    reject_reason Nullable(String),
    classification Nullable(String),
    classification_reason Nullable(String),
    cached_reason Nullable(String),
    probe_target Nullable(String),
    probe_via Nullable(String),
    probe_attempts Nullable(String),
    probe_ms Nullable(Decimal64(3)),
    first_bytes Nullable(String),
    bytes_in UInt64,
    bytes_out UInt64,
    ts_ms UInt64 ALIAS toUInt64(toDateTimeOrZero(replaceOne(substring(ts, 1, 19), 'T', ' '), 'UTC')) * 1000
        + toUInt64OrZero(substring(ts, 21, 3))
) ENGINE = ReplacingMergeTree ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS sensor.inbound_mv TO sensor.inbound AS SELECT
    visitParamExtractString(line, 'ts') AS ts,
    visitParamExtractString(line, 'event_id') AS event_id,
    visitParamExtractString(line, 'sensor_id') AS sensor_id,
    visitParamExtractString(line, 'direction') AS direction,
    visitParamExtractString(line, 'peer_ip') AS peer_ip,
    toUInt16(visitParamExtractUInt(line, 'peer_port')) AS peer_port,
    toUInt16(visitParamExtractUInt(line, 'local_port')) AS local_port,
    if(visitParamExtractRaw(line, 'protocol_version') IN ('', 'null'), NULL, toUInt32(visitParamExtractUInt(line, 'protocol_version'))) AS protocol_version,
    if(visitParamExtractRaw(line, 'user_agent') IN ('', 'null'), NULL, visitParamExtractString(line, 'user_agent')) AS user_agent,
    if(visitParamExtractRaw(line, 'network') IN ('', 'null'), NULL, visitParamExtractString(line, 'network')) AS network,
    if(visitParamExtractRaw(line, 'peer_id') IN ('', 'null'), NULL, visitParamExtractString(line, 'peer_id')) AS peer_id,
    if(visitParamExtractRaw(line, 'advertised_address') IN ('', 'null'), NULL, visitParamExtractString(line, 'advertised_address')) AS advertised_address,
    if(visitParamExtractRaw(line, 'services') IN ('', 'null'), NULL, visitParamExtractUInt(line, 'services')) AS services,
    if(visitParamExtractRaw(line, 'disable_relay_tx') IN ('', 'null'), NULL, visitParamExtractBool(line, 'disable_relay_tx')) AS disable_relay_tx,
    if(visitParamExtractRaw(line, 'peer_timestamp_ms') IN ('', 'null'), NULL, visitParamExtractInt(line, 'peer_timestamp_ms')) AS peer_timestamp_ms,
    if(visitParamExtractRaw(line, 'unknown_fields') IN ('', 'null'), NULL, visitParamExtractRaw(line, 'unknown_fields')) AS unknown_fields,
    if(visitParamExtractRaw(line, 'unknown_fields_dropped') IN ('', 'null'), NULL, visitParamExtractUInt(line, 'unknown_fields_dropped')) AS unknown_fields_dropped,
    if(visitParamExtractRaw(line, 'advertised_unknown_fields') IN ('', 'null'), NULL, visitParamExtractRaw(line, 'advertised_unknown_fields')) AS advertised_unknown_fields,
    if(visitParamExtractRaw(line, 'advertised_unknown_fields_dropped') IN ('', 'null'), NULL, visitParamExtractUInt(line, 'advertised_unknown_fields_dropped')) AS advertised_unknown_fields_dropped,
    if(visitParamExtractRaw(line, 'message_unknown_fields') IN ('', 'null'), NULL, visitParamExtractRaw(line, 'message_unknown_fields')) AS message_unknown_fields,
    if(visitParamExtractRaw(line, 'message_unknown_fields_dropped') IN ('', 'null'), NULL, visitParamExtractUInt(line, 'message_unknown_fields_dropped')) AS message_unknown_fields_dropped,
    if(visitParamExtractRaw(line, 'our_protocol_version') IN ('', 'null'), NULL, toUInt32(visitParamExtractUInt(line, 'our_protocol_version'))) AS our_protocol_version,
    if(visitParamExtractRaw(line, 'version_order') IN ('', 'null'), NULL, visitParamExtractString(line, 'version_order')) AS version_order,
    if(visitParamExtractRaw(line, 'http_user_agent') IN ('', 'null'), NULL, visitParamExtractString(line, 'http_user_agent')) AS http_user_agent,
    visitParamExtractBool(line, 'compressed') AS compressed,
    if(visitParamExtractRaw(line, 'handshake_ms') IN ('', 'null'), NULL, toDecimal64(if(visitParamExtractRaw(line, 'handshake_ms') IN ('', 'null'), '0', visitParamExtractRaw(line, 'handshake_ms')), 3)) AS handshake_ms,
    toDecimal64(visitParamExtractRaw(line, 'duration_ms'), 3) AS duration_ms,
    visitParamExtractString(line, 'stage_reached') AS stage_reached,
    visitParamExtractString(line, 'outcome') AS outcome,
    if(visitParamExtractRaw(line, 'reject_reason') IN ('', 'null'), NULL, visitParamExtractString(line, 'reject_reason')) AS reject_reason,
    if(visitParamExtractRaw(line, 'classification') IN ('', 'null'), NULL, visitParamExtractString(line, 'classification')) AS classification,
    if(visitParamExtractRaw(line, 'classification_reason') IN ('', 'null'), NULL, visitParamExtractString(line, 'classification_reason')) AS classification_reason,
    if(visitParamExtractRaw(line, 'cached_reason') IN ('', 'null'), NULL, visitParamExtractString(line, 'cached_reason')) AS cached_reason,
    if(visitParamExtractRaw(line, 'probe_target') IN ('', 'null'), NULL, visitParamExtractString(line, 'probe_target')) AS probe_target,
    if(visitParamExtractRaw(line, 'probe_via') IN ('', 'null'), NULL, visitParamExtractString(line, 'probe_via')) AS probe_via,
    if(visitParamExtractRaw(line, 'probe_attempts') IN ('', 'null'), NULL, visitParamExtractRaw(line, 'probe_attempts')) AS probe_attempts,
    if(visitParamExtractRaw(line, 'probe_ms') IN ('', 'null'), NULL, toDecimal64(if(visitParamExtractRaw(line, 'probe_ms') IN ('', 'null'), '0', visitParamExtractRaw(line, 'probe_ms')), 3)) AS probe_ms,
    if(visitParamExtractRaw(line, 'first_bytes') IN ('', 'null'), NULL, visitParamExtractString(line, 'first_bytes')) AS first_bytes,
    visitParamExtractUInt(line, 'bytes_in') AS bytes_in,
    visitParamExtractUInt(line, 'bytes_out') AS bytes_out
FROM sensor.lines WHERE visitParamExtractString(line, 'direction') = 'inbound';

-- one line per announce dial (announce.c)
CREATE TABLE IF NOT EXISTS sensor.announce (
    ts String,
    event_id String,
    sensor_id String,
    direction String,
    peer_address String,
    outcome String,
    stage_reached String,
    peer_id Nullable(String),
    user_agent Nullable(String),
    protocol_version Nullable(UInt32),
    requests_answered UInt64,
    pings_answered UInt64,
    addresses_received UInt64,
    duration_ms Decimal64(3),
    ts_ms UInt64 ALIAS toUInt64(toDateTimeOrZero(replaceOne(substring(ts, 1, 19), 'T', ' '), 'UTC')) * 1000
        + toUInt64OrZero(substring(ts, 21, 3))
) ENGINE = ReplacingMergeTree ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS sensor.announce_mv TO sensor.announce AS SELECT
    visitParamExtractString(line, 'ts') AS ts,
    visitParamExtractString(line, 'event_id') AS event_id,
    visitParamExtractString(line, 'sensor_id') AS sensor_id,
    visitParamExtractString(line, 'direction') AS direction,
    visitParamExtractString(line, 'peer_address') AS peer_address,
    visitParamExtractString(line, 'outcome') AS outcome,
    visitParamExtractString(line, 'stage_reached') AS stage_reached,
    if(visitParamExtractRaw(line, 'peer_id') IN ('', 'null'), NULL, visitParamExtractString(line, 'peer_id')) AS peer_id,
    if(visitParamExtractRaw(line, 'user_agent') IN ('', 'null'), NULL, visitParamExtractString(line, 'user_agent')) AS user_agent,
    if(visitParamExtractRaw(line, 'protocol_version') IN ('', 'null'), NULL, toUInt32(visitParamExtractUInt(line, 'protocol_version'))) AS protocol_version,
    visitParamExtractUInt(line, 'requests_answered') AS requests_answered,
    visitParamExtractUInt(line, 'pings_answered') AS pings_answered,
    visitParamExtractUInt(line, 'addresses_received') AS addresses_received,
    toDecimal64(visitParamExtractRaw(line, 'duration_ms'), 3) AS duration_ms
FROM sensor.lines WHERE visitParamExtractString(line, 'direction') = 'announce';

-- The crawl's lines (crawl.h).  They carry event_id (crawl_id-sequence)
-- since the census came; older crawl files have none and would collapse
-- into one row per table.

-- crawl_start: one per crawl
CREATE TABLE IF NOT EXISTS sensor.crawl_start (
    type String,
    crawl_id String,
    ts String,
    event_id String,
    network String,
    seeds Array(String),
    watch Array(String),
    requests UInt64,
    ts_ms UInt64 ALIAS toUInt64(toDateTimeOrZero(replaceOne(substring(ts, 1, 19), 'T', ' '), 'UTC')) * 1000
        + toUInt64OrZero(substring(ts, 21, 3))
) ENGINE = ReplacingMergeTree ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS sensor.crawl_start_mv TO sensor.crawl_start AS SELECT
    visitParamExtractString(line, 'type') AS type,
    visitParamExtractString(line, 'crawl_id') AS crawl_id,
    visitParamExtractString(line, 'ts') AS ts,
    visitParamExtractString(line, 'event_id') AS event_id,
    visitParamExtractString(line, 'network') AS network,
    extractAll(visitParamExtractRaw(line, 'seeds'), '"([^"]*)"') AS seeds,
    extractAll(visitParamExtractRaw(line, 'watch'), '"([^"]*)"') AS watch,
    visitParamExtractUInt(line, 'requests') AS requests
FROM sensor.lines WHERE visitParamExtractString(line, 'type') = 'crawl_start';

-- seeder: one per DNS seeder asked
CREATE TABLE IF NOT EXISTS sensor.crawl_seeder (
    type String,
    crawl_id String,
    ts String,
    event_id String,
    name String,
    result String,
    addresses Array(String),
    ts_ms UInt64 ALIAS toUInt64(toDateTimeOrZero(replaceOne(substring(ts, 1, 19), 'T', ' '), 'UTC')) * 1000
        + toUInt64OrZero(substring(ts, 21, 3))
) ENGINE = ReplacingMergeTree ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS sensor.crawl_seeder_mv TO sensor.crawl_seeder AS SELECT
    visitParamExtractString(line, 'type') AS type,
    visitParamExtractString(line, 'crawl_id') AS crawl_id,
    visitParamExtractString(line, 'ts') AS ts,
    visitParamExtractString(line, 'event_id') AS event_id,
    visitParamExtractString(line, 'name') AS name,
    visitParamExtractString(line, 'result') AS result,
    extractAll(visitParamExtractRaw(line, 'addresses'), '"([^"]*)"') AS addresses
FROM sensor.lines WHERE visitParamExtractString(line, 'type') = 'seeder';

-- peer: one per peer the crawl dialed
CREATE TABLE IF NOT EXISTS sensor.crawl_peer (
    type String,
    crawl_id String,
    ts String,
    event_id String,
    address String,
    depth UInt64,
    reachable UInt8,
    reason String,
    dial_detail Nullable(String),
    stage String,
    peer_id Nullable(String),
    user_agent Nullable(String),
    protocol_version Nullable(UInt32),
    advertised_address Nullable(String),
    reject_reason Nullable(String),
    replies UInt64,
    addresses UInt64,
    new_addresses UInt64,
    connect_ms Nullable(Decimal64(3)),
    handshake_ms Nullable(Decimal64(3)),
    duration_ms Decimal64(3),
    ts_ms UInt64 ALIAS toUInt64(toDateTimeOrZero(replaceOne(substring(ts, 1, 19), 'T', ' '), 'UTC')) * 1000
        + toUInt64OrZero(substring(ts, 21, 3))
) ENGINE = ReplacingMergeTree ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS sensor.crawl_peer_mv TO sensor.crawl_peer AS SELECT
    visitParamExtractString(line, 'type') AS type,
    visitParamExtractString(line, 'crawl_id') AS crawl_id,
    visitParamExtractString(line, 'ts') AS ts,
    visitParamExtractString(line, 'event_id') AS event_id,
    visitParamExtractString(line, 'address') AS address,
    visitParamExtractUInt(line, 'depth') AS depth,
    visitParamExtractBool(line, 'reachable') AS reachable,
    visitParamExtractString(line, 'reason') AS reason,
    if(visitParamExtractRaw(line, 'dial_detail') IN ('', 'null'), NULL, visitParamExtractString(line, 'dial_detail')) AS dial_detail,
    visitParamExtractString(line, 'stage') AS stage,
    if(visitParamExtractRaw(line, 'peer_id') IN ('', 'null'), NULL, visitParamExtractString(line, 'peer_id')) AS peer_id,
    if(visitParamExtractRaw(line, 'user_agent') IN ('', 'null'), NULL, visitParamExtractString(line, 'user_agent')) AS user_agent,
    if(visitParamExtractRaw(line, 'protocol_version') IN ('', 'null'), NULL, toUInt32(visitParamExtractUInt(line, 'protocol_version'))) AS protocol_version,
    if(visitParamExtractRaw(line, 'advertised_address') IN ('', 'null'), NULL, visitParamExtractString(line, 'advertised_address')) AS advertised_address,
    if(visitParamExtractRaw(line, 'reject_reason') IN ('', 'null'), NULL, visitParamExtractString(line, 'reject_reason')) AS reject_reason,
    visitParamExtractUInt(line, 'replies') AS replies,
    visitParamExtractUInt(line, 'addresses') AS addresses,
    visitParamExtractUInt(line, 'new_addresses') AS new_addresses,
    if(visitParamExtractRaw(line, 'connect_ms') IN ('', 'null'), NULL, toDecimal64(if(visitParamExtractRaw(line, 'connect_ms') IN ('', 'null'), '0', visitParamExtractRaw(line, 'connect_ms')), 3)) AS connect_ms,
    if(visitParamExtractRaw(line, 'handshake_ms') IN ('', 'null'), NULL, toDecimal64(if(visitParamExtractRaw(line, 'handshake_ms') IN ('', 'null'), '0', visitParamExtractRaw(line, 'handshake_ms')), 3)) AS handshake_ms,
    toDecimal64(visitParamExtractRaw(line, 'duration_ms'), 3) AS duration_ms
FROM sensor.lines WHERE visitParamExtractString(line, 'type') = 'peer';

-- addresses: one per Addresses reply (or part of one)
CREATE TABLE IF NOT EXISTS sensor.crawl_addresses (
    type String,
    crawl_id String,
    ts String,
    event_id String,
    `from` String,
    seq UInt64,
    count Nullable(UInt64),
    watched Array(String),
    part Nullable(UInt64),
    parts Nullable(UInt64),
    addresses Array(String),
    ts_ms UInt64 ALIAS toUInt64(toDateTimeOrZero(replaceOne(substring(ts, 1, 19), 'T', ' '), 'UTC')) * 1000
        + toUInt64OrZero(substring(ts, 21, 3))
) ENGINE = ReplacingMergeTree ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS sensor.crawl_addresses_mv TO sensor.crawl_addresses AS SELECT
    visitParamExtractString(line, 'type') AS type,
    visitParamExtractString(line, 'crawl_id') AS crawl_id,
    visitParamExtractString(line, 'ts') AS ts,
    visitParamExtractString(line, 'event_id') AS event_id,
    visitParamExtractString(line, 'from') AS `from`,
    visitParamExtractUInt(line, 'seq') AS seq,
    if(visitParamExtractRaw(line, 'count') IN ('', 'null'), NULL, visitParamExtractUInt(line, 'count')) AS count,
    extractAll(visitParamExtractRaw(line, 'watched'), '"([^"]*)"') AS watched,
    if(visitParamExtractRaw(line, 'part') IN ('', 'null'), NULL, visitParamExtractUInt(line, 'part')) AS part,
    if(visitParamExtractRaw(line, 'parts') IN ('', 'null'), NULL, visitParamExtractUInt(line, 'parts')) AS parts,
    extractAll(visitParamExtractRaw(line, 'addresses'), '"([^"]*)"') AS addresses
FROM sensor.lines WHERE visitParamExtractString(line, 'type') = 'addresses';

-- crawl_end: one per crawl
CREATE TABLE IF NOT EXISTS sensor.crawl_end (
    type String,
    crawl_id String,
    ts String,
    event_id String,
    visited UInt64,
    reachable UInt64,
    replies UInt64,
    frontier UInt64,
    dropped UInt64,
    duration_ms Decimal64(3),
    ts_ms UInt64 ALIAS toUInt64(toDateTimeOrZero(replaceOne(substring(ts, 1, 19), 'T', ' '), 'UTC')) * 1000
        + toUInt64OrZero(substring(ts, 21, 3))
) ENGINE = ReplacingMergeTree ORDER BY event_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS sensor.crawl_end_mv TO sensor.crawl_end AS SELECT
    visitParamExtractString(line, 'type') AS type,
    visitParamExtractString(line, 'crawl_id') AS crawl_id,
    visitParamExtractString(line, 'ts') AS ts,
    visitParamExtractString(line, 'event_id') AS event_id,
    visitParamExtractUInt(line, 'visited') AS visited,
    visitParamExtractUInt(line, 'reachable') AS reachable,
    visitParamExtractUInt(line, 'replies') AS replies,
    visitParamExtractUInt(line, 'frontier') AS frontier,
    visitParamExtractUInt(line, 'dropped') AS dropped,
    toDecimal64(visitParamExtractRaw(line, 'duration_ms'), 3) AS duration_ms
FROM sensor.lines WHERE visitParamExtractString(line, 'type') = 'crawl_end';

