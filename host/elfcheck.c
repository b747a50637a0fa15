/* SPDX-License-Identifier: MIT */
/*
 * elfcheck.c - see elfcheck.h.
 *
 * Headers are copied out with memcpy before use: the image need not be
 * aligned for them, and no offset read from it is trusted before it has
 * been compared with `size`, always as "offset <= size && len <= size -
 * offset", which cannot wrap around.
 */
#include "elfcheck.h"

#include <elf.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define HOST_CLASS (sizeof(ElfW(Addr)) == 8 ? ELFCLASS64 : ELFCLASS32)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

/* The host's e_machine; 0 where this list does not know it (dlopen then
 * still refuses a foreign machine, with its own message). */
#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define HOST_MACHINE EM_PPC64
#elif defined(__powerpc__)
#define HOST_MACHINE EM_PPC
#elif defined(__s390__)
#define HOST_MACHINE EM_S390
#elif defined(__mips__)
#define HOST_MACHINE EM_MIPS
#else
#define HOST_MACHINE 0
#endif

static const struct {
    unsigned machine;
    const char *name;
} machines[] = {
    {EM_X86_64, "x86-64"}, {EM_386, "i386"},     {EM_AARCH64, "AArch64"},
    {EM_ARM, "ARM"},       {EM_RISCV, "RISC-V"}, {EM_PPC64, "PowerPC64"},
    {EM_PPC, "PowerPC"},   {EM_S390, "s390"},    {EM_MIPS, "MIPS"},
};

/* "machine N (name)" or "machine N" into out[64]. */
static const char *
machine_name(unsigned machine, char *out)
{
    for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
        if (machines[i].machine == machine) {
            snprintf(out, 64, "machine %u (%s)", machine, machines[i].name);
            return out;
        }
    snprintf(out, 64, "machine %u", machine);
    return out;
}

static const struct {
    unsigned type;
    const char *name;
} segments[] = {
    {PT_LOAD, "LOAD"},
    {PT_DYNAMIC, "DYNAMIC"},
    {PT_INTERP, "INTERP"},
    {PT_NOTE, "NOTE"},
    {PT_PHDR, "PHDR"},
    {PT_TLS, "TLS"},
    {PT_GNU_EH_FRAME, "GNU_EH_FRAME"},
    {PT_GNU_RELRO, "GNU_RELRO"},
};

/* The name of segment type `type`, or its number in out[16]. */
static const char *
segment_name(unsigned type, char *out)
{
    for (size_t i = 0; i < sizeof(segments) / sizeof(segments[0]); i++)
        if (segments[i].type == type)
            return segments[i].name;
    snprintf(out, 16, "type 0x%x", type);
    return out;
}

/* Write the reason into why[whylen] (when there is room) and return -1. */
__attribute__((format(printf, 3, 4))) static int
refuse(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (whylen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The header of an image of the host's class: byte order, version, type,
 * machine, and a program header table of native entries within the
 * image.  0, or -1 with the reason.  `size` >= sizeof(*eh). */
static int
check_header(const ElfW(Ehdr) * eh, size_t size, char *why, size_t whylen)
{
    char got[64], want[64];

    if (eh->e_ident[EI_DATA] != HOST_DATA &&
        (eh->e_ident[EI_DATA] == ELFDATA2LSB ||
         eh->e_ident[EI_DATA] == ELFDATA2MSB))
        return refuse(why, whylen,
                      "a %s-endian ELF file, but this rpchost is %s-endian",
                      HOST_DATA == ELFDATA2LSB ? "big" : "little",
                      HOST_DATA == ELFDATA2LSB ? "little" : "big");
    if (eh->e_ident[EI_DATA] != HOST_DATA)
        return refuse(why, whylen, "unknown ELF byte order %u",
                      eh->e_ident[EI_DATA]);
    if (eh->e_ident[EI_VERSION] != EV_CURRENT)
        return refuse(why, whylen, "unknown ELF version %u",
                      eh->e_ident[EI_VERSION]);
    if (eh->e_version != EV_CURRENT)
        return refuse(why, whylen, "unknown ELF version %lu",
                      (unsigned long)eh->e_version);
    if (eh->e_type == ET_EXEC)
        return refuse(why, whylen,
                      "an executable, not a shared object (build plugins "
                      "with -shared -fPIC)");
    if (eh->e_type == ET_REL)
        return refuse(why, whylen,
                      "an object file, not a shared object (link it with "
                      "-shared)");
    if (eh->e_type != ET_DYN)
        return refuse(why, whylen, "ELF type %u, not a shared object",
                      eh->e_type);
    if (HOST_MACHINE != 0 && eh->e_machine != HOST_MACHINE)
        return refuse(why, whylen, "built for %s, but this rpchost runs on %s",
                      machine_name(eh->e_machine, got),
                      machine_name(HOST_MACHINE, want));
    if (eh->e_phentsize != sizeof(ElfW(Phdr)))
        return refuse(why, whylen, "program header size %u, expected %zu",
                      eh->e_phentsize, sizeof(ElfW(Phdr)));
    if (eh->e_phnum == 0)
        return refuse(why, whylen, "no program headers: nothing to load");
    if (eh->e_phnum == PN_XNUM)
        return refuse(why, whylen, "too many program headers (%u or more)",
                      PN_XNUM);
    if (eh->e_phoff > size ||
        (size_t)eh->e_phnum * eh->e_phentsize > size - eh->e_phoff)
        return refuse(why, whylen,
                      "truncated or damaged: the program headers (%u at "
                      "byte %ju) run past the end of the file (%zu bytes; "
                      "still being written?)",
                      eh->e_phnum, (uintmax_t)eh->e_phoff, size);
    return 0;
}

int
elfcheck_image(const void *img, size_t size, char *why, size_t whylen)
{
    const unsigned char *p = img;
    ElfW(Ehdr) eh;
    unsigned nload = 0;
    char tname[16];

    if (size == 0)
        return refuse(why, whylen,
                      "empty file (0 bytes), not a shared object "
                      "(still being written?)");
    if (memcmp(p, ELFMAG, size < SELFMAG ? size : SELFMAG) != 0)
        return refuse(why, whylen,
                      "not an ELF file (it does not start with "
                      "\\177ELF): not a shared object");
    if (size >= EI_NIDENT && p[EI_CLASS] != HOST_CLASS &&
        (p[EI_CLASS] == ELFCLASS32 || p[EI_CLASS] == ELFCLASS64))
        return refuse(why, whylen, "a %s ELF file, but this rpchost is %s",
                      HOST_CLASS == ELFCLASS64 ? "32-bit" : "64-bit",
                      HOST_CLASS == ELFCLASS64 ? "64-bit" : "32-bit");
    if (size >= EI_NIDENT && p[EI_CLASS] != HOST_CLASS)
        return refuse(why, whylen, "unknown ELF class %u", p[EI_CLASS]);
    if (size < sizeof(eh))
        return refuse(why, whylen,
                      "truncated: %zu bytes, the ELF header needs %zu (still "
                      "being written?)",
                      size, sizeof(eh));
    memcpy(&eh, p, sizeof(eh));
    if (check_header(&eh, size, why, whylen) != 0)
        return -1;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;

        memcpy(&ph, p + eh.e_phoff + (size_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD)
            nload++;
        /* A PT_LOAD without file bytes still maps the page at its offset
         * when its address is not page-aligned. */
        if (ph.p_type == PT_NULL || (ph.p_filesz == 0 && ph.p_type != PT_LOAD))
            continue;
        if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
            return refuse(why, whylen,
                          "truncated: segment %u (%s: %ju bytes at byte %ju) "
                          "runs past the end of the file (%zu bytes; still "
                          "being written?)",
                          i, segment_name(ph.p_type, tname),
                          (uintmax_t)ph.p_filesz, (uintmax_t)ph.p_offset, size);
    }
    if (nload == 0)
        return refuse(why, whylen, "no loadable segment: nothing to map");
    if (whylen > 0)
        why[0] = '\0';
    return 0;
}
