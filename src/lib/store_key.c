/*
 * The store key: SHA-256 (OpenSSL EVP) over a schema version and length-prefixed fields,
 * so that ("ab", "c") and ("a", "bc") never hash the same input. A cryptographic hash
 * because a shared store must resist crafted collisions (issue #11).
 */
#include "pyc/store.h"

#include <openssl/evp.h>

static void put_u64(EVP_MD_CTX *ctx, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	EVP_DigestUpdate(ctx, le, sizeof(le));
}

int pyc_store_key_init(pyc_store_keyer *k)
{
	static const char tag[] = "pyc-tool store key";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	k->ctx = ctx;
	k->rc = 0;
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		pyc_store_key_dispose(k);
		return k->rc = PYC_ENOMEM;
	}
	pyc_store_key_add(k, tag, sizeof(tag) - 1);
	pyc_store_key_add_u64(k, PYC_STORE_KEY_SCHEMA);
	return 0;
}

void pyc_store_key_add(pyc_store_keyer *k, const void *data, size_t len)
{
	if (!k->ctx)
		return;
	put_u64(k->ctx, data ? (uint64_t)len : UINT64_MAX);
	if (data && len && EVP_DigestUpdate(k->ctx, data, len) != 1)
		k->rc = PYC_ENOMEM;
}

void pyc_store_key_add_u64(pyc_store_keyer *k, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pyc_store_key_add(k, le, sizeof(le));
}

int pyc_store_key_final(pyc_store_keyer *k, pyc_store_key *out)
{
	unsigned int n = 0;
	int rc = k->rc;

	if (!k->ctx && rc == 0)
		rc = PYC_ENOMEM;
	if (rc == 0 && (EVP_DigestFinal_ex(k->ctx, out->bytes, &n) != 1 || n != sizeof(out->bytes)))
		rc = PYC_ENOMEM;
	pyc_store_key_dispose(k);
	return rc;
}

void pyc_store_key_dispose(pyc_store_keyer *k)
{
	EVP_MD_CTX_free(k->ctx);
	k->ctx = NULL;
}

void pyc_store_key_hex(const pyc_store_key *key, char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < sizeof(key->bytes); i++) {
		out[2 * i] = digits[key->bytes[i] >> 4];
		out[2 * i + 1] = digits[key->bytes[i] & 15];
	}
	out[64] = '\0';
}
