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

/* ---- the wire walk: keys as prost reads them, unknown fields kept ----
 *
 * nanopb is looser than prost, the reference node's decoder (prost 0.14.3,
 * src/encoding.rs), about keys and the fields it skips: it keeps the low
 * 32 bits of a longer key, skips varints of any length, and skips a
 * payload we do not model whatever its wire type.  So once pb_decode has
 * accepted the bytes, every message our proto models is walked again
 * with prost's rules, through nanopb's bounded stream reads (every length
 * is checked against its enclosing message).  The same walk keeps the
 * unknown fields of the Version, its address and the KaspadMessage:
 * forks of the reference node advertise capabilities in them. */

/* What the walk of one KaspadMessage fills, and a struct at least as
 * large as any message of ours: pb_field_iter only computes field
 * addresses from it, the walk reads none. */
struct walk {
	struct kaspa_version_unknown *u;
	const void *any_msg;
};

/* prost's decode_key: a varint of at most 10 bytes (pb_decode_varint's
 * rule too) whose value fits 32 bits.  prost also refuses wire types 6
 * and 7 and field 0; pb_decode already did, from the key's low 32 bits,
 * which are all of a key that passes here. */
static bool read_key(pb_istream_t *s, uint32_t *tag, pb_wire_type_t *wt)
{
	uint64_t key;

	if (!pb_decode_varint(s, &key))
		return false;
	if (key > UINT32_MAX)
		PB_RETURN_ERROR(s, "invalid key value");
	*tag = (uint32_t)(key >> 3);
	*wt = (pb_wire_type_t)(key & 7);
	return true;
}

/* pb_skip_field, but a varint as prost skips it: at most 10 bytes and
 * no bit beyond the 64th, pb_decode_varint's rule (pb_skip_varint takes
 * any length).  Groups (3, 4) fail here as in pb_decode, which refused
 * them first. */
static bool skip_field(pb_istream_t *s, pb_wire_type_t wt)
{
	uint64_t ignored;

	return wt == PB_WT_VARINT ? pb_decode_varint(s, &ignored) :
	    pb_skip_field(s, wt);
}

/* The value of one unknown field: integers whole, bytes up to the cap. */
static bool read_unknown_value(pb_istream_t *s, pb_wire_type_t wt,
    struct kaspa_unknown_field *f)
{
	uint32_t v32;

	switch (wt) {
	case PB_WT_VARINT:
		return pb_decode_varint(s, &f->value);
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
		return skip_field(s, wt);
	}
}

/* Keeps the field if there is room, else counts it and skips it. */
static bool note_unknown(pb_istream_t *s, pb_wire_type_t wt, uint32_t tag,
    struct kaspa_unknown_fields *u)
{
	struct kaspa_unknown_field *f;

	if (u->count == KASPA_UNKNOWN_MAX) {
		u->dropped++;
		return skip_field(s, wt);
	}
	f = &u->field[u->count++];
	memset(f, 0, sizeof *f);
	f->number = tag;
	f->wire_type = (uint8_t)wt;
	return read_unknown_value(s, wt, f);
}

/* Where the unknown fields of the message in field tag of parent are
 * kept: the Version's and its address's; NULL: checked, not kept. */
static struct kaspa_unknown_fields *unknown_list(const pb_msgdesc_t *parent,
    uint32_t tag, struct kaspa_version_unknown *u)
{
	if (parent == protowire_KaspadMessage_fields &&
	    tag == protowire_KaspadMessage_version_tag)
		return &u->version;
	if (parent == protowire_VersionMessage_fields &&
	    tag == protowire_VersionMessage_address_tag)
		return &u->address;
	return NULL;
}

/* The fields of one message of type desc, for walk_field.  it is begun
 * once per message (pb_field_iter_find goes on from where it stands);
 * has_fields is false for a message with none (Verack, Ready). */
struct fields {
	const pb_msgdesc_t *desc;
	pb_field_iter_t it;
	bool has_fields;
};

static void fields_begin(struct fields *f, const pb_msgdesc_t *desc,
    const struct walk *w)
{
	f->desc = desc;
	f->has_fields = pb_field_iter_begin_const(&f->it, desc, w->any_msg);
}

static bool walk_field(pb_istream_t *s, const struct walk *w,
    struct fields *f, uint32_t tag, pb_wire_type_t wt,
    struct kaspa_unknown_fields *unknown);

/* s is at the length prefix of a message of type desc.  Our messages
 * nest at most three deep (KaspadMessage, Version, NetAddress), so the
 * recursion is bounded by the proto. */
static bool walk_submessage(pb_istream_t *s, const struct walk *w,
    const pb_msgdesc_t *desc, struct kaspa_unknown_fields *unknown)
{
	pb_istream_t sub;
	struct fields f;
	bool ok = true;

	if (!pb_make_string_substream(s, &sub))
		return false;
	fields_begin(&f, desc, w);
	while (ok && sub.bytes_left > 0) {
		pb_wire_type_t wt;
		uint32_t tag;

		ok = read_key(&sub, &tag, &wt) &&
		    walk_field(&sub, w, &f, tag, wt, unknown);
	}
	return pb_close_string_substream(s, &sub) && ok;
}

/* One field of a message, its key read: a known message field is walked
 * in turn, another known field skipped (pb_decode checked its wire type),
 * an unknown one kept in unknown, or skipped if NULL. */
static bool walk_field(pb_istream_t *s, const struct walk *w,
    struct fields *f, uint32_t tag, pb_wire_type_t wt,
    struct kaspa_unknown_fields *unknown)
{
	if (!f->has_fields || !pb_field_iter_find(&f->it, tag))
		return unknown != NULL ? note_unknown(s, wt, tag, unknown) :
		    skip_field(s, wt);
	if (PB_LTYPE_IS_SUBMSG(f->it.type) && wt == PB_WT_STRING)
		return walk_submessage(s, w, f->it.submsg_desc,
		    unknown_list(f->desc, tag, w->u));
	return skip_field(s, wt);
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

/* The top level of the walk, which also finds the payload (nanopb skips
 * the members it does not know): the last oneof member present wins, as
 * in prost and nanopb.  *field is its number, 0 if none.  Every member
 * is a message in the reference node, so another wire type is refused;
 * those we do not model are skipped whole.  A run of Versions merges
 * their unknown fields and another payload in between starts over, as
 * both decoders do with a oneof (u->version and u->address are
 * meaningful only if the last payload is a Version).  Fields that are no
 * payload and not the two ids go to u->message, whatever the payload. */
static bool walk_message(pb_istream_t *s, const struct walk *w,
    uint32_t *field)
{
	const uint32_t version_tag = protowire_KaspadMessage_version_tag;
	struct kaspa_version_unknown *u = w->u;
	struct fields f;

	fields_begin(&f, protowire_KaspadMessage_fields, w);
	while (s->bytes_left > 0) {
		pb_wire_type_t wt;
		uint32_t tag;

		if (!read_key(s, &tag, &wt))
			return false;
		if (!is_payload_field(tag)) {
			if (!walk_field(s, w, &f, tag, wt, &u->message))
				return false;
			continue;
		}
		if (wt != PB_WT_STRING)
			PB_RETURN_ERROR(s, "wrong wire type");
		if (*field == version_tag && tag != version_tag) {
			memset(&u->version, 0, sizeof u->version);
			memset(&u->address, 0, sizeof u->address);
		}
		*field = tag;
		if (!walk_field(s, w, &f, tag, wt, NULL))
			return false;
	}
	return true;
}

int kaspa_decode(struct kaspa_pb_scratch *sc, const uint8_t *buf,
    size_t len, struct kaspa_msg *m, const char **err)
{
	protowire_KaspadMessage *scratch = &sc->pb;
	pb_istream_t s = pb_istream_from_buffer(buf, len);
	const struct walk w = { &m->unknown, scratch };
	uint32_t field = 0;

	/* Not the whole struct: its address list is 32 KB, and every payload
	 * conversion sets all it fills. */
	memset(m, 0, offsetof(struct kaspa_msg, u));
	memset(&m->unknown, 0, sizeof m->unknown);
	if (!pb_decode(&s, protowire_KaspadMessage_fields, scratch)) {
		*err = PB_GET_ERROR(&s);
		return -1;
	}
	s = pb_istream_from_buffer(buf, len);
	if (!walk_message(&s, &w, &field)) {
		*err = PB_GET_ERROR(&s);
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
