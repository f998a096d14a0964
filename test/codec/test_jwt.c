/* test_jwt.c - base64url (RFC 4648 vectors), RSA keys from PKCS#8 and
 * PKCS#1 PEM (made by openssl at test time), RS256 tokens checked by an
 * independent verifier (python3-cryptography), caps and bad keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jwt.h"

#define PYTHON "/usr/bin/python3"

static char dir[] = "/tmp/test_jwtXXXXXX";

static void test_base64url_vectors(void **state)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba",
	    "foobar" };
	static const char *const out[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg",
	    "Zm9vYmE", "Zm9vYmFy" };
	static const unsigned char bin[] = { 0xfb, 0xff, 0xbf };
	char buf[16];

	(void)state;
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(base64url(in[i], strlen(in[i]), buf, sizeof buf),
		    strlen(out[i]));
		assert_string_equal(buf, out[i]);
	}
	assert_int_equal(base64url(bin, 3, buf, sizeof buf), 4);
	assert_string_equal(buf, "-_-_");   /* url alphabet, no padding */
	assert_int_equal(base64url("foobar", 6, buf, 8), -1);   /* 8 + NUL */
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static void load_key(struct jwt_key *k, const char *file)
{
	char path[128], pem[8192];
	const char *why;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	assert_int_equal(jwt_key_from_pem(k, pem, slurp(path, pem, sizeof pem),
	    &why), 0);
}

/* Signs, then has python3-cryptography verify with the public key. */
static void sign_and_verify(const char *keyfile)
{
	struct jwt_key k;
	char tok[2048], cmd[2048], path[128];
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	static const char claims[] = "{\"iss\":\"a@b\",\"exp\":1,\"x\":\"\\u00e9\"}";
	FILE *f;
	long n;

	load_key(&k, keyfile);
	n = jwt_sign_rs256(&k, header, claims, tok, sizeof tok);
	assert_true(n > 0);
	assert_int_equal(strlen(tok), (size_t)n);
	snprintf(path, sizeof path, "%s/token", dir);
	f = fopen(path, "w");
	fputs(tok, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, PYTHON " - '%s/%s' '%s' <<'EOF'\n"
	    "import base64, json, sys\n"
	    "from cryptography.hazmat.primitives import hashes, serialization\n"
	    "from cryptography.hazmat.primitives.asymmetric import padding\n"
	    "key = serialization.load_pem_private_key(open(sys.argv[1],'rb').read(), None)\n"
	    "h, c, s = open(sys.argv[2]).read().split('.')\n"
	    "d = lambda x: base64.urlsafe_b64decode(x + '=' * (-len(x) %% 4))\n"
	    "key.public_key().verify(d(s), (h + '.' + c).encode(), padding.PKCS1v15(), hashes.SHA256())\n"
	    "assert json.loads(d(h)) == {'alg': 'RS256', 'typ': 'JWT'}\n"
	    "assert json.loads(d(c))['x'] == '\\u00e9'\n"
	    "EOF", dir, keyfile, path);
	assert_int_equal(system(cmd), 0);
	/* Too small an output buffer: refused, not cut. */
	assert_int_equal(jwt_sign_rs256(&k, header, claims, tok, 100), -1);
	jwt_key_free(&k);
}

static void test_sign_pkcs8(void **state)
{
	(void)state;
	sign_and_verify("pkcs8.pem");
}

static void test_sign_pkcs1(void **state)
{
	(void)state;
	sign_and_verify("pkcs1.pem");
}

static void test_bad_keys(void **state)
{
	static const char no_key[] =
	    "no PRIVATE KEY or RSA PRIVATE KEY in the PEM";
	struct jwt_key k;
	char path[128], pem[8192];
	const char *why;
	size_t n;

	(void)state;
	assert_int_equal(jwt_key_from_pem(&k, "", 0, &why), -1);
	assert_string_equal(why, no_key);
	assert_int_equal(jwt_key_from_pem(&k, "not pem", 7, &why), -1);
	assert_string_equal(why, no_key);
	snprintf(path, sizeof path, "%s/ec.pem", dir);
	n = slurp(path, pem, sizeof pem);
	assert_int_equal(jwt_key_from_pem(&k, pem, n, &why), -1);  /* EC */
	assert_string_equal(why, "the private key is not a usable RSA key");
	snprintf(path, sizeof path, "%s/pkcs8.pem", dir);
	n = slurp(path, pem, sizeof pem);
	/* Cut short: no END line, no key. */
	assert_int_equal(jwt_key_from_pem(&k, pem, n / 2, &why), -1);
	assert_string_equal(why, no_key);
	/* A broken line inside an object is a syntax error. */
	static const char broken[] = "-----BEGIN PRIVATE KEY-----\n"
	    "MII=\n=x\n-----END PRIVATE KEY-----\n";
	assert_int_equal(jwt_key_from_pem(&k, broken, sizeof broken - 1, &why),
	    -1);
	assert_string_equal(why, "PEM syntax error");
}

static int make_keys(void **state)
{
	char cmd[512];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cmd, sizeof cmd, "cd %s && openssl genpkey -algorithm RSA "
	    "-pkeyopt rsa_keygen_bits:2048 -out pkcs8.pem 2>/dev/null && "
	    "openssl rsa -in pkcs8.pem -traditional -out pkcs1.pem 2>/dev/null && "
	    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
	    "-out ec.pem 2>/dev/null", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int remove_keys(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64url_vectors),
		cmocka_unit_test(test_sign_pkcs8),
		cmocka_unit_test(test_sign_pkcs1),
		cmocka_unit_test(test_bad_keys),
	};
	return cmocka_run_group_tests(tests, make_keys, remove_keys);
}
