/* crawl.h - `kaspa-sensor crawl`: walk the P2P network breadth first.
 *
 * Every peer is dialed with the full handshake (client.c), asked for
 * addresses `requests` times (each reply is the peer's random sample of up
 * to 1000 addresses, protocol/flows/src/v7/address.rs), and left.  New
 * addresses join the frontier, filtered: routable only (unless allowed),
 * at most CRAWL_PORTS_PER_IP ports per IP, at most max_peers in all.
 * Politeness: one connection per IP at a time, `concurrency` in all.
 *
 * Without --seed the network's DNS seeders are asked (A and AAAA, on the
 * loop, name servers from --resolv-conf) and every address they return
 * joins the frontier with the network's default port.
 *
 * Output, NDJSON, one object per line, each with "type", "crawl_id" and
 * "event_id" (crawl_id-sequence, unique: a store de-duplicates on it):
 *   crawl_start  ts, network, seeds[], watch[]
 *   seeder       ts, name, result (ok | no_such_host | no_answer | error),
 *                addresses[] (as added, with the default port)
 *   peer         ts, address, depth, reachable, reason (client.h
 *                outcome, e.g. refused or proxy_error), dial_detail (if
 *                any, e.g. socks5_auth_failed), stage, peer_id,
 *                user_agent, protocol_version, advertised_address,
 *                replies, addresses, new_addresses, connect_ms,
 *                handshake_ms, duration_ms
 *   addresses    ts, from, seq (1..requests), count, watched[] (the
 *                --watch addresses this reply contained); with
 *                --crawl-addresses also part, parts, addresses[] (a reply
 *                is cut into parts of CRAWL_ADDRS_PER_LINE)
 *   crawl_end    ts, visited, reachable, replies, dropped, duration_ms
 */
#ifndef CRAWL_H
#define CRAWL_H

#define CRAWL_PORTS_PER_IP 4
#define CRAWL_ADDRS_PER_LINE 120

/* argv[0] is "crawl".  Returns the process exit status. */
int crawl_main(int argc, char **argv);

#endif
