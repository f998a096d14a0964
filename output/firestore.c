/* firestore.c - Firestore REST requests and tokens (see firestore.h). */
#include "firestore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonr.h"
#include "jwt.h"
#include "outbuf.h"

#define SA_FILE_MAX (64u << 10)
#define FIELD_MAX 512
#define TOKEN_MAX 4096
#define JWT_MAX 4096
#define TOKEN_LIFETIME_S 3600
#define TOKEN_MARGIN_MS 60000
#define DOC_ID_MAX 1500
#define SCOPE "https://www.googleapis.com/auth/datastore"
#define GRANT "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

struct firestore {
	struct jwt_key key;
	char email[FIELD_MAX];
	char key_id[FIELD_MAX];
	char token_uri[FIELD_MAX];
	struct url token_url;
	struct url commit_url;
	char doc_prefix[URL_PATH_MAX];  /* projects/P/databases/D/documents/C */
	char token[TOKEN_MAX];          /* secret */
	int64_t token_expiry_ms;
};

/* ---- service account ---- */

/* Safe to put between quotes in our JSON without escaping. */
static bool plain_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\')
			return false;
	return true;
}

static int sa_string(const char *json, size_t n, const char *key, char *out,
    size_t cap)
{
	long v = jsonr_member(json, n, 0, key);
	size_t len;

	return v < 0 || jsonr_string(json, n, (size_t)v, out, cap, &len) < 0 ?
	    -1 : 0;
}

/* NULL with *why when the file cannot be read or is too large. */
static char *read_small_file(const char *path, size_t *len, const char **why)
{
	char *buf = malloc(SA_FILE_MAX + 1);
	FILE *f = buf ? fopen(path, "re") : NULL;

	*len = 0;
	if (f == NULL) {
		*why = buf ? strerror(errno) : "out of memory";
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, SA_FILE_MAX + 1, f);
	fclose(f);
	if (*len > SA_FILE_MAX) {
		*why = "larger than 64 KB";
		free(buf);
		return NULL;
	}
	return buf;
}

/* The private key, decoded and then wiped from the JSON copy.  Returns
 * what failed, or NULL; *detail may add why (the key's PEM, or errno). */
static const char *load_account(struct firestore *f, const char *path,
    const char **detail)
{
	size_t n;
	char *json = read_small_file(path, &n, detail);
	char *pem = malloc(SA_FILE_MAX);
	const char *fail = NULL;

	if (json == NULL)
		fail = "cannot read the service-account file";
	else if (pem == NULL)
		fail = "out of memory";
	else if (sa_string(json, n, "client_email", f->email, sizeof f->email)
	    || !plain_text(f->email))
		fail = "service-account file: no usable client_email";
	else if (sa_string(json, n, "private_key", pem, SA_FILE_MAX) != 0 ||
	    jwt_key_from_pem(&f->key, pem, strlen(pem), detail) != 0)
		fail = "service-account file: no usable RSA private_key";
	else if (sa_string(json, n, "private_key_id", f->key_id,
	    sizeof f->key_id) != 0 || !plain_text(f->key_id))
		f->key_id[0] = '\0';
	if (fail == NULL && (sa_string(json, n, "token_uri", f->token_uri,
	    sizeof f->token_uri) != 0))
		snprintf(f->token_uri, sizeof f->token_uri,
		    "https://oauth2.googleapis.com/token");
	if (fail == NULL && (!plain_text(f->token_uri) ||
	    url_parse(f->token_uri, &f->token_url) != 0))
		fail = "service-account file: bad token_uri";
	if (json != NULL)
		memset(json, 0, n);
	if (pem != NULL)
		memset(pem, 0, SA_FILE_MAX);
	free(json);
	free(pem);
	return fail;
}

/* ".../v1/projects/P/databases/D/documents/C" -> commit URL and the
 * document name prefix. */
static const char *derive_urls(struct firestore *f, const struct url *u)
{
	const char *path = u->path, *docs = NULL, *q;
	static const char marker[] = "/documents/";
	const char *slash = strchr(path + 1, '/');

	for (q = strstr(path, marker); q != NULL; q = strstr(q + 1, marker))
		docs = q;
	if (docs == NULL || slash == NULL || strchr(path, '?') != NULL ||
	    docs[sizeof marker - 1] == '\0' ||
	    strchr(docs + sizeof marker - 1, '/') != NULL)
		return "--export-url must end in .../documents/COLLECTION";
	f->commit_url = *u;
	snprintf(f->commit_url.path, sizeof f->commit_url.path, "%.*s:commit",
	    (int)(docs - path + sizeof marker - 2), path);
	snprintf(f->doc_prefix, sizeof f->doc_prefix, "%s", slash + 1);
	return plain_text(f->doc_prefix) ? NULL : "bad collection path";
}

struct firestore *firestore_new(const char *credentials_path,
    const struct url *collection_url, char *why, size_t why_len)
{
	struct firestore *f = calloc(1, sizeof *f);
	const char *fail, *detail = NULL;

	if (f == NULL)
		fail = "out of memory";
	else if (credentials_path == NULL)
		fail = "--export-credentials is required";
	else if ((fail = derive_urls(f, collection_url)) == NULL)
		fail = load_account(f, credentials_path, &detail);
	if (fail == NULL)
		return f;
	snprintf(why, why_len, "%s%s%s", fail, detail ? ": " : "",
	    detail ? detail : "");
	firestore_free(f);
	return NULL;
}

void firestore_free(struct firestore *f)
{
	if (f == NULL)
		return;
	jwt_key_free(&f->key);
	memset(f->token, 0, sizeof f->token);
	free(f);
}

/* ---- token ---- */

const struct url *firestore_token_url(const struct firestore *f)
{
	return &f->token_url;
}

const struct url *firestore_commit_url(const struct firestore *f)
{
	return &f->commit_url;
}

bool firestore_token_valid(const struct firestore *f, int64_t now_unix_ms)
{
	return f->token[0] != '\0' && now_unix_ms < f->token_expiry_ms;
}

void firestore_token_drop(struct firestore *f)
{
	memset(f->token, 0, sizeof f->token);
}

long firestore_token_body(struct firestore *f, char *out, size_t cap,
    int64_t now_unix_s)
{
	char header[FIELD_MAX + 64], claims[3 * FIELD_MAX + 160];
	static const char prefix[] = "grant_type=" GRANT "&assertion=";
	long n;

	if (f->key_id[0])
		snprintf(header, sizeof header,
		    "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", f->key_id);
	else
		snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
	snprintf(claims, sizeof claims, "{\"iss\":\"%s\",\"scope\":\"" SCOPE
	    "\",\"aud\":\"%s\",\"iat\":%lld,\"exp\":%lld}", f->email,
	    f->token_uri, (long long)now_unix_s,
	    (long long)(now_unix_s + TOKEN_LIFETIME_S));
	if (cap < sizeof prefix)
		return -1;
	memcpy(out, prefix, sizeof prefix - 1);
	n = jwt_sign_rs256(&f->key, header, claims, out + sizeof prefix - 1,
	    cap - sizeof prefix + 1);
	return n < 0 ? -1 : n + (long)sizeof prefix - 1;
}

int firestore_token_parse(struct firestore *f, const char *body, size_t len,
    int64_t now_unix_ms)
{
	long v = jsonr_member(body, len, 0, "expires_in");
	size_t tlen;
	long long secs = 0;

	if (v < 0 || sscanf(body + v, "%lld", &secs) != 1 || secs <= 0 ||
	    sa_string(body, len, "access_token", f->token, sizeof f->token) != 0)
		goto bad;
	tlen = strlen(f->token);
	for (size_t i = 0; i < tlen; i++)   /* it goes into a header line */
		if (f->token[i] <= ' ' || f->token[i] == 0x7f)
			goto bad;
	if (tlen == 0)
		goto bad;
	f->token_expiry_ms = now_unix_ms + secs * 1000 - TOKEN_MARGIN_MS;
	return 0;
bad:
	firestore_token_drop(f);
	return -1;
}

int firestore_auth_header(const struct firestore *f, char *out, size_t cap)
{
	int n = snprintf(out, cap, "Authorization: Bearer %s\r\n", f->token);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- commit body ---- */


static void puts_(struct outbuf *o, const char *s)
{
	outbuf_put(o, s, strlen(s));
}

static long put_value(struct outbuf *o, const char *p, size_t n, size_t i,
    int depth);

/* The object at i as {"k":Value,...} or the array as [Value,...]; index
 * after it. */
static long put_members(struct outbuf *o, const char *p, size_t n, size_t i,
    int depth, bool object)
{
	char close = object ? '}' : ']';

	puts_(o, object ? "{" : "[");
	i = jsonr_ws(p, n, i + 1);
	while (i < n && p[i] != close) {
		long next;
		if (object) {
			next = jsonr_string(p, n, i, NULL, 0, NULL);
			if (next < 0)
				return -1;
			outbuf_put(o, p + i, (size_t)next - i);
			puts_(o, ":");
			i = jsonr_ws(p, n, (size_t)next);
			if (i >= n || p[i] != ':')
				return -1;
			i++;
		}
		next = put_value(o, p, n, i, depth + 1);
		if (next < 0)
			return -1;
		i = jsonr_ws(p, n, (size_t)next);
		if (i < n && p[i] == ',') {
			puts_(o, ",");
			i = jsonr_ws(p, n, i + 1);
		} else if (i >= n || p[i] != close) {
			return -1;
		}
	}
	if (i >= n)
		return -1;
	puts_(o, object ? "}" : "]");
	return (long)i + 1;
}

static bool is_float(const char *p, size_t n)
{
	return memchr(p, '.', n) || memchr(p, 'e', n) || memchr(p, 'E', n);
}

/* One JSON value as a Firestore Value; index after it. */
static long put_value(struct outbuf *o, const char *p, size_t n, size_t i,
    int depth)
{
	const char *open, *close = "}";
	long end;

	i = jsonr_ws(p, n, i);
	if (i >= n || depth > JSONR_DEPTH_MAX)
		return -1;
	if (p[i] == '{' || p[i] == '[') {
		puts_(o, p[i] == '{' ? "{\"mapValue\":{\"fields\":" :
		    "{\"arrayValue\":{\"values\":");
		end = put_members(o, p, n, i, depth, p[i] == '{');
		puts_(o, "}}");
		return end;
	}
	end = jsonr_skip(p, n, i);
	if (end < 0)
		return -1;
	if (p[i] == '"') {
		open = "{\"stringValue\":";
	} else if (p[i] == 't' || p[i] == 'f') {
		open = "{\"booleanValue\":";
	} else if (p[i] == 'n') {
		open = "{\"nullValue\":";
	} else if (is_float(p + i, (size_t)end - i)) {
		open = "{\"doubleValue\":";
	} else {   /* int64 travels as a decimal string */
		open = "{\"integerValue\":\"";
		close = "\"}";
	}
	puts_(o, open);
	outbuf_put(o, p + i, (size_t)end - i);
	puts_(o, close);
	return end;
}

static bool doc_id_ok(const char *id, size_t len)
{
	if (len == 0 || len > DOC_ID_MAX || strcmp(id, ".") == 0 ||
	    strcmp(id, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') || id[i] == '-' ||
		    id[i] == '_' || id[i] == '.'))
			return false;
	return true;
}

/* {"update":{"name":".../ID","fields":{...}}} for one line. */
static int put_write(struct outbuf *o, const struct firestore *f,
    const char *line, size_t n)
{
	char id[DOC_ID_MAX + 1];
	size_t id_len;
	long v = jsonr_member(line, n, 0, "event_id");
	size_t start = jsonr_ws(line, n, 0);

	if (v < 0 || start >= n || line[start] != '{' ||
	    jsonr_string(line, n, (size_t)v, id, sizeof id, &id_len) < 0 ||
	    !doc_id_ok(id, id_len))
		return -1;
	puts_(o, "{\"update\":{\"name\":\"");
	puts_(o, f->doc_prefix);
	puts_(o, "/");
	puts_(o, id);
	puts_(o, "\",\"fields\":");
	long end = put_members(o, line, n, start, 0, true);
	if (end < 0 || jsonr_ws(line, n, (size_t)end) != n)
		return -1;
	puts_(o, "}}");
	return 0;
}

long firestore_commit_body(const struct firestore *f, char *out, size_t cap,
    const char *lines, size_t len)
{
	struct outbuf o = { (unsigned char *)out, cap, 0, false };
	bool first = true;

	puts_(&o, "{\"writes\":[");
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(lines + i, '\n', len - i);
		size_t n = (nl ? (size_t)(nl - lines) : len) - i;
		if (jsonr_ws(lines + i, n, 0) < n) {   /* blank: skipped */
			if (!first)
				puts_(&o, ",");
			if (put_write(&o, f, lines + i, n) != 0)
				return -1;
			first = false;
		}
		i += n + 1;
	}
	puts_(&o, "]}");
	return o.overflow ? -1 : (long)o.len;
}
