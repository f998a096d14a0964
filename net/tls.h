/* tls.h - a TLS 1.2 client on BearSSL's engine, driven by the caller's
 * poll() loop: never blocks, never uses the br_sslio helpers.
 *
 * Certificates are checked against trust anchors read from a PEM bundle
 * (chain, and a host name, by br_x509_minimal; an IP address host by
 * x509_ip on the end-entity certificate); the engine is seeded from
 * getrandom().  Only ECDHE suites with AES-GCM or ChaCha20-Poly1305, so
 * only those primitives are linked in.
 */
#ifndef TLS_H
#define TLS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <bearssl.h>

#include "x509_ip.h"

#define TLS_ANCHORS_MAX 1024

struct tls_anchors {
	br_x509_trust_anchor *ta;
	size_t n;
};

/* Reads every CERTIFICATE in a PEM file (at most TLS_ANCHORS_MAX, each
 * at most 64 KB of PEM).  0 on success.  -1 on failure, with *why the
 * reason when the file's content is the problem (too large, PEM syntax,
 * no usable certificate), or *why NULL and errno when reading it failed. */
int tls_anchors_load(struct tls_anchors *a, const char *pem_path,
    const char **why);
void tls_anchors_free(struct tls_anchors *a);

/* The x509 class the engine sees for an IP address host: it forwards
 * every call to br_x509_minimal (chain and anchors, no name) and keeps
 * the end-entity certificate, whose iPAddress names end_chain checks. */
struct tls_ip_check {
	const br_x509_class *vtable;
	br_x509_minimal_context *chain;
	uint8_t ip[16];
	size_t ip_len;                /* 4 or 16 */
	char ip_text[INET6_ADDRSTRLEN];
	unsigned certs;               /* started in this chain */
	uint8_t ee[X509_IP_CERT_MAX];
	size_t ee_len;
	bool ee_too_large;
	char why[128];                /* "": not refused by this check */
};

struct tls_conn {
	br_ssl_client_context cc;
	br_x509_minimal_context xc;
	bool ip_host;
	struct tls_ip_check ipc;
	unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];
};

/* Prepares a handshake with `host`.  A name is sent as SNI and checked
 * by BearSSL (dNSName SANs, else the CN).  An IP address literal is sent
 * as no SNI (RFC 6066) and must be an iPAddress SAN of the certificate
 * (RFC 6125; see x509_ip.h).  0, or -1 (no entropy). */
int tls_start(struct tls_conn *t, const struct tls_anchors *a,
    const char *host);

/* Plaintext in and out.  Both also move records between the engine and
 * the non-blocking socket fd.  tls_send returns the bytes taken (0 when
 * the engine is busy); tls_recv the bytes read, 0 once the peer closed.
 * -1 with errno EAGAIN means wait for tls_events(); any other -1 is fatal
 * (tls_error() tells why). */
ssize_t tls_send(struct tls_conn *t, int fd, const void *p, size_t n);
ssize_t tls_recv(struct tls_conn *t, int fd, void *p, size_t cap);

/* POLLIN and/or POLLOUT the engine waits for. */
short tls_events(const struct tls_conn *t);

/* BearSSL error code (0: none) and a short text for operator logs: for
 * an IP address host, why its certificate was refused, naming the
 * address. */
int tls_error(const struct tls_conn *t);
const char *tls_error_text(const struct tls_conn *t);

#endif
