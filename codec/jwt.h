/* jwt.h - RS256 JSON Web Tokens (RFC 7519, RFC 7518 3.3) signed with
 * BearSSL, for the Google service-account flow (RFC 7523). */
#ifndef JWT_H
#define JWT_H

#include <stddef.h>

#include <bearssl.h>

struct jwt_key {
	br_rsa_private_key sk;     /* points into mem */
	unsigned char *mem;
};

/* The RSA key of a PEM "PRIVATE KEY" (PKCS#8) or "RSA PRIVATE KEY"
 * (PKCS#1).  0, or -1 with *why the reason (a static string). */
int jwt_key_from_pem(struct jwt_key *k, const char *pem, size_t len,
    const char **why);
void jwt_key_free(struct jwt_key *k);

/* base64url without padding of in[0..n) into out (NUL-terminated);
 * returns the length, or -1 if out (cap bytes) is too small. */
long base64url(const void *in, size_t n, char *out, size_t cap);

/* base64url(header) "." base64url(claims) "." base64url(RS256 sig);
 * returns the length, or -1 if it does not fit or signing failed. */
long jwt_sign_rs256(const struct jwt_key *k, const char *header_json,
    const char *claims_json, char *out, size_t cap);

#endif
