/* firestore.h - the Firestore REST backend of the exporter.
 *
 * --export-url names a collection:
 *   https://firestore.googleapis.com/v1/projects/P/databases/(default)/documents/C
 * Each batch becomes one atomic POST .../databases/(default)/documents:commit
 * with one "update" write per line, the document id being the line's
 * event_id, so a retried batch overwrites instead of duplicating.  JSON
 * values map to Firestore values (string, integerValue as a string,
 * doubleValue, booleanValue, nullValue, mapValue, arrayValue).
 *
 * Authentication: the service-account JSON key (client_email,
 * private_key, private_key_id, token_uri) signs an RS256 JWT (jwt.h),
 * exchanged at token_uri for an access token (RFC 7523), cached until a
 * minute before it expires.
 */
#ifndef FIRESTORE_H
#define FIRESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http1.h"

struct firestore;

/* Reads the service-account file and derives the commit URL.  NULL on
 * error, with one line in why[why_len] saying why (never key material). */
struct firestore *firestore_new(const char *credentials_path,
    const struct url *collection_url, char *why, size_t why_len);
void firestore_free(struct firestore *f);

const struct url *firestore_token_url(const struct firestore *f);
bool firestore_token_valid(const struct firestore *f, int64_t now_unix_ms);
void firestore_token_drop(struct firestore *f);

/* The form body of the token request (a fresh JWT); length or -1. */
long firestore_token_body(struct firestore *f, char *out, size_t cap,
    int64_t now_unix_s);

/* Takes access_token and expires_in from the token endpoint's JSON; 0,
 * or -1 if they are missing or unusable. */
int firestore_token_parse(struct firestore *f, const char *body, size_t len,
    int64_t now_unix_ms);

/* "Authorization: Bearer TOKEN\r\n"; 0, or -1 if it does not fit. */
int firestore_auth_header(const struct firestore *f, char *out, size_t cap);

/* Where batches go: the collection URL's .../documents:commit. */
const struct url *firestore_commit_url(const struct firestore *f);

/* The documents:commit body for the NDJSON lines[0..len); length, or -1
 * if it does not fit in cap or a line is not an object with a string
 * event_id usable as a document id. */
long firestore_commit_body(const struct firestore *f, char *out, size_t cap,
    const char *lines, size_t len);

#endif
