/* SPDX-License-Identifier: MIT */
/*
 * test_iniread.c - unit tests for host/iniread.c: line counting, the
 * first error winning (over later ones and over inih's later syntax
 * errors), a line too long, a syntax error's line, and the
 * "FILE:LINE: message" texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iniread.h"

#define SYNTAX "syntax error (test)"

/* What a parse saw: each key's line, and each line the hook was given. */
struct seen {
    struct iniread *rd;
    int key_lines[16];
    int nkeys;
    int hook_lines[16];
    int nhooks;
    const char *fail_key; /* a key of this name records an error */
};

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
    struct seen *s = user;

    (void)section;
    (void)value;
    if (s->rd->err[0] != '\0')
        return 1; /* as iniread.h says: keys after an error are ignored */
    if (s->nkeys < 16)
        s->key_lines[s->nkeys++] = s->rd->line;
    if (s->fail_key != NULL && strcmp(name, s->fail_key) == 0)
        return iniread_fail(s->rd, "bad key '%s'", name);
    return 1;
}

static void
on_line(void *ctx, const char *line)
{
    struct seen *s = ctx;

    (void)line;
    if (s->nhooks < 16)
        s->hook_lines[s->nhooks++] = s->rd->line;
}

/* Parse `text` as file "f.ini"; the result of iniread_result(), its text
 * in errbuf ("" when none). */
static int
parse(const char *text, struct seen *s, char *errbuf, size_t errlen)
{
    struct iniread rd;
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    int rc;

    assert_non_null(fp);
    s->rd = &rd;
    errbuf[0] = '\0';
    iniread_init(&rd, fp, on_line, s);
    rc = iniread_parse(&rd, on_key, s);
    rc = iniread_result(&rd, rc, "f.ini", SYNTAX, errbuf, errlen);
    fclose(fp);
    s->rd = NULL;
    return rc;
}

static void
test_counts_lines(void **state)
{
    struct seen s = {0};
    char err[600];

    (void)state;
    assert_int_equal(
        parse("; comment\n[a]\n\nx = 1\n# more\ny = 2", &s, err, sizeof(err)),
        0);
    assert_string_equal(err, "");
    assert_int_equal(s.nkeys, 2);
    assert_int_equal(s.key_lines[0], 4);
    assert_int_equal(s.key_lines[1], 6); /* the last line, no newline */
    /* The hook sees every line, blank and comment ones too, numbered. */
    assert_int_equal(s.nhooks, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(s.hook_lines[i], i + 1);
}

static void
test_error_names_its_line(void **state)
{
    struct seen s = {.fail_key = "bad"};
    char err[600];

    (void)state;
    assert_int_equal(parse("[a]\nx = 1\n\nbad = 2\n", &s, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "f.ini:4: bad key 'bad'");
}

static void
test_first_error_wins(void **state)
{
    struct seen s = {.fail_key = "bad"};
    struct iniread rd;
    char err[600];

    (void)state;
    /* A second failing key (line 3) is not the one reported. */
    assert_int_equal(parse("[a]\nbad = 1\nbad = 2\n", &s, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "f.ini:2: bad key 'bad'");
    /* Our error on line 2 comes before inih's syntax error on line 3. */
    memset(&s, 0, sizeof(s));
    s.fail_key = "bad";
    assert_int_equal(parse("[a]\nbad = 1\ngarbage\n", &s, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "f.ini:2: bad key 'bad'");
    /* inih's syntax error on line 2 comes before our error on line 3. */
    memset(&s, 0, sizeof(s));
    s.fail_key = "bad";
    assert_int_equal(parse("[a]\ngarbage\nbad = 1\n", &s, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "f.ini:2: " SYNTAX);
    /* The first recorded wins even when a later one names an earlier
     * line; iniread_fail_at() names the line it is given. */
    iniread_init(&rd, stdin, NULL, NULL);
    rd.line = 7;
    assert_int_equal(iniread_fail(&rd, "first %d", 1), 0);
    assert_int_equal(iniread_fail_at(&rd, 3, "second"), 0);
    assert_int_equal(rd.err_line, 7);
    assert_string_equal(rd.err, "first 1");
    iniread_init(&rd, stdin, NULL, NULL);
    rd.line = 7;
    iniread_fail_at(&rd, 3, "at %s", "three");
    assert_int_equal(rd.err_line, 3);
    assert_string_equal(rd.err, "at three");
}

static void
test_syntax_error_line(void **state)
{
    struct seen s = {0};
    char err[600];

    (void)state;
    assert_int_equal(parse("[a]\nx = 1\nthis line has no equals sign\n", &s,
                           err, sizeof(err)),
                     -1);
    assert_string_equal(err, "f.ini:3: " SYNTAX);
    memset(&s, 0, sizeof(s));
    assert_int_equal(parse("[a\nx = 1\n", &s, err, sizeof(err)), -1);
    assert_string_equal(err, "f.ini:1: " SYNTAX);
}

/* `len` bytes of 'v' as a key's value on line 3 of a text. */
static char *
text_with_line(size_t len, const char *after)
{
    size_t head = strlen("[a]\nx = 1\nk = ");
    char *text = malloc(head + len + strlen(after) + 1);

    assert_non_null(text);
    memcpy(text, "[a]\nx = 1\nk = ", head);
    memset(text + head, 'v', len);
    strcpy(text + head + len, after);
    return text;
}

static void
test_line_too_long(void **state)
{
    int max = INI_MAX_LINE - 2; /* characters before the newline */
    size_t value_max = (size_t)max - strlen("k = ");
    char want[64], err[600];
    struct seen s = {0};
    char *text;

    (void)state;
    snprintf(want, sizeof(want), "f.ini:3: line longer than %d characters",
             max);
    /* Far too long: refused on its line, and the reading ends there. */
    text = text_with_line(5000, "\nbad syntax\ny = 2\n");
    assert_int_equal(parse(text, &s, err, sizeof(err)), -1);
    assert_string_equal(err, want);
    assert_int_equal(s.nkeys, 1); /* x only */
    free(text);
    /* One character over. */
    memset(&s, 0, sizeof(s));
    text = text_with_line(value_max + 1, "\ny = 2\n");
    assert_int_equal(parse(text, &s, err, sizeof(err)), -1);
    assert_string_equal(err, want);
    free(text);
    /* Exactly the longest line, with its newline or at the end. */
    memset(&s, 0, sizeof(s));
    text = text_with_line(value_max, "\ny = 2\n");
    assert_int_equal(parse(text, &s, err, sizeof(err)), 0);
    assert_int_equal(s.nkeys, 3);
    assert_int_equal(s.key_lines[2], 4);
    free(text);
    memset(&s, 0, sizeof(s));
    text = text_with_line(value_max, "");
    assert_int_equal(parse(text, &s, err, sizeof(err)), 0);
    assert_int_equal(s.nkeys, 2);
    free(text);
}

static void
test_long_message_is_cut(void **state)
{
    struct iniread rd;
    char big[2000];

    (void)state;
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    iniread_init(&rd, stdin, NULL, NULL);
    iniread_fail(&rd, "%s", big);
    assert_int_equal(strlen(rd.err), sizeof(rd.err) - 1);
}

static void
test_result_texts(void **state)
{
    struct iniread rd;
    char err[600], buf[8];
    FILE *fp;

    (void)state;
    /* inih could not read at all. */
    iniread_init(&rd, stdin, NULL, NULL);
    assert_int_equal(iniread_result(&rd, -1, "f.ini", SYNTAX, err, 600), -1);
    assert_string_equal(err, "f.ini: cannot parse (error -1)");
    /* A recorded error goes before a failure to read on. */
    iniread_fail(&rd, "ours");
    assert_int_equal(iniread_result(&rd, -1, "f.ini", SYNTAX, err, 600), -1);
    assert_string_equal(err, "f.ini:0: ours");
    /* A stream that cannot be read: inih sees an empty text. */
    fp = fmemopen(buf, sizeof(buf), "w");
    assert_non_null(fp);
    iniread_init(&rd, fp, NULL, NULL);
    assert_int_equal(iniread_parse(&rd, on_key, NULL), 0);
    assert_int_equal(iniread_result(&rd, 0, "f.ini", SYNTAX, err, 600), -1);
    assert_string_equal(err, "f.ini: read error");
    fclose(fp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_lines),
        cmocka_unit_test(test_error_names_its_line),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_syntax_error_line),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_long_message_is_cut),
        cmocka_unit_test(test_result_texts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
