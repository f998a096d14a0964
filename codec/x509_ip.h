/* x509_ip.h - does an X.509 certificate name an IP address?
 *
 * RFC 6125 / RFC 5280 4.2.1.6: an address is matched only against the
 * iPAddress entries (GeneralName [7], 4 or 16 octets) of the
 * subjectAltName extension, octet for octet.  A dNSName that reads like
 * the address never matches it, and neither does the subject's CN.
 *
 * One bounded, allocation-free walk over the DER of one certificate:
 * Certificate, tbsCertificate, [3] extensions, subjectAltName,
 * GeneralNames.  Only low tag numbers and definite, minimal lengths are
 * read; anything else is X509_IP_MALFORMED.  The walk does not check the
 * rest of the certificate (the chain validation does that).
 */
#ifndef X509_IP_H
#define X509_IP_H

#include <stddef.h>
#include <stdint.h>

/* Larger end-entity certificates are not read (X509_IP_TOO_LARGE). */
#define X509_IP_CERT_MAX 16384

enum x509_ip_result {
	X509_IP_MATCH,        /* an iPAddress entry holds exactly ip */
	X509_IP_NO_MATCH,     /* no subjectAltName, or no entry equal to ip */
	X509_IP_MALFORMED,    /* not DER as walked, or two subjectAltNames */
	X509_IP_TOO_LARGE,    /* over X509_IP_CERT_MAX bytes */
};

/* Matches cert[0..len) (one DER certificate, nothing after it) against
 * ip[0..ip_len), an IPv4 (4) or IPv6 (16) address in network order. */
enum x509_ip_result x509_ip_match(const uint8_t *cert, size_t len,
    const uint8_t *ip, size_t ip_len);

#endif
