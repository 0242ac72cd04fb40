/*
 * The entry codec of the store (docs/cache.md, "Entries"): a 104-byte header, then the
 * payload, zstd-compressed at the writer's level when that is smaller than the value (the
 * local store writes plain payloads: compressing cost more than the cold-store budget).
 *
 *   0  "pycstore"   8  u16 version   10 u16 compression (0 none, 1 zstd)   12 u32 zero
 *   16 key[32]      48 u64 stored length   56 u64 value length   64 u64 compile microseconds
 *   72 SHA-256 of the stored payload
 *
 * The file must be exactly header + stored length long, so truncation is caught before the
 * checksum; the key inside must be the key whose place the file holds.
 */
#include "store_internal.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

static const char entry_magic[8] = { 'p', 'y', 'c', 's', 't', 'o', 'r', 'e' };
#define ENTRY_VERSION 1
enum { COMP_NONE = 0, COMP_ZSTD = 1 };

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;
	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : PYC_ENOMEM;
}

/* Compress into out after its header room; false when zstd saves nothing. */
static bool try_compress(pyc_buf *out, const void *value, size_t len, int level)
{
	size_t bound = ZSTD_compressBound(len);

	if (level == 0 || len < 64 || pyc_buf_grow(out, bound) < 0)
		return false;
	size_t n = ZSTD_compress(out->ptr + out->len, bound, value, len, level);
	if (ZSTD_isError(n) || n >= len)
		return false;
	out->len += n;
	return true;
}

int pyc_store__encode_level(pyc_buf *out, const pyc_store_key *key, const void *value,
                            size_t len, double compile_seconds, int level)
{
	uint8_t h[STORE_HEADER_SIZE] = { 0 };
	double us = compile_seconds > 0 && isfinite(compile_seconds) ? compile_seconds * 1e6 : 0;

	pyc_buf_clear(out);
	if (pyc_buf_put(out, h, sizeof(h)) < 0)
		return PYC_ENOMEM;
	bool zstd = try_compress(out, value, len, level);
	if (!zstd && pyc_buf_put(out, value, len) < 0)
		return PYC_ENOMEM;
	memcpy(h, entry_magic, sizeof(entry_magic));
	put_le(h + 8, ENTRY_VERSION, 2);
	put_le(h + 10, zstd ? COMP_ZSTD : COMP_NONE, 2);
	memcpy(h + 16, key->bytes, 32);
	put_le(h + 48, out->len - sizeof(h), 8);
	put_le(h + 56, len, 8);
	put_le(h + 64, us < 1e18 ? (uint64_t)us : 0, 8);
	if (sha256(out->ptr + sizeof(h), out->len - sizeof(h), h + 72) < 0)
		return PYC_ENOMEM;
	memcpy(out->ptr, h, sizeof(h));
	return 0;
}

int pyc_store__encode(pyc_buf *out, const pyc_store_key *key, const void *value, size_t len,
                      double compile_seconds)
{
	return pyc_store__encode_level(out, key, value, len, compile_seconds, 1);
}

static int corrupt(pyc_error *err, const char *why)
{
	return pyc_error_set(err, PYC_EINVAL, 0, "corrupt store entry: %s", why);
}

static int unpack(const uint8_t *payload, size_t stored, uint64_t raw, unsigned comp,
                  pyc_buf *value, pyc_error *err)
{
	pyc_buf_clear(value);
	if (comp == COMP_NONE) {
		if (raw != stored)
			return corrupt(err, "length mismatch");
		return pyc_buf_put(value, payload, stored) < 0 ? PYC_ENOMEM : 0;
	}
	if (ZSTD_getFrameContentSize(payload, stored) != raw)
		return corrupt(err, "compressed length mismatch");
	if (pyc_buf_grow(value, raw) < 0)
		return PYC_ENOMEM;
	size_t n = ZSTD_decompress(value->ptr, raw, payload, stored);
	if (ZSTD_isError(n) || n != raw)
		return corrupt(err, "cannot decompress");
	value->len = n;
	value->ptr[n] = '\0';
	return 0;
}

int pyc_store__decode(const uint8_t *data, size_t len, const pyc_store_key *key,
                      pyc_buf *value, double *seconds, pyc_error *err)
{
	uint8_t sum[32];

	if (len < STORE_HEADER_SIZE)
		return corrupt(err, "truncated header");
	if (memcmp(data, entry_magic, sizeof(entry_magic)) != 0 || get_le(data + 8, 2) != ENTRY_VERSION)
		return corrupt(err, "unknown format");
	unsigned comp = (unsigned)get_le(data + 10, 2);
	uint64_t stored = get_le(data + 48, 8), raw = get_le(data + 56, 8);
	if (comp > COMP_ZSTD || get_le(data + 12, 4) != 0 || raw > STORE_ENTRY_MAX)
		return corrupt(err, "bad header");
	if (memcmp(data + 16, key->bytes, 32) != 0)
		return corrupt(err, "key does not match its place");
	if (stored != len - STORE_HEADER_SIZE)
		return corrupt(err, "truncated or overlong payload");
	if (sha256(data + STORE_HEADER_SIZE, stored, sum) < 0)
		return PYC_ENOMEM;
	if (memcmp(sum, data + 72, 32) != 0)
		return corrupt(err, "checksum mismatch");
	int rc = unpack(data + STORE_HEADER_SIZE, stored, raw, comp, value, err);
	if (rc == 0)
		*seconds = (double)get_le(data + 64, 8) / 1e6;
	return rc;
}

void pyc_store__entry_path(const pyc_store_key *key, char out[69])
{
	char hex[65];

	pyc_store_key_hex(key, hex);
	snprintf(out, 69, "%c/%c/%s", hex[0], hex[1], hex);
}
