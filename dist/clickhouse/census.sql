-- census.sql - `kaspa-sensor census` in ClickHouse (18.16 and later), over
-- the whole fleet's lines in the tables of schema.sql.  The same rules as
-- census.h, so the same numbers as `kaspa-sensor census --json` on the
-- same lines (the export suite checks it):
--
--   clickhouse-client --multiquery < dist/clickhouse/census.sql
--
-- A node is its Version id (peer_id): a restarted node gets a new id and
-- is counted again.  A line used is an inbound line or a crawl peer line,
-- of the network below, with a 32-hex-digit peer_id, in [since, until).
-- Class: conflicting (a verified public verdict and a private one), else
-- public (a verified public verdict or the crawl reached it), else private
-- (at least one verdict, every one private), else unknown; unknown
-- verdicts are no verdict.  The estimate of the private population is left
-- to the caller: census_estimate gives the counts Chapman's estimator (two
-- sensors, or two halves of one sensor's window) and Darroch's (more
-- sensors) need; README "Census" has the formulas.

-- The window (Unix ms; [0, 2^64-1) is everything) and the network: edit.
DROP TABLE IF EXISTS sensor.census_params;
CREATE VIEW sensor.census_params AS SELECT
    toUInt64(0) AS since_ms,
    toUInt64(18446744073709551615) AS until_ms,
    'kaspa-mainnet' AS network;

-- Every line used, one row each: who, where, when, and what it showed.
DROP TABLE IF EXISTS sensor.census_lines;
CREATE VIEW sensor.census_lines AS
SELECT
    assumeNotNull(peer_id) AS id,
    1 AS inbound,
    sensor_id,
    peer_ip AS ip,
    ts_ms,
    ifNull(classification, '') = 'public'
        AND (match(ifNull(classification_reason, ''), '_verified$')
             OR (ifNull(classification_reason, '') = 'cached'
                 AND match(ifNull(cached_reason, ''), '_verified$'))) AS verified,
    ifNull(classification, '') = 'public' AND NOT verified AS public_open,
    ifNull(classification, '') = 'private' AS private,
    0 AS reached,
    user_agent,
    protocol_version,
    services,
    arrayStringConcat(arrayFilter(x -> x != '', [
        if(empty(extractAll(ifNull(unknown_fields, ''), '"field":([0-9]+)')), '',
           concat('version:', arrayStringConcat(extractAll(ifNull(unknown_fields, ''), '"field":([0-9]+)'), ','))),
        if(empty(extractAll(ifNull(advertised_unknown_fields, ''), '"field":([0-9]+)')), '',
           concat('address:', arrayStringConcat(extractAll(ifNull(advertised_unknown_fields, ''), '"field":([0-9]+)'), ','))),
        if(empty(extractAll(ifNull(message_unknown_fields, ''), '"field":([0-9]+)')), '',
           concat('message:', arrayStringConcat(extractAll(ifNull(message_unknown_fields, ''), '"field":([0-9]+)'), ',')))
    ]), ' ') AS fork
FROM sensor.inbound FINAL
WHERE ifNull(network, '') = (SELECT network FROM sensor.census_params)
  AND match(ifNull(peer_id, ''), '^[0-9a-f]{32}$')
  AND ts_ms > 0
  AND ts_ms >= (SELECT since_ms FROM sensor.census_params)
  AND ts_ms < (SELECT until_ms FROM sensor.census_params)
UNION ALL
SELECT
    assumeNotNull(peer_id) AS id,
    0 AS inbound,
    '' AS sensor_id,
    replaceRegexpOne(address, '^\\[?([^\\]]*)\\]?:[0-9]+$', '\\1') AS ip,
    ts_ms,
    0 AS verified,
    0 AS public_open,
    0 AS private,
    reachable AS reached,
    user_agent,
    protocol_version,
    CAST(NULL AS Nullable(UInt64)) AS services,
    '' AS fork
FROM sensor.crawl_peer FINAL
ANY INNER JOIN (SELECT crawl_id, network FROM sensor.crawl_start FINAL) USING crawl_id
WHERE network = (SELECT network FROM sensor.census_params)
  AND match(ifNull(peer_id, ''), '^[0-9a-f]{32}$')
  AND ts_ms > 0
  AND ts_ms >= (SELECT since_ms FROM sensor.census_params)
  AND ts_ms < (SELECT until_ms FROM sensor.census_params);

-- One row per node (distinct peer_id) with its class.
DROP TABLE IF EXISTS sensor.census_nodes;
CREATE VIEW sensor.census_nodes AS
SELECT
    id,
    max(verified) AS v,
    max(public_open) AS o,
    max(private) AS p,
    max(reached) AS r,
    max(inbound) AS dialed,
    multiIf(v AND p, 'conflicting', v OR r, 'public', p AND NOT o, 'private',
            'unknown') AS class,
    min(user_agent) AS ua,
    min(protocol_version) AS pv,
    countIf(services IS NOT NULL) > 0 AS has_services,
    ifNull(groupBitOr(services), 0) AS svc,
    minIf(fork, fork != '') AS fork_fields,
    groupUniqArrayIf(sensor_id, inbound = 1) AS sensors,
    minIf(ts_ms, inbound = 1) AS first_ms,
    maxIf(ts_ms, inbound = 1) AS last_ms
FROM sensor.census_lines
GROUP BY id;

-- census: lines
SELECT countIf(inbound = 1) AS inbound_lines,
       countIf(inbound = 0) AS crawl_peer_lines
FROM sensor.census_lines;

-- census: nodes
SELECT count() AS nodes, countIf(class = 'public') AS public,
       countIf(class = 'private') AS private,
       countIf(class = 'unknown') AS unknown,
       countIf(class = 'conflicting') AS conflicting
FROM sensor.census_nodes;

-- census: conflicting
SELECT id FROM sensor.census_nodes WHERE class = 'conflicting' ORDER BY id;

-- census: ids_per_ip
SELECT ids, count() AS ips
FROM (SELECT ip, uniqExact(id) AS ids FROM sensor.census_lines GROUP BY ip)
GROUP BY ids ORDER BY ids;

-- census: user_agents
SELECT ua AS user_agent, count() AS nodes, countIf(class = 'public') AS public,
       countIf(class = 'private') AS private,
       countIf(class = 'unknown') AS unknown,
       countIf(class = 'conflicting') AS conflicting
FROM sensor.census_nodes GROUP BY ua ORDER BY nodes DESC, ua;

-- census: protocol_versions
SELECT pv AS protocol_version, count() AS nodes,
       countIf(class = 'public') AS public,
       countIf(class = 'private') AS private,
       countIf(class = 'unknown') AS unknown,
       countIf(class = 'conflicting') AS conflicting
FROM sensor.census_nodes GROUP BY pv ORDER BY pv;

-- census: service_bits (bit -1: services 0, bit -2: no services known)
SELECT bit, count() AS nodes, countIf(class = 'public') AS public,
       countIf(class = 'private') AS private,
       countIf(class = 'unknown') AS unknown,
       countIf(class = 'conflicting') AS conflicting
FROM (SELECT class,
             arrayJoin(if(NOT has_services, [-2],
                       if(svc = 0, [-1],
                          arrayFilter(b -> bitAnd(bitShiftRight(svc, toUInt8(b)), 1) = 1,
                                      range(64))))) AS bit
      FROM sensor.census_nodes)
GROUP BY bit ORDER BY bit;

-- census: forks
SELECT fork_fields AS fields, count() AS nodes,
       countIf(class = 'public') AS public,
       countIf(class = 'private') AS private,
       countIf(class = 'unknown') AS unknown,
       countIf(class = 'conflicting') AS conflicting
FROM sensor.census_nodes WHERE fork_fields != ''
GROUP BY fork_fields ORDER BY nodes DESC, fork_fields;

-- census: sensors
SELECT sensor_id, count() AS nodes, countIf(class = 'public') AS public,
       countIf(class = 'private') AS private,
       countIf(class = 'unknown') AS unknown,
       countIf(class = 'conflicting') AS conflicting
FROM sensor.census_nodes ARRAY JOIN sensors AS sensor_id
GROUP BY sensor_id ORDER BY sensor_id;

-- census: private_overlap (pairs with no private id in common are left out)
SELECT a, b, count() AS both
FROM (SELECT id, arrayJoin(sensors) AS a FROM sensor.census_nodes
      WHERE class = 'private')
ALL INNER JOIN
     (SELECT id, arrayJoin(sensors) AS b FROM sensor.census_nodes
      WHERE class = 'private') USING id
WHERE a < b GROUP BY a, b ORDER BY a, b;

-- census: crawl
SELECT (SELECT count() FROM sensor.crawl_start FINAL
        WHERE network = (SELECT network FROM sensor.census_params)) AS crawls,
       countIf(r = 1) AS reached,
       countIf(r = 1 AND dialed = 1) AS reached_dialed_a_sensor,
       countIf(class = 'public' AND r = 0) AS public_not_reached
FROM sensor.census_nodes;

-- census: estimate (private ids seen by any sensor; with one sensor, the
-- two halves of its window, split at halves_meet)
WITH (SELECT min(ts_ms) + intDiv(max(ts_ms) - min(ts_ms), 2)
      FROM sensor.census_lines WHERE inbound = 1) AS halves_meet
SELECT countIf(notEmpty(sensors)) AS seen,
       halves_meet,
       countIf(notEmpty(sensors) AND first_ms < halves_meet) AS first_half,
       countIf(notEmpty(sensors) AND last_ms >= halves_meet) AS second_half,
       countIf(notEmpty(sensors) AND first_ms < halves_meet
               AND last_ms >= halves_meet) AS both_halves
FROM sensor.census_nodes WHERE class = 'private';
