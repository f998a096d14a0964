/* pem.c - PEM objects via br_pem_decoder (see pem.h). */
#include "pem.h"

#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#define LABEL_MAX 64

void pem_buf_append(void *ctx, const void *data, size_t len)
{
	struct pem_buf *d = ctx;

	if (d->overflow || len > PEM_DER_MAX - d->len) {
		d->overflow = true;
		return;
	}
	memcpy(d->p + d->len, data, len);
	d->len += len;
}

int pem_objects(const void *pem, size_t len, pem_object_fn fn, void *ud,
    const char **why)
{
	const unsigned char *p = pem;
	struct pem_buf der = { .p = malloc(PEM_DER_MAX) };
	br_pem_decoder_context pc;
	char label[LABEL_MAX] = "";
	int rc = 0;

	*why = NULL;
	if (der.p == NULL) {
		*why = "out of memory";
		return -1;
	}
	br_pem_decoder_init(&pc);
	while (len > 0 && rc == 0) {
		size_t used = br_pem_decoder_push(&pc, p, len);
		p += used;
		len -= used;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			strncpy(label, br_pem_decoder_name(&pc), sizeof label - 1);
			der.len = 0;
			der.overflow = false;
			br_pem_decoder_setdest(&pc, pem_buf_append, &der);
			break;
		case BR_PEM_END_OBJ:
			if (der.overflow) {
				*why = "PEM object larger than PEM_DER_MAX";
				rc = -1;
			} else {
				rc = fn(ud, label, der.p, der.len);
			}
			break;
		case BR_PEM_ERROR:
			*why = "PEM syntax error";
			rc = -1;
			break;
		default:
			break;
		}
	}
	free(der.p);
	return rc;
}
