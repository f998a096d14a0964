/* kaspa_msg_equal.c - see kaspa_msg_equal.h. */
#include "kaspa_msg_equal.h"

#include <string.h>

static bool netaddr_equal(const struct kaspa_netaddr *a,
    const struct kaspa_netaddr *b)
{
	return a->timestamp == b->timestamp && a->ip_len == b->ip_len &&
	    memcmp(a->ip, b->ip, a->ip_len) == 0 && a->port == b->port;
}

static bool version_equal(const struct kaspa_version *a,
    const struct kaspa_version *b)
{
	return a->protocol_version == b->protocol_version &&
	    a->services == b->services && a->timestamp_ms == b->timestamp_ms &&
	    a->has_address == b->has_address &&
	    (!a->has_address || netaddr_equal(&a->address, &b->address)) &&
	    a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0 &&
	    strcmp(a->user_agent, b->user_agent) == 0 &&
	    a->disable_relay_tx == b->disable_relay_tx &&
	    a->has_subnetwork_id == b->has_subnetwork_id &&
	    a->subnetwork_id_len == b->subnetwork_id_len &&
	    memcmp(a->subnetwork_id, b->subnetwork_id,
	        a->subnetwork_id_len) == 0 &&
	    strcmp(a->network, b->network) == 0;
}

static bool addresses_equal(const struct kaspa_msg *a,
    const struct kaspa_msg *b)
{
	if (a->u.addresses.count != b->u.addresses.count)
		return false;
	for (size_t i = 0; i < a->u.addresses.count; i++)
		if (!netaddr_equal(&a->u.addresses.list[i],
		    &b->u.addresses.list[i]))
			return false;
	return true;
}

static bool payload_equal(const struct kaspa_msg *a, const struct kaspa_msg *b)
{
	switch (a->type) {
	case KASPA_VERSION:
		return version_equal(&a->u.version, &b->u.version);
	case KASPA_PING:
	case KASPA_PONG:
		return a->u.nonce == b->u.nonce;
	case KASPA_REJECT:
		return strcmp(a->u.reject_reason, b->u.reject_reason) == 0;
	case KASPA_REQUEST_ADDRESSES:
		return a->u.include_all_subnetworks ==
		    b->u.include_all_subnetworks;
	case KASPA_ADDRESSES:
		return addresses_equal(a, b);
	case KASPA_OTHER:
		return a->other_field == b->other_field;
	case KASPA_NONE:
	case KASPA_VERACK:
	case KASPA_READY:
		break;
	}
	return true;
}

bool kaspa_msg_equal(const struct kaspa_msg *a, const struct kaspa_msg *b)
{
	return a->type == b->type && a->request_id == b->request_id &&
	    a->response_id == b->response_id && payload_equal(a, b);
}
