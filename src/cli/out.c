/* Rendering helpers: see out.h for the escaping rules. */
#include "out.h"

#include <inttypes.h>
#include <string.h>

size_t out_utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void out_json_string(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t n = out_utf8_seq_len(p + i, len - i);
		if (n == 0) {
			fprintf(f, "\\udc%02x", c);
			i++;
			continue;
		}
		if (n > 1) {
			fwrite(p + i, 1, n, f);
			i += n;
			continue;
		}
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		case '\b': fputs("\\b", f); break;
		case '\f': fputs("\\f", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
		i++;
	}
	fputc('"', f);
}

void out_json_cstr(FILE *f, const char *s)
{
	if (!s)
		fputs("null", f);
	else
		out_json_string(f, s, strlen(s));
}

void out_json_error_fields(FILE *f, const char *path, const char *message)
{
	fputs("\"type\":\"error\",\"path\":", f);
	out_json_cstr(f, path);
	fputs(",\"error\":", f);
	out_json_cstr(f, message);
}

void out_json_error(FILE *f, const char *path, const char *message)
{
	fputc('{', f);
	out_json_error_fields(f, path, message);
	fputs("}\n", f);
}

void out_human_path(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		size_t n = out_utf8_seq_len(p + i, len - i);
		if (n == 0 || (n == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			fprintf(f, "\\x%02x", p[i]);
			i++;
		} else if (n == 1 && p[i] == '\\') {
			fputs("\\\\", f);
			i++;
		} else {
			fwrite(p + i, 1, n, f);
			i += n;
		}
	}
}

out_style out_style_for(bool color)
{
	if (!color)
		return (out_style){ "", "", "", "", "", "" };
	return (out_style){ "\033[1m", "\033[31m", "\033[32m", "\033[33m", "\033[2m", "\033[0m" };
}

void out_bytes_human(char *buf, size_t cap, uint64_t n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, cap, "%.1f %s", v, units[u]);
}

void out_skipped(FILE *f, uint64_t n)
{
	if (n)
		fprintf(f, "; skipped %" PRIu64 " environment director%s (--no-default-excludes)", n,
		        n == 1 ? "y" : "ies");
}
