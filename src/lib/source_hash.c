/*
 * source_hash.c - SipHash-c-d and the PEP 552 source hash (include/pyc/source_hash.h).
 *
 * The reference algorithm of Aumasson and Bernstein, "SipHash: a fast short-input PRF"
 * (2012), with the round counts as parameters: CPython's _Py_KeyedHash uses 2-4 in
 * 3.7-3.10 and 1-3 from 3.11 (docs/pyc-format.md section 4).
 */
#include "pyc/source_hash.h"

#include <assert.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3)                                                    \
	do {                                                                        \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);           \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                              \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                              \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);           \
	} while (0)

static inline uint64_t load_le64(const uint8_t *p)
{
	/* Compilers turn this shift pattern into one load on little-endian targets. */
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/*
 * Compress whole 8-byte words. Always inlined so that the common round counts (1 and 2)
 * become compile-time constants in the callers below and the round loop unrolls.
 */
static inline __attribute__((always_inline)) void
compress_words(pyc_siphash_state *s, const uint8_t *p, size_t nwords, unsigned c)
{
	uint64_t v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3;

	for (size_t w = 0; w < nwords; w++, p += 8) {
		uint64_t m = load_le64(p);
		v3 ^= m;
		for (unsigned r = 0; r < c; r++)
			SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	s->v0 = v0;
	s->v1 = v1;
	s->v2 = v2;
	s->v3 = v3;
}

static void compress(pyc_siphash_state *s, const uint8_t *p, size_t nwords)
{
	if (s->c_rounds == 1)
		compress_words(s, p, nwords, 1);
	else if (s->c_rounds == 2)
		compress_words(s, p, nwords, 2);
	else
		compress_words(s, p, nwords, s->c_rounds);
}

void pyc_siphash_init(pyc_siphash_state *s, unsigned c_rounds, unsigned d_rounds,
                      const uint8_t key[16])
{
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);

	s->v0 = 0x736f6d6570736575ULL ^ k0;
	s->v1 = 0x646f72616e646f6dULL ^ k1;
	s->v2 = 0x6c7967656e657261ULL ^ k0;
	s->v3 = 0x7465646279746573ULL ^ k1;
	s->tail = 0;
	s->total = 0;
	s->c_rounds = c_rounds;
	s->d_rounds = d_rounds;
}

void pyc_siphash_update(pyc_siphash_state *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	unsigned have = (unsigned)(s->total & 7);

	if (len == 0)
		return;
	s->total += len;
	if (have != 0) {
		/* Top up the pending word first. */
		while (have < 8 && len > 0) {
			s->tail |= (uint64_t)*p++ << (8 * have++);
			len--;
		}
		if (have < 8)
			return;
		uint8_t word[8];
		for (int i = 0; i < 8; i++)
			word[i] = (uint8_t)(s->tail >> (8 * i));
		compress(s, word, 1);
		s->tail = 0;
	}
	compress(s, p, len / 8);
	p += len & ~(size_t)7;
	for (size_t i = 0; i < (len & 7); i++)
		s->tail |= (uint64_t)p[i] << (8 * i);
}

uint64_t pyc_siphash_final(pyc_siphash_state *s)
{
	/* Last word: remaining bytes, with the total length (mod 256) in the top byte. */
	uint64_t b = s->tail | (uint64_t)(s->total & 0xff) << 56;
	uint64_t v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3;

	v3 ^= b;
	for (unsigned r = 0; r < s->c_rounds; r++)
		SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (unsigned r = 0; r < s->d_rounds; r++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t pyc_siphash(unsigned c_rounds, unsigned d_rounds, const uint8_t key[16],
                     const void *data, size_t len)
{
	pyc_siphash_state s;

	pyc_siphash_init(&s, c_rounds, d_rounds, key);
	pyc_siphash_update(&s, data, len);
	return pyc_siphash_final(&s);
}

void pyc_source_hash_with(uint8_t out[8], enum pyc_hash_algo algo, uint16_t magic,
                          const void *data, size_t len)
{
	/* k0 = the magic word, k1 = 0: the key bytes are the 4 magic bytes then 12 zeros. */
	assert(algo == PYC_HASH_SIPHASH24 || algo == PYC_HASH_SIPHASH13);
	uint32_t word = pyc_magic_word(magic);
	uint8_t key[16] = { (uint8_t)word, (uint8_t)(word >> 8), (uint8_t)(word >> 16),
	                    (uint8_t)(word >> 24) };
	unsigned c = algo == PYC_HASH_SIPHASH24 ? 2 : 1;
	unsigned d = algo == PYC_HASH_SIPHASH24 ? 4 : 3;
	uint64_t h = pyc_siphash(c, d, key, data, len);

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(h >> (8 * i));
}

int pyc_source_hash(uint8_t out[8], const pyc_magic_info *info, const void *data, size_t len)
{
	if (info == NULL || info->hash_algo == PYC_HASH_NONE)
		return PYC_EUNSUPPORTED;
	pyc_source_hash_with(out, info->hash_algo, info->number, data, len);
	return PYC_OK;
}
