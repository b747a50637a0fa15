/*
 * regress_main.c - replays inputs through a fuzz harness without libFuzzer:
 * every file named on the command line, and every file (not starting with
 * '.') in every directory named there, is read whole and passed to
 * LLVMFuzzerTestOneInput().  A bug aborts or trips a sanitizer, which
 * fails the ctest test; otherwise the exit status is 0.  Exit status 2 on
 * an unreadable argument.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Read `path` whole into a malloc()ed buffer; -1 on error. */
static int
read_file(const char *path, uint8_t **out, size_t *outlen)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;

    if (fp == NULL)
        return -1;
    for (;;) {
        size_t n;

        if (cap - len < 4096) {
            uint8_t *p = realloc(data, cap + 65536);
            if (p == NULL) {
                free(data);
                fclose(fp);
                return -1;
            }
            data = p;
            cap += 65536;
        }
        n = fread(data + len, 1, cap - len, fp);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(fp)) {
        free(data);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    *out = data;
    *outlen = len;
    return 0;
}

static int
run_file(const char *path)
{
    uint8_t *data;
    size_t len;

    if (read_file(path, &data, &len) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file of `dir` in name order; returns the count or
 * -1 on error. */
static long
run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    long count = 0;

    if (d == NULL) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **p = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));
            if (p == NULL)
                break;
            names = p;
            cap = cap ? cap * 2 : 64;
        }
        names[n] = strdup(e->d_name);
        if (names[n] == NULL)
            break;
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        struct stat st;

        if (path != NULL) {
            snprintf(path, len, "%s/%s", dir, names[i]);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (run_file(path) != 0)
                    count = -1;
                else if (count >= 0)
                    count++;
            }
            free(path);
        } else {
            count = -1;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int
main(int argc, char **argv)
{
    long total = 0;
    int bad = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            bad = 1;
        } else if (S_ISDIR(st.st_mode)) {
            long n = run_dir(argv[i]);
            if (n < 0)
                bad = 1;
            else
                total += n;
        } else if (run_file(argv[i]) != 0) {
            bad = 1;
        } else {
            total++;
        }
    }
    fprintf(stderr, "%ld input(s) replayed without a failure\n", total);
    return bad ? 2 : 0;
}
