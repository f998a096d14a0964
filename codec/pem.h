/* pem.h - the objects of a PEM file (RFC 7468), decoded by BearSSL. */
#ifndef PEM_H
#define PEM_H

#include <stdbool.h>
#include <stddef.h>

#define PEM_DER_MAX (64u << 10)   /* one object, decoded */

/* A BearSSL output sink into p (PEM_DER_MAX bytes); overflow sticks. */
struct pem_buf {
	unsigned char *p;
	size_t len;
	bool overflow;
};
void pem_buf_append(void *pem_buf, const void *data, size_t len);

/* Called for each object with its label ("CERTIFICATE", "PRIVATE KEY")
 * and DER bytes; a non-zero return stops the walk and is returned. */
typedef int (*pem_object_fn)(void *ud, const char *label,
    const unsigned char *der, size_t len);

/* 0 after the last object; -1 with *why the reason on a PEM syntax error,
 * an object over PEM_DER_MAX or no memory; or what fn returned, with
 * *why NULL (fn keeps its own reasons). */
int pem_objects(const void *pem, size_t len, pem_object_fn fn, void *ud,
    const char **why);

#endif
