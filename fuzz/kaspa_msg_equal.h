/* kaspa_msg_equal.h - oracles the kaspa_pb fuzz targets share: whether
 * two decoded messages carry the same payload and ids. */
#ifndef KASPA_MSG_EQUAL_H
#define KASPA_MSG_EQUAL_H

#include <stdbool.h>

#include "kaspa_pb.h"

/* Same type (and field number, for KASPA_OTHER), ids and payload; a
 * Version's truncation flag is not compared (re-encoding sends the kept
 * part), nor are unknown fields. */
bool kaspa_msg_equal(const struct kaspa_msg *a, const struct kaspa_msg *b);

#endif
