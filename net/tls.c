/* tls.c - non-blocking BearSSL client (see tls.h). */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pem.h"

#define PEM_FILE_MAX (4u << 20)
#define SEED_BYTES 32

/* ---- trust anchors ---- */

static void *dup_bytes(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);

	if (q != NULL)
		memcpy(q, p, n);
	return q;
}

/* Copies the decoded key into the anchor; false when out of memory. */
static bool copy_key(br_x509_trust_anchor *ta, const br_x509_pkey *k)
{
	ta->pkey.key_type = k->key_type;
	if (k->key_type == BR_KEYTYPE_RSA) {
		ta->pkey.key.rsa.nlen = k->key.rsa.nlen;
		ta->pkey.key.rsa.elen = k->key.rsa.elen;
		ta->pkey.key.rsa.n = dup_bytes(k->key.rsa.n, k->key.rsa.nlen);
		ta->pkey.key.rsa.e = dup_bytes(k->key.rsa.e, k->key.rsa.elen);
		return ta->pkey.key.rsa.n && ta->pkey.key.rsa.e;
	}
	ta->pkey.key.ec.curve = k->key.ec.curve;
	ta->pkey.key.ec.qlen = k->key.ec.qlen;
	ta->pkey.key.ec.q = dup_bytes(k->key.ec.q, k->key.ec.qlen);
	return ta->pkey.key.ec.q != NULL;
}

static void free_anchor(br_x509_trust_anchor *ta)
{
	free(ta->dn.data);
	if (ta->pkey.key_type == BR_KEYTYPE_RSA) {
		free(ta->pkey.key.rsa.n);
		free(ta->pkey.key.rsa.e);
	} else {
		free(ta->pkey.key.ec.q);
	}
}

/* pem_object_fn: decodes one certificate into a new anchor; ones
 * BearSSL cannot use (unsupported key, bad encoding) are skipped. */
static int add_anchor(void *ud, const char *label, const unsigned char *der,
    size_t len)
{
	struct tls_anchors *a = ud;
	br_x509_decoder_context dc;
	struct pem_buf dn = { .p = NULL };
	br_x509_trust_anchor *ta;
	const br_x509_pkey *k;

	if (strcmp(label, "CERTIFICATE") != 0 || a->n == TLS_ANCHORS_MAX)
		return 0;
	if ((dn.p = malloc(PEM_DER_MAX)) == NULL)
		return -1;
	br_x509_decoder_init(&dc, pem_buf_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	k = br_x509_decoder_get_pkey(&dc);
	if (k == NULL || dn.overflow) {
		free(dn.p);
		return 0;
	}
	ta = &a->ta[a->n];
	memset(ta, 0, sizeof *ta);
	ta->dn.data = dn.p;
	ta->dn.len = dn.len;
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	if (!copy_key(ta, k)) {
		free_anchor(ta);
		return -1;
	}
	a->n++;
	return 0;
}

/* The whole file in a new buffer; NULL with *why set when it is too
 * large, NULL with errno when a system call failed. */
static unsigned char *read_file(const char *path, size_t *len,
    const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	unsigned char *buf = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (st.st_size > (off_t)PEM_FILE_MAX) {
		*why = "larger than the 4 MB a CA bundle may have";
		goto fail;
	}
	*len = (size_t)st.st_size;
	if ((buf = malloc(*len + 1)) == NULL)
		goto fail;
	if (read(fd, buf, *len) != (ssize_t)*len) {
		*why = "file changed while it was read";
		goto fail;
	}
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

int tls_anchors_load(struct tls_anchors *a, const char *pem_path,
    const char **why)
{
	size_t len;
	unsigned char *pem;
	int rc = -1;

	*why = NULL;
	a->n = 0;
	if ((a->ta = calloc(TLS_ANCHORS_MAX, sizeof *a->ta)) == NULL)
		return -1;
	if ((pem = read_file(pem_path, &len, why)) != NULL)
		rc = pem_objects(pem, len, add_anchor, a, why);
	free(pem);
	if (rc == 0 && a->n == 0) {
		*why = "no usable CERTIFICATE in the file";
		rc = -1;
	}
	if (rc != 0) {
		int saved = errno;
		tls_anchors_free(a);
		errno = saved;
	}
	return rc;
}

void tls_anchors_free(struct tls_anchors *a)
{
	for (size_t i = 0; i < a->n; i++)
		free_anchor(&a->ta[i]);
	free(a->ta);
	a->ta = NULL;
	a->n = 0;
}

/* ---- engine ---- */

/* Forward secrecy and AEAD only; TLS 1.2 has them all. */
static const uint16_t suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};

static const br_hash_class *const hashes[] = {
	&br_sha1_vtable, &br_sha224_vtable, &br_sha256_vtable,
	&br_sha384_vtable, &br_sha512_vtable,
};

static void configure_engine(struct tls_conn *t, const struct tls_anchors *a)
{
	br_ssl_engine_context *e = &t->cc.eng;

	br_ssl_client_zero(&t->cc);
	br_ssl_engine_set_versions(e, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(e, suites, sizeof suites / sizeof suites[0]);
	br_ssl_engine_set_ec(e, &br_ec_all_m31);
	br_ssl_engine_set_rsavrfy(e, br_rsa_i31_pkcs1_vrfy);
	br_ssl_engine_set_ecdsa(e, br_ecdsa_i31_vrfy_asn1);
	br_x509_minimal_init(&t->xc, &br_sha256_vtable, a->ta, a->n);
	br_x509_minimal_set_rsa(&t->xc, br_rsa_i31_pkcs1_vrfy);
	br_x509_minimal_set_ecdsa(&t->xc, &br_ec_all_m31,
	    br_ecdsa_i31_vrfy_asn1);
	for (size_t i = 0; i < sizeof hashes / sizeof hashes[0]; i++) {
		int id = (int)(hashes[i]->desc >> BR_HASHDESC_ID_OFF &
		    BR_HASHDESC_ID_MASK);
		br_ssl_engine_set_hash(e, id, hashes[i]);
		br_x509_minimal_set_hash(&t->xc, id, hashes[i]);
	}
	br_ssl_engine_set_x509(e, &t->xc.vtable);
	br_ssl_engine_set_prf_sha256(e, br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(e, br_tls12_sha384_prf);
	/* Portable constant-time code: the same on x86_64 and arm64. */
	br_ssl_engine_set_gcm(e, &br_sslrec_in_gcm_vtable,
	    &br_sslrec_out_gcm_vtable);
	br_ssl_engine_set_aes_ctr(e, &br_aes_ct64_ctr_vtable);
	br_ssl_engine_set_ghash(e, br_ghash_ctmul64);
	br_ssl_engine_set_chapol(e, &br_sslrec_in_chapol_vtable,
	    &br_sslrec_out_chapol_vtable);
	br_ssl_engine_set_chacha20(e, br_chacha20_ct_run);
	br_ssl_engine_set_poly1305(e, br_poly1305_ctmul_run);
	br_ssl_engine_set_buffer(e, t->iobuf, sizeof t->iobuf, 1);
}

/* ---- IP address hosts: br_x509_minimal behind an iPAddress check ---- */

/* ctx points at the vtable field, the first one. */
static struct tls_ip_check *ip_check(const br_x509_class **ctx)
{
	return (struct tls_ip_check *)(void *)ctx;
}

static const br_x509_class **chain_of(struct tls_ip_check *c)
{
	return &c->chain->vtable;
}

static void ip_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct tls_ip_check *c = ip_check(ctx);

	(void)server_name;   /* "": no SNI was sent */
	c->certs = 0;
	c->ee_len = 0;
	c->ee_too_large = false;
	c->why[0] = '\0';
	/* No name: BearSSL would match it against dNSName and CN only. */
	c->chain->vtable->start_chain(chain_of(c), NULL);
}

static void ip_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct tls_ip_check *c = ip_check(ctx);

	if (c->certs == 0 && length > sizeof c->ee)
		c->ee_too_large = true;
	c->chain->vtable->start_cert(chain_of(c), length);
}

/* The end-entity certificate comes first; its bytes are kept. */
static void ip_append(const br_x509_class **ctx, const unsigned char *buf,
    size_t len)
{
	struct tls_ip_check *c = ip_check(ctx);

	if (c->certs == 0 && !c->ee_too_large) {
		if (len > sizeof c->ee - c->ee_len) {
			c->ee_too_large = true;
		} else {
			memcpy(c->ee + c->ee_len, buf, len);
			c->ee_len += len;
		}
	}
	c->chain->vtable->append(chain_of(c), buf, len);
}

static void ip_end_cert(const br_x509_class **ctx)
{
	struct tls_ip_check *c = ip_check(ctx);

	c->certs++;
	c->chain->vtable->end_cert(chain_of(c));
}

/* A chain error first; then the address must be an iPAddress SAN. */
static unsigned ip_end_chain(const br_x509_class **ctx)
{
	struct tls_ip_check *c = ip_check(ctx);
	unsigned err = c->chain->vtable->end_chain(chain_of(c));
	enum x509_ip_result r;

	if (err != 0)
		return err;
	r = c->ee_too_large ? X509_IP_TOO_LARGE :
	    x509_ip_match(c->ee, c->ee_len, c->ip, c->ip_len);
	switch (r) {
	case X509_IP_MATCH:
		return 0;
	case X509_IP_NO_MATCH:
		snprintf(c->why, sizeof c->why,
		    "certificate has no iPAddress SAN matching %s", c->ip_text);
		break;
	case X509_IP_MALFORMED:
		snprintf(c->why, sizeof c->why, "certificate extensions "
		    "unreadable: no iPAddress SAN check for %s", c->ip_text);
		break;
	case X509_IP_TOO_LARGE:
		snprintf(c->why, sizeof c->why, "certificate over %d bytes: "
		    "no iPAddress SAN check for %s", X509_IP_CERT_MAX, c->ip_text);
		return BR_ERR_X509_LIMIT_EXCEEDED;
	}
	return BR_ERR_X509_BAD_SERVER_NAME;
}

static const br_x509_pkey *ip_get_pkey(const br_x509_class *const *ctx,
    unsigned *usages)
{
	const struct tls_ip_check *c = (const void *)ctx;

	return c->chain->vtable->get_pkey(
	    (const br_x509_class *const *)&c->chain->vtable, usages);
}

static const br_x509_class ip_check_vtable = {
	.context_size = sizeof(struct tls_ip_check),
	.start_chain = ip_start_chain,
	.start_cert = ip_start_cert,
	.append = ip_append,
	.end_cert = ip_end_cert,
	.end_chain = ip_end_chain,
	.get_pkey = ip_get_pkey,
};

/* If host is an IP address literal (as the dialer reads it), sets up
 * the check for it in front of t->xc; false for a name. */
static bool check_ip_host(struct tls_conn *t, const char *host)
{
	struct tls_ip_check *c = &t->ipc;
	int af = inet_pton(AF_INET, host, c->ip) == 1 ? AF_INET :
	    inet_pton(AF_INET6, host, c->ip) == 1 ? AF_INET6 : AF_UNSPEC;

	if (af == AF_UNSPEC)
		return false;
	c->vtable = &ip_check_vtable;
	c->chain = &t->xc;
	c->ip_len = af == AF_INET ? 4 : 16;
	inet_ntop(af, c->ip, c->ip_text, sizeof c->ip_text);
	c->why[0] = '\0';
	br_ssl_engine_set_x509(&t->cc.eng, &c->vtable);
	return true;
}

int tls_start(struct tls_conn *t, const struct tls_anchors *a,
    const char *host)
{
	unsigned char seed[SEED_BYTES];

	configure_engine(t, a);
	t->ip_host = check_ip_host(t, host);
	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		return -1;
	br_ssl_engine_inject_entropy(&t->cc.eng, seed, sizeof seed);
	memset(seed, 0, sizeof seed);
	return br_ssl_client_reset(&t->cc, t->ip_host ? NULL : host, 0) ? 0 :
	    -1;
}

static bool would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

/* Moves records: sends what the engine has, reads while it wants more,
 * until the socket would block.  -1 on a socket error or peer EOF
 * before the engine closed (errno ECONNRESET for the latter). */
static int pump(struct tls_conn *t, int fd)
{
	br_ssl_engine_context *e = &t->cc.eng;
	bool send_blocked = false;

	for (;;) {
		unsigned st = br_ssl_engine_current_state(e);
		unsigned char *buf;
		size_t len;
		ssize_t n;

		if (st & BR_SSL_CLOSED)
			return 0;
		if ((st & BR_SSL_SENDREC) && !send_blocked) {
			buf = br_ssl_engine_sendrec_buf(e, &len);
			n = send(fd, buf, len, MSG_NOSIGNAL);
			if (n > 0) {
				br_ssl_engine_sendrec_ack(e, (size_t)n);
				continue;
			}
			if (n < 0 && !would_block())
				return -1;
			send_blocked = true;
		}
		if (!(st & BR_SSL_RECVREC))
			return 0;
		buf = br_ssl_engine_recvrec_buf(e, &len);
		n = recv(fd, buf, len, 0);
		if (n > 0) {
			br_ssl_engine_recvrec_ack(e, (size_t)n);
			continue;
		}
		if (n == 0)
			errno = ECONNRESET;
		return n < 0 && would_block() ? 0 : -1;
	}
}

/* -1 with a fitting errno once the engine closed: EPROTO on a TLS error
 * (see tls_error), else 0 = closed cleanly. */
static int closed_status(const struct tls_conn *t)
{
	if (br_ssl_engine_last_error(&t->cc.eng) == BR_ERR_OK)
		return 0;
	errno = EPROTO;
	return -1;
}

ssize_t tls_send(struct tls_conn *t, int fd, const void *p, size_t n)
{
	br_ssl_engine_context *e = &t->cc.eng;
	unsigned char *buf;
	size_t room;

	if (pump(t, fd) != 0)
		return -1;
	unsigned st = br_ssl_engine_current_state(e);
	if (st & BR_SSL_CLOSED)
	{
		if (closed_status(t) == 0)
			errno = EPIPE;
		return -1;
	}
	if (!(st & BR_SSL_SENDAPP))
		return 0;
	buf = br_ssl_engine_sendapp_buf(e, &room);
	if (room > n)
		room = n;
	memcpy(buf, p, room);
	br_ssl_engine_sendapp_ack(e, room);
	br_ssl_engine_flush(e, 0);
	return pump(t, fd) != 0 ? -1 : (ssize_t)room;
}

ssize_t tls_recv(struct tls_conn *t, int fd, void *p, size_t cap)
{
	br_ssl_engine_context *e = &t->cc.eng;
	unsigned char *buf;
	size_t len;
	int pumped = pump(t, fd);
	unsigned st = br_ssl_engine_current_state(e);

	if (st & BR_SSL_RECVAPP) {
		buf = br_ssl_engine_recvapp_buf(e, &len);
		if (len > cap)
			len = cap;
		memcpy(p, buf, len);
		br_ssl_engine_recvapp_ack(e, len);
		return (ssize_t)len;
	}
	if (st & BR_SSL_CLOSED)
		return closed_status(t);
	/* EOF without close_notify: the HTTP framing decides if that lost
	 * anything, as with plain TCP. */
	if (pumped != 0)
		return errno == ECONNRESET ? 0 : -1;
	errno = EAGAIN;
	return -1;
}

short tls_events(const struct tls_conn *t)
{
	unsigned st = br_ssl_engine_current_state(&t->cc.eng);
	short ev = 0;

	if (st & BR_SSL_SENDREC)
		ev |= POLLOUT;
	if (st & BR_SSL_RECVREC)
		ev |= POLLIN;
	return ev;
}

int tls_error(const struct tls_conn *t)
{
	return br_ssl_engine_last_error(&t->cc.eng);
}

const char *tls_error_text(const struct tls_conn *t)
{
	int err = tls_error(t);

	if (err != BR_ERR_OK && t->ip_host && t->ipc.why[0] != '\0')
		return t->ipc.why;
	switch (err) {
	case BR_ERR_OK:
		return "no error";
	case BR_ERR_X509_NOT_TRUSTED:
		return "certificate not trusted (unknown CA)";
	case BR_ERR_X509_BAD_SERVER_NAME:
		return "certificate does not match the host name";
	case BR_ERR_X509_EXPIRED:
		return "certificate expired or not yet valid";
	case BR_ERR_X509_NOT_CA:
		return "chain includes a non-CA issuer";
	case BR_ERR_UNSUPPORTED_VERSION:
	case BR_ERR_BAD_VERSION:
		return "server does not speak TLS 1.2";
	case BR_ERR_BAD_CIPHER_SUITE:
		return "no common cipher suite";
	case BR_ERR_NO_RANDOM:
		return "no entropy";
	}
	if (err >= BR_ERR_SEND_FATAL_ALERT)
		return "we sent a fatal alert";
	if (err >= BR_ERR_RECV_FATAL_ALERT)
		return "server sent a fatal alert";
	if (err >= BR_ERR_X509_OK)
		return "certificate rejected";
	return "protocol error";
}
