/* SPDX-License-Identifier: MIT */
/*
 * test_elfcheck.c - unit tests for host/elfcheck.c: a real plugin passes,
 * every truncation of it that cuts a segment fails (each copy in a buffer of
 * exactly its length, so ASan sees any read past it), and a small synthetic
 * image with one field broken at a time fails with a message saying which.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <elf.h>
#include <link.h>

#include "elfcheck.h"

static unsigned char *calc; /* RPCHOST_PLUGINS/calc.so */
static size_t calc_len;

/* The end of the last segment in `img`, a valid image of the host's
 * class. */
static size_t
segments_end(const unsigned char *img)
{
    ElfW(Ehdr) eh;
    size_t end = 0;

    memcpy(&eh, img, sizeof(eh));
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;

        memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_offset + ph.p_filesz > end)
            end = ph.p_offset + ph.p_filesz;
    }
    return end;
}

/* Check a copy of the first `n` bytes of `img` in a buffer of exactly that
 * size; the result, the message in why[256]. */
static int
check_copy(const unsigned char *img, size_t n, char *why)
{
    unsigned char *copy = malloc(n ? n : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, img, n);
    rc = elfcheck_image(n ? copy : NULL, n, why, 256);
    free(copy);
    return rc;
}

static void
expect_refused(const void *img, size_t n, const char *frag)
{
    char why[256];

    memset(why, 'X', sizeof(why));
    if (check_copy(img, n, why) != -1)
        print_error("%zu bytes accepted, expected '%s'\n", n, frag);
    assert_int_equal(check_copy(img, n, why), -1);
    if (strstr(why, frag) == NULL)
        print_error("'%s' lacks '%s'\n", why, frag);
    assert_non_null(strstr(why, frag));
    assert_null(strchr(why, '\n'));
}

static int
group_setup(void **state)
{
    const char *dir = getenv("RPCHOST_PLUGINS");
    char path[1024];
    FILE *f;
    long n;

    (void)state;
    if (dir == NULL) {
        fprintf(stderr, "RPCHOST_PLUGINS must be set\n");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/calc.so", dir);
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    calc_len = (size_t)n;
    calc = malloc(calc_len);
    if (calc == NULL || fread(calc, 1, calc_len, f) != calc_len) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    free(calc);
    return 0;
}

static void
test_real_plugin(void **state)
{
    char why[256];

    (void)state;
    why[0] = 'X';
    assert_int_equal(elfcheck_image(calc, calc_len, why, sizeof(why)), 0);
    assert_string_equal(why, "");
}

static void
test_every_truncation(void **state)
{
    size_t end = segments_end(calc);
    char why[256];

    (void)state;
    assert_true(end <= calc_len);
    for (size_t n = 0; n < calc_len; n++) {
        int rc = check_copy(calc, n, why);

        if (n < end && rc != -1)
            print_error("cut at %zu of %zu accepted\n", n, end);
        assert_int_equal(rc, n < end ? -1 : 0);
    }
    expect_refused(calc, 0, "empty");
    expect_refused(calc, 3, "truncated");
    expect_refused(calc, sizeof(ElfW(Ehdr)), "program headers");
    expect_refused(calc, sizeof(ElfW(Ehdr)), "truncated");
    expect_refused(calc, 8192, "truncated");
    expect_refused(calc, 8192, "8192 bytes");
    expect_refused(calc, end - 1, "segment");
}

/* A small image of the host's class and machine: one PT_LOAD over the
 * whole file, a PT_DYNAMIC inside it. */
struct image {
    ElfW(Ehdr) eh;
    ElfW(Phdr) ph[2];
    unsigned char body[256];
};

static void
image_init(struct image *im)
{
    memset(im, 0, sizeof(*im));
    memcpy(&im->eh, calc, sizeof(im->eh)); /* ident, machine */
    im->eh.e_type = ET_DYN;
    im->eh.e_version = EV_CURRENT;
    im->eh.e_ehsize = sizeof(im->eh);
    im->eh.e_phoff = offsetof(struct image, ph);
    im->eh.e_phentsize = sizeof(im->ph[0]);
    im->eh.e_phnum = 2;
    im->eh.e_shoff = 0;
    im->eh.e_shnum = 0;
    im->eh.e_shstrndx = 0;
    im->ph[0].p_type = PT_LOAD;
    im->ph[0].p_offset = 0;
    im->ph[0].p_filesz = sizeof(*im);
    im->ph[0].p_memsz = sizeof(*im) + 64;
    im->ph[1].p_type = PT_DYNAMIC;
    im->ph[1].p_offset = offsetof(struct image, body);
    im->ph[1].p_filesz = sizeof(im->body);
    im->ph[1].p_memsz = sizeof(im->body);
}

static void
test_synthetic_good(void **state)
{
    struct image im;
    char why[256];

    (void)state;
    image_init(&im);
    assert_int_equal(check_copy((void *)&im, sizeof(im), why), 0);
    /* A segment ending exactly at the end of the file. */
    im.ph[1].p_offset = sizeof(im) - 16;
    im.ph[1].p_filesz = 16;
    assert_int_equal(check_copy((void *)&im, sizeof(im), why), 0);
    /* Segments with nothing in the file, wherever their offset says. */
    im.ph[1].p_type = PT_GNU_STACK;
    im.ph[1].p_offset = (ElfW(Off)) - 1;
    im.ph[1].p_filesz = 0;
    assert_int_equal(check_copy((void *)&im, sizeof(im), why), 0);
    im.ph[1].p_type = PT_NULL;
    im.ph[1].p_filesz = 100000;
    assert_int_equal(check_copy((void *)&im, sizeof(im), why), 0);
}

static void
test_identification(void **state)
{
    struct image im;
    unsigned char other_class;

    (void)state;
    image_init(&im);
    im.eh.e_ident[EI_MAG3] = 'G';
    expect_refused(&im, sizeof(im), "not an ELF file");
    expect_refused("#!/bin/sh\necho hi\n", 18, "not an ELF file");

    image_init(&im);
    other_class =
        im.eh.e_ident[EI_CLASS] == ELFCLASS64 ? ELFCLASS32 : ELFCLASS64;
    im.eh.e_ident[EI_CLASS] = other_class;
    expect_refused(&im, sizeof(im),
                   other_class == ELFCLASS32 ? "32-bit" : "64-bit");
    im.eh.e_ident[EI_CLASS] = ELFCLASSNONE;
    expect_refused(&im, sizeof(im), "unknown ELF class 0");

    image_init(&im);
    im.eh.e_ident[EI_DATA] =
        im.eh.e_ident[EI_DATA] == ELFDATA2LSB ? ELFDATA2MSB : ELFDATA2LSB;
    expect_refused(&im, sizeof(im), "endian");
    im.eh.e_ident[EI_DATA] = ELFDATANONE;
    expect_refused(&im, sizeof(im), "unknown ELF byte order 0");

    image_init(&im);
    im.eh.e_ident[EI_VERSION] = 2;
    expect_refused(&im, sizeof(im), "ELF version 2");
    image_init(&im);
    im.eh.e_version = 0;
    expect_refused(&im, sizeof(im), "ELF version 0");
}

static void
test_type_and_machine(void **state)
{
    struct image im;
    char frag[64];

    (void)state;
    image_init(&im);
    im.eh.e_type = ET_EXEC;
    expect_refused(&im, sizeof(im), "an executable, not a shared object");
    im.eh.e_type = ET_REL;
    expect_refused(&im, sizeof(im), "an object file, not a shared object");
    im.eh.e_type = ET_CORE;
    expect_refused(&im, sizeof(im), "not a shared object");

    image_init(&im);
    im.eh.e_machine = im.eh.e_machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
    snprintf(frag, sizeof(frag), "machine %u (%s)", im.eh.e_machine,
             im.eh.e_machine == EM_AARCH64 ? "AArch64" : "x86-64");
    expect_refused(&im, sizeof(im), frag);
    im.eh.e_machine = 9999;
    expect_refused(&im, sizeof(im), "machine 9999,");
}

static void
test_program_header_table(void **state)
{
    struct image im;

    (void)state;
    image_init(&im);
    im.eh.e_phentsize = sizeof(im.ph[0]) - 1;
    expect_refused(&im, sizeof(im), "program header size");
    image_init(&im);
    im.eh.e_phnum = 0;
    expect_refused(&im, sizeof(im), "no program headers");
    im.eh.e_phnum = PN_XNUM;
    expect_refused(&im, sizeof(im), "program headers");
    image_init(&im);
    im.eh.e_phoff = sizeof(im);
    expect_refused(&im, sizeof(im), "program headers");
    im.eh.e_phoff = (ElfW(Off)) - 8; /* + 2 entries wraps around */
    expect_refused(&im, sizeof(im), "program headers");
    image_init(&im);
    im.eh.e_phnum = 1000;
    expect_refused(&im, sizeof(im), "program headers");
    /* The table itself cut short. */
    image_init(&im);
    expect_refused(&im, offsetof(struct image, ph[1]) + 1, "truncated");
}

static void
test_segments(void **state)
{
    struct image im;

    (void)state;
    image_init(&im);
    im.ph[0].p_filesz = sizeof(im) + 1;
    expect_refused(&im, sizeof(im), "segment 0 (LOAD");
    expect_refused(&im, sizeof(im), "truncated");
    image_init(&im);
    im.ph[1].p_offset = sizeof(im) - 16;
    im.ph[1].p_filesz = 17;
    expect_refused(&im, sizeof(im), "segment 1 (DYNAMIC");
    /* Offset plus size wrapping around to a small number. */
    image_init(&im);
    im.ph[0].p_offset = (ElfW(Off)) - 1;
    im.ph[0].p_filesz = 2;
    expect_refused(&im, sizeof(im), "segment 0 (LOAD");
    image_init(&im);
    im.ph[1].p_offset = 16;
    im.ph[1].p_filesz = (ElfW(Xword)) - 8;
    expect_refused(&im, sizeof(im), "segment 1 (DYNAMIC");
    /* An empty PT_LOAD still needs its offset inside the file. */
    image_init(&im);
    im.ph[1].p_type = PT_LOAD;
    im.ph[1].p_offset = sizeof(im) + 4096;
    im.ph[1].p_filesz = 0;
    expect_refused(&im, sizeof(im), "segment 1 (LOAD");
    /* Other kinds with contents are checked too. */
    image_init(&im);
    im.ph[1].p_type = PT_NOTE;
    im.ph[1].p_filesz = sizeof(im.body) + 1;
    expect_refused(&im, sizeof(im), "segment 1 (NOTE");
    /* Nothing to load. */
    image_init(&im);
    im.ph[0].p_type = PT_NOTE;
    expect_refused(&im, sizeof(im), "no loadable segment");
}

static void
test_message_fits(void **state)
{
    char why[8];

    (void)state;
    memset(why, 'X', sizeof(why));
    assert_int_equal(elfcheck_image(calc, 100, why, sizeof(why)), -1);
    assert_int_equal(strlen(why), sizeof(why) - 1);
    assert_int_equal(elfcheck_image(calc, 100, NULL, 0), -1);
    assert_int_equal(elfcheck_image(calc, calc_len, NULL, 0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_plugin),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_synthetic_good),
        cmocka_unit_test(test_identification),
        cmocka_unit_test(test_type_and_machine),
        cmocka_unit_test(test_program_header_table),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_message_fits),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
