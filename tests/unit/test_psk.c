/* Unit tests for src/psk.c: PSKsecrets parsing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "psk.h"

static struct psk_list L;
static char err[256];

static void teardown(void)
{
	psk_free(&L);
}

START_TEST(parse_good)
{
	const char *text = "# comment\n; other comment\n\nalice:0123456789abcdefg\r\nbob:key:with:colons:ok!!\n";
	ck_assert_int_eq(psk_parse(text, "f", &L, err, sizeof(err)), 0);
	ck_assert_uint_eq(L.n, 2);
	ck_assert_str_eq(L.v[0].identity, "alice");
	ck_assert_uint_eq(L.v[0].keylen, 17);
	ck_assert(memcmp(L.v[0].key, "0123456789abcdefg", 17) == 0);
	ck_assert_str_eq(L.v[1].identity, "bob");
	ck_assert(memcmp(L.v[1].key, "key:with:colons:ok!!", L.v[1].keylen) == 0);
	ck_assert_ptr_eq(psk_find(&L, (const unsigned char *)"bob", 3), &L.v[1]);
	ck_assert_ptr_null(psk_find(&L, (const unsigned char *)"bo", 2));
	ck_assert_ptr_null(psk_find(&L, (const unsigned char *)"bobby", 5));
}
END_TEST

START_TEST(parse_no_trailing_newline)
{
	ck_assert_int_eq(psk_parse("x:0123456789abcdefX", "f", &L, err, sizeof(err)), 0);
	ck_assert_uint_eq(L.n, 1);
}
END_TEST

static void bad(const char *text, const char *want)
{
	ck_assert_int_eq(psk_parse(text, "f", &L, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want), "expected '%s' in '%s'", want, err);
	ck_assert_uint_eq(L.n, 0);
	ck_assert_ptr_null(L.v);
}

START_TEST(parse_errors)
{
	bad("alice:short", "f:1: key shorter than 16 bytes");
	bad("ok:0123456789abcdefX\nnocolon\n", "f:2: expected IDENTITY:KEY");
	bad(":0123456789abcdefX", "f:1: expected IDENTITY:KEY");
	bad("a:0123456789abcdefX\na:0123456789abcdefX", "f:2: identity 'a' given twice");
	bad("", "no IDENTITY:KEY lines");
	bad("# only a comment\n", "no IDENTITY:KEY lines");
	char longid[300];
	memset(longid, 'i', 256);
	strcpy(longid + 256, ":0123456789abcdefX");
	bad(longid, "identity longer than 255 bytes");
}
END_TEST

/* stunnel converts a key written in hex to binary: the same file gives the same key to both */
START_TEST(hex_keys_are_binary)
{
	const unsigned char want[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	const char *text = "lower:00112233445566778899aabbccddeeff\n"
			   "upper:00112233445566778899AABBCCDDEEFF\n"
			   "colons:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\n"
			   "morecolons::00:11:22:33:44:55:66:77::88:99:aa:bb:cc:dd:ee:ff:\n"
			   "odd:00112233445566778899aabbccddeeff0\n"      /* odd digit count: text */
			   "notquite:00112233445566778899aabbccddeefg\n"  /* a non-hex digit: text */
			   "badcolon:0:0112233445566778899aabbccddeeff\n"; /* a colon inside a byte: text */
	ck_assert_int_eq(psk_parse(text, "f", &L, err, sizeof(err)), 0);
	ck_assert_uint_eq(L.n, 7);
	for (int i = 0; i < 4; i++) {
		ck_assert_msg(L.v[i].keylen == 16 && memcmp(L.v[i].key, want, 16) == 0, "%s: not the hex bytes",
			      L.v[i].identity);
	}
	ck_assert_uint_eq(L.v[4].keylen, 33);
	ck_assert(memcmp(L.v[4].key, "00112233445566778899aabbccddeeff0", 33) == 0);
	ck_assert_uint_eq(L.v[5].keylen, 32);
	ck_assert_uint_eq(L.v[6].keylen, 33);
}
END_TEST

START_TEST(key_lengths)
{
	/* 30 hex digits are 15 bytes: too short, although the text is 30 characters */
	bad("a:00112233445566778899aabbccddee", "f:1: key shorter than 16 bytes (hexadecimal: 32 digits at least)");
	char text[200];
	snprintf(text, sizeof(text), "a:%s", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
					     "202122232425262728292a2b2c2d2e2f");
	ck_assert_int_eq(psk_parse(text, "f", &L, err, sizeof(err)), 0); /* 48 bytes: the most mbedTLS takes */
	ck_assert_uint_eq(L.v[0].keylen, PSK_MAX_KEY);
	psk_free(&L);
	strcat(text, "30");
	bad(text, "f:1: key longer than 48 bytes");
	memset(text, 'k', sizeof(text) - 1);
	text[0] = 'a';
	text[1] = ':';
	text[51] = '\0'; /* 49 characters of text */
	bad(text, "f:1: key longer than 48 bytes");
}
END_TEST

/* blanks and stray carriage returns would become part of the identity or key, unseen */
START_TEST(blanks_and_carriage_returns_refused)
{
	bad("alice :0123456789abcdefX", "f:1: blank around the identity or the key");
	bad("alice: 0123456789abcdefX", "f:1: blank around the identity or the key");
	bad(" alice:0123456789abcdefX", "f:1: blank around the identity or the key");
	bad("alice:0123456789abcdefX \n", "f:1: blank around the identity or the key");
	bad("alice:0123456789abcdefX\rbob:0123456789abcdefY", "f:1: a carriage return inside the line");
	ck_assert_int_eq(psk_parse("alice:0123456789abcdefX\r\n", "f", &L, err, sizeof(err)), 0);
	ck_assert_uint_eq(L.v[0].keylen, 17);
}
END_TEST

/* A file of SIZE bytes: one key, then comment lines up to that size. Its path is in PATH. */
static void write_sized(char *path, size_t size)
{
	strcpy(path, "/tmp/tlswrap-psk-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	size_t n = (size_t)fprintf(f, "alice:0123456789abcdefX\n");
	for (; n + 80 <= size; n += 80)
		fprintf(f, "#%78s\n", "");
	fprintf(f, "#%*s", (int)(size - n - 1), "");
	fclose(f);
}

START_TEST(file_size_limit)
{
	char p[64];
	write_sized(p, 65535); /* the largest allowed */
	ck_assert_msg(psk_load(p, &L, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(L.n, 1);
	psk_free(&L);
	unlink(p);
	write_sized(p, 65536);
	ck_assert_int_eq(psk_load(p, &L, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ": larger than 65535 bytes") != NULL, "%s", err);
	unlink(p);
}
END_TEST

/* a file whose lines end in CR alone (old Mac style) is one line with carriage returns inside */
START_TEST(cr_only_line_ends_refused)
{
	bad("alice:0123456789abcdefX\rbob:0123456789abcdefY\r", "f:1: a carriage return inside the line");
}
END_TEST

START_TEST(errors_never_show_keys)
{
	bad("alice:secretsecretsecret\nalice:secretsecretsecret", "given twice");
	ck_assert_ptr_null(strstr(err, "secret"));
	bad("alice: secretsecretsecret", "blank around");
	ck_assert_ptr_null(strstr(err, "secret"));
	bad("bob:tiny-secret", "key shorter");
	ck_assert_ptr_null(strstr(err, "tiny"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("psk");
	TCase *tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, parse_good);
	tcase_add_test(tc, parse_no_trailing_newline);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, errors_never_show_keys);
	tcase_add_test(tc, hex_keys_are_binary);
	tcase_add_test(tc, key_lengths);
	tcase_add_test(tc, blanks_and_carriage_returns_refused);
	tcase_add_test(tc, cr_only_line_ends_refused);
	tcase_add_test(tc, file_size_limit);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
