/* kaspa_pb.c - KaspadMessage <-> struct kaspa_msg, through nanopb.
 *
 * The generated protowire_KaspadMessage holds up to 1000 addresses (about
 * 40 KB), too much for the stack of a small static binary: decode and
 * encode work in a struct kaspa_pb_scratch the caller owns (kaspa_pb.h).
 */
#include "kaspa_pb.h"

#include <limits.h>
#include <string.h>

#include <pb_common.h>
#include <pb_decode.h>
#include <pb_encode.h>

/* The bounds in proto/kaspa.options must match the ones in kaspa_pb.h. */
#define PB_CAP(type, member) sizeof(((type *)0)->member)
_Static_assert(PB_CAP(protowire_NetAddress_ip_t, bytes) == 16, "ip");
_Static_assert(PB_CAP(protowire_VersionMessage_id_t, bytes) == KASPA_ID_MAX,
    "id");
_Static_assert(PB_CAP(protowire_SubnetworkId_bytes_t, bytes) ==
    KASPA_SUBNET_MAX, "subnetwork id");
_Static_assert(PB_CAP(protowire_VersionMessage_userAgent_t, bytes) >
    KASPA_UA_MAX, "user agent must decode beyond the kept length");
_Static_assert(PB_CAP(protowire_VersionMessage, network) ==
    KASPA_NETWORK_MAX + 1, "network");
_Static_assert(PB_CAP(protowire_RejectMessage, reason) ==
    KASPA_REASON_MAX + 1, "reject reason");
_Static_assert(PB_CAP(protowire_AddressesMessage, addressList) /
    sizeof(protowire_NetAddress) == KASPA_ADDR_MAX, "address list");

/* ---- helpers shared by both directions ---- */

/* Copy a string of at most cap - 1 bytes and terminate it. */
static void copy_cstr(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Go's net.IP style: empty, IPv4 or IPv6. */
static bool ip_len_valid(size_t len)
{
	return len == 0 || len == 4 || len == 16;
}

/* ---- decoding ---- */

static bool netaddr_from_pb(const protowire_NetAddress *p,
    struct kaspa_netaddr *a)
{
	if (!ip_len_valid(p->ip.size))
		return false;
	a->timestamp = p->timestamp;
	memcpy(a->ip, p->ip.bytes, p->ip.size);
	a->ip_len = (uint8_t)p->ip.size;
	a->port = p->port;
	return true;
}

/* Keeps the first KASPA_UA_MAX bytes, as the reference node does. */
static void user_agent_from_pb(const protowire_VersionMessage_userAgent_t *p,
    struct kaspa_version *v)
{
	size_t n = p->size;

	v->user_agent_truncated = n > KASPA_UA_MAX;
	if (v->user_agent_truncated)
		n = KASPA_UA_MAX;
	memcpy(v->user_agent, p->bytes, n);
	v->user_agent[n] = '\0';
}

static bool version_from_pb(const protowire_VersionMessage *p,
    struct kaspa_version *v)
{
	v->protocol_version = p->protocolVersion;
	v->services = p->services;
	v->timestamp_ms = p->timestamp;
	v->has_address = p->has_address;
	if (p->has_address && !netaddr_from_pb(&p->address, &v->address))
		return false;
	memcpy(v->id, p->id.bytes, p->id.size);
	v->id_len = p->id.size;
	user_agent_from_pb(&p->userAgent, v);
	v->disable_relay_tx = p->disableRelayTx;
	v->has_subnetwork_id = p->has_subnetworkId;
	memcpy(v->subnetwork_id, p->subnetworkId.bytes.bytes,
	    p->subnetworkId.bytes.size);
	v->subnetwork_id_len = p->subnetworkId.bytes.size;
	copy_cstr(v->network, sizeof v->network, p->network);
	return true;
}

static bool addresses_from_pb(const protowire_AddressesMessage *p,
    struct kaspa_msg *m)
{
	for (pb_size_t i = 0; i < p->addressList_count; i++)
		if (!netaddr_from_pb(&p->addressList[i], &m->u.addresses.list[i]))
			return false;
	m->u.addresses.count = p->addressList_count;
	return true;
}

/* Fills m's payload from the modeled oneof member nanopb decoded; false
 * when a NetAddress carries an ip of a length no node accepts. */
static bool payload_from_pb(const protowire_KaspadMessage *p,
    struct kaspa_msg *m)
{
	switch (p->which_payload) {
	case protowire_KaspadMessage_addresses_tag:
		m->type = KASPA_ADDRESSES;
		return addresses_from_pb(&p->payload.addresses, m);
	case protowire_KaspadMessage_requestAddresses_tag:
		m->type = KASPA_REQUEST_ADDRESSES;
		m->u.include_all_subnetworks =
		    p->payload.requestAddresses.includeAllSubnetworks;
		return true;
	case protowire_KaspadMessage_ping_tag:
		m->type = KASPA_PING;
		m->u.nonce = p->payload.ping.nonce;
		return true;
	case protowire_KaspadMessage_pong_tag:
		m->type = KASPA_PONG;
		m->u.nonce = p->payload.pong.nonce;
		return true;
	case protowire_KaspadMessage_verack_tag:
		m->type = KASPA_VERACK;
		return true;
	case protowire_KaspadMessage_version_tag:
		m->type = KASPA_VERSION;
		return version_from_pb(&p->payload.version, &m->u.version);
	case protowire_KaspadMessage_reject_tag:
		m->type = KASPA_REJECT;
		copy_cstr(m->u.reject_reason, sizeof m->u.reject_reason,
		    p->payload.reject.reason);
		return true;
	case protowire_KaspadMessage_ready_tag:
		m->type = KASPA_READY;
		return true;
	default:
		m->type = KASPA_NONE;
		return true;
	}
}

/* ---- fields our proto does not know ----
 *
 * nanopb skips them, but forks of the reference node advertise
 * capabilities in them.  Once pb_decode has accepted the bytes, the
 * Version and its address are walked again with nanopb's bounded stream
 * reads, so every length was already checked against its enclosing
 * message. */

/* How to walk one message: which fields are unknown (not in desc, read
 * through msg), where they go, and which known field holds a message to
 * walk in turn (nested_tag 0: none). */
struct unknown_walk {
	const pb_msgdesc_t *desc;
	const void *msg;
	struct kaspa_unknown_fields *out;
	uint32_t nested_tag;
	const struct unknown_walk *nested;
};

static bool field_known(const struct unknown_walk *w, uint32_t tag)
{
	pb_field_iter_t it;

	return pb_field_iter_begin_const(&it, w->desc, w->msg) &&
	    pb_field_iter_find(&it, tag);
}

/* A varint of any length, as pb_skip_field accepts it (pb_decode_varint
 * stops at 10 bytes): bits beyond the 64th are dropped. */
static bool read_any_varint(pb_istream_t *s, uint64_t *v)
{
	unsigned shift = 0;
	pb_byte_t b;

	*v = 0;
	do {
		if (!pb_read(s, &b, 1))
			return false;
		if (shift < 64) {
			*v |= (uint64_t)(b & 0x7F) << shift;
			shift += 7;
		}
	} while (b & 0x80);
	return true;
}

/* The value of one unknown field: integers whole, bytes up to the cap. */
static bool read_unknown_value(pb_istream_t *s, pb_wire_type_t wt,
    struct kaspa_unknown_field *f)
{
	uint32_t v32;

	switch (wt) {
	case PB_WT_VARINT:
		return read_any_varint(s, &f->value);
	case PB_WT_64BIT:
		return pb_decode_fixed64(s, &f->value);
	case PB_WT_32BIT:
		if (!pb_decode_fixed32(s, &v32))
			return false;
		f->value = v32;
		return true;
	case PB_WT_STRING:
		if (!pb_decode_varint32(s, &v32))
			return false;
		f->value = v32;
		f->bytes_len = (uint8_t)(v32 < sizeof f->bytes ?
		    v32 : sizeof f->bytes);
		return pb_read(s, f->bytes, f->bytes_len) &&
		    pb_read(s, NULL, v32 - f->bytes_len);
	default:
		return false;
	}
}

/* Keeps the field if there is room, else counts it and skips it. */
static bool note_unknown(pb_istream_t *s, pb_wire_type_t wt, uint32_t tag,
    struct kaspa_unknown_fields *u)
{
	struct kaspa_unknown_field *f;

	if (u->count == KASPA_UNKNOWN_MAX) {
		u->dropped++;
		return pb_skip_field(s, wt);
	}
	f = &u->field[u->count++];
	memset(f, 0, sizeof *f);
	f->number = tag;
	f->wire_type = (uint8_t)wt;
	return read_unknown_value(s, wt, f);
}

static bool walk_unknown(pb_istream_t *s, const struct unknown_walk *w);

/* s is at the length prefix of an embedded message. */
static bool walk_submessage(pb_istream_t *s, const struct unknown_walk *w)
{
	pb_istream_t sub;
	bool ok;

	if (!pb_make_string_substream(s, &sub))
		return false;
	ok = walk_unknown(&sub, w);
	return pb_close_string_substream(s, &sub) && ok;
}

static bool walk_unknown(pb_istream_t *s, const struct unknown_walk *w)
{
	while (s->bytes_left > 0) {
		pb_wire_type_t wt;
		uint32_t tag;
		bool eof, ok;

		if (!pb_decode_tag(s, &wt, &tag, &eof) || tag == 0)
			return false;
		if (w->nested != NULL && tag == w->nested_tag &&
		    wt == PB_WT_STRING)
			ok = walk_submessage(s, w->nested);
		else if (field_known(w, tag))
			ok = pb_skip_field(s, wt);
		else
			ok = note_unknown(s, wt, tag, w->out);
		if (!ok)
			return false;
	}
	return true;
}

/* s is at the length prefix of a VersionMessage: its unknown fields and
 * its address's are added to v's. */
static bool walk_version(pb_istream_t *s,
    const protowire_VersionMessage *pv, struct kaspa_version_unknown *u)
{
	const struct unknown_walk address = {
		protowire_NetAddress_fields, &pv->address, &u->address,
		0, NULL };
	const struct unknown_walk version = {
		protowire_VersionMessage_fields, pv, &u->version,
		protowire_VersionMessage_address_tag, &address };

	return walk_submessage(s, &version);
}

/* The field numbers of every member of KaspadMessage's oneof payload in
 * the reference node, modeled by proto/kaspa.proto or not: rusty-kaspa
 * protocol/p2p/proto/messages.proto at commit
 * 593399eb0187764c11f7f5c3729ae63d4c8e6505.  Besides
 * these, a KaspadMessage has response_id (101) and request_id (102); any
 * other top-level field is no payload but one a newer or forked protocol
 * added beside it (request_id and response_id came that way), and the
 * reference node's decoder (prost, proto3) skips it. */
static const uint8_t payload_fields[] = {
	1, 2, 3, 5, 6, 10, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 25, 26, 27,
	30, 31, 33, 34, 35, 36, 37, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50,
	51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 63,
};

static bool is_payload_field(uint32_t tag)
{
	const size_t n = sizeof payload_fields / sizeof payload_fields[0];

	for (size_t i = 0; i < n; i++)
		if (payload_fields[i] == tag)
			return true;
	return false;
}

/* nanopb skips fields it does not know, so walk the top-level tags to
 * find the payload: the last oneof member present wins, as in prost and
 * nanopb.  *field is its number, 0 if none.  Each Version met is walked
 * for unknown fields into u; a run of Versions merges and another payload
 * in between starts over, as both decoders do with a oneof (u->version
 * and u->address are meaningful only if the last payload is a Version).
 * Fields that are no payload and not the two ids go to u->message,
 * whatever the payload. */
static bool last_payload_field(const uint8_t *buf, size_t len,
    const protowire_KaspadMessage *decoded, uint32_t *field,
    struct kaspa_version_unknown *u)
{
	const uint32_t version_tag = protowire_KaspadMessage_version_tag;
	pb_istream_t s = pb_istream_from_buffer(buf, len);

	while (s.bytes_left > 0) {
		pb_wire_type_t wt;
		uint32_t tag;
		bool eof, ok;

		if (!pb_decode_tag(&s, &wt, &tag, &eof))
			return false;
		if (tag == protowire_KaspadMessage_response_id_tag ||
		    tag == protowire_KaspadMessage_request_id_tag) {
			ok = pb_skip_field(&s, wt);
		} else if (!is_payload_field(tag)) {
			ok = note_unknown(&s, wt, tag, &u->message);
		} else {
			if (*field == version_tag && tag != version_tag) {
				memset(&u->version, 0, sizeof u->version);
				memset(&u->address, 0, sizeof u->address);
			}
			*field = tag;
			ok = tag == version_tag && wt == PB_WT_STRING ?
			    walk_version(&s, &decoded->payload.version, u) :
			    pb_skip_field(&s, wt);
		}
		if (!ok)
			return false;
	}
	return true;
}

int kaspa_decode(struct kaspa_pb_scratch *sc, const uint8_t *buf,
    size_t len, struct kaspa_msg *m, const char **err)
{
	protowire_KaspadMessage *scratch = &sc->pb;
	pb_istream_t s = pb_istream_from_buffer(buf, len);
	uint32_t field = 0;

	/* Not the whole struct: its address list is 32 KB, and every payload
	 * conversion sets all it fills. */
	memset(m, 0, offsetof(struct kaspa_msg, u));
	memset(&m->unknown, 0, sizeof m->unknown);
	if (!pb_decode(&s, protowire_KaspadMessage_fields, scratch)) {
		*err = PB_GET_ERROR(&s);
		return -1;
	}
	/* Cannot fail once pb_decode accepted the same bytes. */
	if (!last_payload_field(buf, len, scratch, &field,
	    &m->unknown)) {
		*err = "bad wire format";
		return -1;
	}
	m->request_id = scratch->request_id;
	m->response_id = scratch->response_id;
	if (field != 0 && field != scratch->which_payload) {
		m->type = KASPA_OTHER;
		m->other_field = field;
		return 0;
	}
	if (!payload_from_pb(scratch, m)) {
		*err = "bad ip length";
		return -1;
	}
	return 0;
}

/* ---- encoding ---- */

static bool netaddr_to_pb(const struct kaspa_netaddr *a,
    protowire_NetAddress *p)
{
	if (a->ip_len > sizeof p->ip.bytes)
		return false;
	p->timestamp = a->timestamp;
	memcpy(p->ip.bytes, a->ip, a->ip_len);
	p->ip.size = a->ip_len;
	p->port = a->port;
	return true;
}

static bool version_to_pb(const struct kaspa_version *v,
    protowire_VersionMessage *p)
{
	size_t ua_len = strnlen(v->user_agent, KASPA_UA_MAX);

	if (v->id_len > sizeof p->id.bytes ||
	    v->subnetwork_id_len > sizeof p->subnetworkId.bytes.bytes)
		return false;
	p->protocolVersion = v->protocol_version;
	p->services = v->services;
	p->timestamp = v->timestamp_ms;
	p->has_address = v->has_address;
	if (v->has_address && !netaddr_to_pb(&v->address, &p->address))
		return false;
	memcpy(p->id.bytes, v->id, v->id_len);
	p->id.size = (pb_size_t)v->id_len;
	memcpy(p->userAgent.bytes, v->user_agent, ua_len);
	p->userAgent.size = (pb_size_t)ua_len;
	p->disableRelayTx = v->disable_relay_tx;
	p->has_subnetworkId = v->has_subnetwork_id;
	memcpy(p->subnetworkId.bytes.bytes, v->subnetwork_id,
	    v->subnetwork_id_len);
	p->subnetworkId.bytes.size = (pb_size_t)v->subnetwork_id_len;
	copy_cstr(p->network, sizeof p->network, v->network);
	return true;
}

static bool addresses_to_pb(const struct kaspa_msg *m,
    protowire_AddressesMessage *p)
{
	if (m->u.addresses.count > KASPA_ADDR_MAX)
		return false;
	for (size_t i = 0; i < m->u.addresses.count; i++)
		if (!netaddr_to_pb(&m->u.addresses.list[i], &p->addressList[i]))
			return false;
	p->addressList_count = (pb_size_t)m->u.addresses.count;
	return true;
}

/* Fills p's payload from m; false if m breaks a bound or its payload is
 * one we cannot encode (KASPA_OTHER). */
static bool payload_to_pb(const struct kaspa_msg *m,
    protowire_KaspadMessage *p)
{
	switch (m->type) {
	case KASPA_NONE:
		p->which_payload = 0;
		return true;
	case KASPA_ADDRESSES:
		p->which_payload = protowire_KaspadMessage_addresses_tag;
		return addresses_to_pb(m, &p->payload.addresses);
	case KASPA_REQUEST_ADDRESSES:
		p->which_payload = protowire_KaspadMessage_requestAddresses_tag;
		p->payload.requestAddresses.includeAllSubnetworks =
		    m->u.include_all_subnetworks;
		return true;
	case KASPA_PING:
		p->which_payload = protowire_KaspadMessage_ping_tag;
		p->payload.ping.nonce = m->u.nonce;
		return true;
	case KASPA_PONG:
		p->which_payload = protowire_KaspadMessage_pong_tag;
		p->payload.pong.nonce = m->u.nonce;
		return true;
	case KASPA_VERACK:
		p->which_payload = protowire_KaspadMessage_verack_tag;
		return true;
	case KASPA_VERSION:
		p->which_payload = protowire_KaspadMessage_version_tag;
		return version_to_pb(&m->u.version, &p->payload.version);
	case KASPA_REJECT:
		p->which_payload = protowire_KaspadMessage_reject_tag;
		copy_cstr(p->payload.reject.reason,
		    sizeof p->payload.reject.reason, m->u.reject_reason);
		return true;
	case KASPA_READY:
		p->which_payload = protowire_KaspadMessage_ready_tag;
		return true;
	case KASPA_OTHER:
		break;
	}
	return false;
}

int kaspa_encode(struct kaspa_pb_scratch *sc, const struct kaspa_msg *m,
    uint8_t *buf, size_t cap)
{
	protowire_KaspadMessage *scratch = &sc->pb;
	pb_ostream_t s = pb_ostream_from_buffer(buf, cap < INT_MAX ?
	    cap : INT_MAX);

	memset(scratch, 0, sizeof *scratch);
	if (!payload_to_pb(m, scratch))
		return -1;
	scratch->request_id = m->request_id;
	scratch->response_id = m->response_id;
	if (!pb_encode(&s, protowire_KaspadMessage_fields, scratch))
		return -1;
	return (int)s.bytes_written;
}
