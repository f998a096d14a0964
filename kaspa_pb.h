/* kaspa_pb.h - the Kaspa P2P messages the sensor speaks, as plain C structs.
 *
 * Encoding and decoding go through nanopb code generated from our own
 * subset proto/kaspa.proto (field numbers as the reference node's
 * p2p.proto / messages.proto).  Payloads we do not model are skipped, and
 * reported as KASPA_OTHER with their field number.  Fields our proto does
 * not know inside a Version and its address are kept, bounded, in
 * struct kaspa_msg (unknown.version, unknown.address); so are top-level
 * fields that are no payload of the reference node (unknown.message):
 * they are skipped, as the reference node's decoder does, whatever the
 * payload.
 */
#ifndef KASPA_PB_H
#define KASPA_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KASPA_ID_LEN 16          /* the node id is a UUID */
#define KASPA_ID_MAX 64          /* longest id we keep, to log bad ones */
#define KASPA_UA_MAX 256         /* receivers truncate the user agent here */
#define KASPA_NETWORK_MAX 64
#define KASPA_REASON_MAX 256
#define KASPA_SUBNET_MAX 20
#define KASPA_ADDR_MAX 1000      /* addresses per Addresses message */
#define KASPA_UNKNOWN_MAX 8      /* unknown fields kept per message */
#define KASPA_UNKNOWN_BYTES_MAX 32 /* bytes kept of a length-delimited one */

/* KaspadMessage payload field numbers. */
enum kaspa_type {
	KASPA_NONE = 0,               /* no payload at all */
	KASPA_ADDRESSES = 1,
	KASPA_REQUEST_ADDRESSES = 6,
	KASPA_PING = 16,
	KASPA_PONG = 17,
	KASPA_VERACK = 19,
	KASPA_VERSION = 20,
	KASPA_REJECT = 22,
	KASPA_READY = 50,
	KASPA_OTHER = -1,             /* a payload we do not model */
};

struct kaspa_netaddr {
	int64_t timestamp;
	uint8_t ip[16];
	uint8_t ip_len;               /* 4 or 16 when valid; as received */
	uint32_t port;
};

/* A field our proto does not know (forks of the reference node extend
 * Version and NetAddress), as it came on the wire. */
struct kaspa_unknown_field {
	uint32_t number;
	uint8_t wire_type;            /* 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
	uint64_t value;               /* the integer; for bytes, their length */
	uint8_t bytes[KASPA_UNKNOWN_BYTES_MAX];
	uint8_t bytes_len;            /* kept: min(value, KASPA_UNKNOWN_BYTES_MAX) */
};

/* The first KASPA_UNKNOWN_MAX unknown fields of one message, in wire
 * order (repeated occurrences of a message merge, as in protobuf). */
struct kaspa_unknown_fields {
	size_t count;
	size_t dropped;               /* further unknown fields, not kept */
	struct kaspa_unknown_field field[KASPA_UNKNOWN_MAX];
};

struct kaspa_version {
	uint32_t protocol_version;
	uint64_t services;
	int64_t timestamp_ms;
	bool has_address;
	struct kaspa_netaddr address;
	uint8_t id[KASPA_ID_MAX];
	size_t id_len;                /* as received: valid only when 16 */
	char user_agent[KASPA_UA_MAX + 1];
	bool user_agent_truncated;
	bool disable_relay_tx;
	bool has_subnetwork_id;
	uint8_t subnetwork_id[KASPA_SUBNET_MAX];
	size_t subnetwork_id_len;
	char network[KASPA_NETWORK_MAX + 1];
};

/* Fields a fork added, kept beside the Version rather than in it: they are
 * rare, and struct kaspa_version is kept per connection. */
struct kaspa_version_unknown {
	struct kaspa_unknown_fields version;   /* decoded, never encoded */
	struct kaspa_unknown_fields address;   /* of version.address */
	struct kaspa_unknown_fields message;   /* the KaspadMessage's */
};

struct kaspa_msg {
	enum kaspa_type type;
	uint32_t other_field;         /* payload field number if KASPA_OTHER */
	uint32_t request_id;
	uint32_t response_id;
	union {
		struct kaspa_version version;
		uint64_t nonce;                        /* ping, pong */
		char reject_reason[KASPA_REASON_MAX + 1];
		bool include_all_subnetworks;          /* requestAddresses */
		struct {
			size_t count;
			struct kaspa_netaddr list[KASPA_ADDR_MAX];
		} addresses;
	} u;
	/* version and address: type KASPA_VERSION only; message: any type */
	struct kaspa_version_unknown unknown;
};

/* Decode one KaspadMessage.  Returns 0, or -1 with a short reason in
 * *err (static string) when the bytes are not a valid message or break a
 * cap (string too long, too many addresses, ip longer than 16...). */
int kaspa_decode(const uint8_t *buf, size_t len, struct kaspa_msg *m,
    const char **err);

/* Encode m into buf.  Returns the length, or -1 if it does not fit. */
int kaspa_encode(const struct kaspa_msg *m, uint8_t *buf, size_t cap);

#endif
