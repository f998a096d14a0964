/* jwt.c - RS256 JWTs with BearSSL (see jwt.h). */
#include "jwt.h"

#include <stdlib.h>
#include <string.h>

#include "pem.h"

#define RSA_SIG_MAX 1024            /* 8192-bit keys */

/* take_rsa_key's state: where the key goes, why it was refused. */
struct key_search {
	struct jwt_key *k;
	const char *why;
};

static int take_rsa_key(void *ud, const char *label,
    const unsigned char *der, size_t len)
{
	struct key_search *s = ud;
	struct jwt_key *k = s->k;
	br_skey_decoder_context dc;
	const br_rsa_private_key *sk;
	unsigned char *m;

	if (strcmp(label, "PRIVATE KEY") != 0 &&
	    strcmp(label, "RSA PRIVATE KEY") != 0)
		return 0;
	br_skey_decoder_init(&dc);
	br_skey_decoder_push(&dc, der, len);
	if (br_skey_decoder_last_error(&dc) != 0 ||
	    br_skey_decoder_key_type(&dc) != BR_KEYTYPE_RSA) {
		s->why = "the private key is not a usable RSA key";
		return -1;
	}
	sk = br_skey_decoder_get_rsa(&dc);
	m = malloc(sk->plen + sk->qlen + sk->dplen + sk->dqlen + sk->iqlen);
	if (m == NULL) {
		s->why = "out of memory";
		return -1;
	}
	k->mem = m;
	k->sk = *sk;
	memcpy(m, sk->p, sk->plen);
	k->sk.p = m;
	memcpy(m += sk->plen, sk->q, sk->qlen);
	k->sk.q = m;
	memcpy(m += sk->qlen, sk->dp, sk->dplen);
	k->sk.dp = m;
	memcpy(m += sk->dplen, sk->dq, sk->dqlen);
	k->sk.dq = m;
	memcpy(m += sk->dqlen, sk->iq, sk->iqlen);
	k->sk.iq = m;
	return 1;   /* found: stop */
}

int jwt_key_from_pem(struct jwt_key *k, const char *pem, size_t len,
    const char **why)
{
	struct key_search s = { .k = k };
	int rc;

	memset(k, 0, sizeof *k);
	rc = pem_objects(pem, len, take_rsa_key, &s, why);
	if (rc == 1)
		return 0;
	if (rc == 0)
		*why = "no PRIVATE KEY or RSA PRIVATE KEY in the PEM";
	else if (*why == NULL)
		*why = s.why;
	return -1;
}

void jwt_key_free(struct jwt_key *k)
{
	if (k->mem != NULL) {
		memset(k->mem, 0, k->sk.plen + k->sk.qlen + k->sk.dplen +
		    k->sk.dqlen + k->sk.iqlen);
		free(k->mem);
	}
	memset(k, 0, sizeof *k);
}

long base64url(const void *in, size_t n, char *out, size_t cap)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = in;
	size_t o = 0, need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);

	if (need >= cap)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = n - i;
		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		if (left > 1)
			out[o++] = abc[v >> 6 & 63];
		if (left > 2)
			out[o++] = abc[v & 63];
	}
	out[o] = '\0';
	return (long)o;
}

long jwt_sign_rs256(const struct jwt_key *k, const char *header_json,
    const char *claims_json, char *out, size_t cap)
{
	unsigned char hash[32], sig[RSA_SIG_MAX];
	size_t sig_len = (k->sk.n_bitlen + 7) / 8;
	br_sha256_context h;
	long a, b, c;

	if (sig_len > sizeof sig)
		return -1;
	a = base64url(header_json, strlen(header_json), out, cap);
	if (a < 0 || (size_t)a + 1 >= cap)
		return -1;
	out[a++] = '.';
	b = base64url(claims_json, strlen(claims_json), out + a, cap - (size_t)a);
	if (b < 0 || (size_t)(a + b) + 1 >= cap)
		return -1;
	br_sha256_init(&h);
	br_sha256_update(&h, out, (size_t)(a + b));
	br_sha256_out(&h, hash);
	if (!br_rsa_i31_pkcs1_sign(BR_HASH_OID_SHA256, hash, sizeof hash,
	    &k->sk, sig))
		return -1;
	out[a + b] = '.';
	c = base64url(sig, sig_len, out + a + b + 1, cap - (size_t)(a + b) - 1);
	return c < 0 ? -1 : a + b + 1 + c;
}
