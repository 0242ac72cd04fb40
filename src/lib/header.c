/*
 * header.c - decode and encode .pyc headers (include/pyc/header.h).
 *
 * Layouts (docs/pyc-format.md section 2), all fields unsigned 32-bit little-endian:
 *   8 bytes  (2.x, 3.0-3.2):  magic | mtime
 *   12 bytes (3.3-3.6):       magic | mtime | size
 *   16 bytes (3.7+, PEP 552): magic | flags | mtime | size   or   magic | flags | hash[8]
 */
#include "pyc/header.h"

#include <string.h>

#define FLAG_HASH_BASED 0x1u
#define FLAG_CHECK_SOURCE 0x2u

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static const char *const invalidation_names[] = {
	[PYC_INVALIDATION_TIMESTAMP] = "timestamp",
	[PYC_INVALIDATION_CHECKED_HASH] = "checked-hash",
	[PYC_INVALIDATION_UNCHECKED_HASH] = "unchecked-hash",
};

const char *pyc_invalidation_name(enum pyc_invalidation mode)
{
	if ((unsigned)mode < sizeof(invalidation_names) / sizeof(invalidation_names[0]))
		return invalidation_names[mode];
	return "unknown";
}

int pyc_invalidation_parse(enum pyc_invalidation *out, const char *name)
{
	for (unsigned i = 0; name && i < sizeof(invalidation_names) / sizeof(invalidation_names[0]); i++) {
		if (strcmp(name, invalidation_names[i]) == 0) {
			*out = (enum pyc_invalidation)i;
			return PYC_OK;
		}
	}
	return PYC_EINVAL;
}

/* The 16-byte layout's fields after the flags word (bytes 8-15). */
static void decode_pep552(pyc_header *out, const uint8_t *buf)
{
	if (out->flags & FLAG_HASH_BASED) {
		out->mode = (out->flags & FLAG_CHECK_SOURCE) ? PYC_INVALIDATION_CHECKED_HASH
		                                             : PYC_INVALIDATION_UNCHECKED_HASH;
		memcpy(out->hash, buf + 8, 8);
	} else {
		/* flags 2 (check_source without hash_based) is a timestamp pyc to CPython. */
		out->mode = PYC_INVALIDATION_TIMESTAMP;
		out->mtime = get_le32(buf + 8);
		out->source_size = get_le32(buf + 12);
	}
}

int pyc_header_decode(pyc_header *out, const uint8_t *buf, size_t len)
{
	memset(out, 0, sizeof(*out));
	/* Same order as importlib's _classify_pyc: magic, length, flags. */
	if (len < 4)
		return PYC_ETRUNCATED;
	out->magic = (uint16_t)(buf[0] | buf[1] << 8);
	if (buf[2] != '\r' || buf[3] != '\n')
		return PYC_EBADMAGIC;
	out->info = pyc_magic_lookup(out->magic);
	if (out->info == NULL)
		return PYC_EBADMAGIC;
	out->size = out->info->header_size;
	if (len < out->size)
		return PYC_ETRUNCATED;
	if (out->size == 16) {
		out->flags = get_le32(buf + 4);
		if (out->flags & ~(FLAG_HASH_BASED | FLAG_CHECK_SOURCE))
			return PYC_EBADFLAGS;
		decode_pep552(out, buf);
		return PYC_OK;
	}
	out->mode = PYC_INVALIDATION_TIMESTAMP;
	out->mtime = get_le32(buf + 4);
	if (out->size == 12)
		out->source_size = get_le32(buf + 8);
	return PYC_OK;
}

int pyc_header_encode(uint8_t *buf, size_t cap, const pyc_header *h)
{
	const pyc_magic_info *info = pyc_magic_lookup(h->magic);

	if (info == NULL)
		return PYC_EBADMAGIC;
	if ((unsigned)h->mode > PYC_INVALIDATION_UNCHECKED_HASH)
		return PYC_EINVAL;
	bool hashed = h->mode != PYC_INVALIDATION_TIMESTAMP;
	if (hashed && info->header_size < 16)
		return PYC_EUNSUPPORTED;
	if (cap < info->header_size)
		return PYC_EINVAL;
	put_le32(buf, pyc_magic_word(h->magic));
	if (info->header_size < 16) {
		put_le32(buf + 4, h->mtime);
		if (info->header_size == 12)
			put_le32(buf + 8, h->source_size);
		return info->header_size;
	}
	uint32_t flags = 0;
	if (h->mode == PYC_INVALIDATION_CHECKED_HASH)
		flags = FLAG_HASH_BASED | FLAG_CHECK_SOURCE;
	else if (h->mode == PYC_INVALIDATION_UNCHECKED_HASH)
		flags = FLAG_HASH_BASED;
	put_le32(buf + 4, flags);
	if (hashed) {
		memcpy(buf + 8, h->hash, 8);
	} else {
		put_le32(buf + 8, h->mtime);
		put_le32(buf + 12, h->source_size);
	}
	return 16;
}
