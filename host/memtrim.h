/* SPDX-License-Identifier: MIT */
/*
 * memtrim.h - give the memory a burst freed back to the system.
 *
 * glibc's malloc gives back only the top of a heap, and only past
 * M_TRIM_THRESHOLD: free chunks below a live one stay resident.  After a
 * burst (5,000 pending calls, each with its connection) the worker's RSS
 * stayed at 30-50 MB long after every connection had closed.
 * malloc_trim(0) gives back every whole free page of every arena
 * (madvise), at a cost proportional to the free chunks it walks: done
 * once after a burst, not as a matter of course.
 *
 * Every loop calls memtrim_sweep() at each of its sweeps.  At most once
 * a second for the whole process, one of them looks at malloc's arenas
 * (mallinfo2) and trims when, since the last trim, the bytes free in them
 * grew by MEMTRIM_MIN from their lowest, or the bytes in use fell by
 * MEMTRIM_MIN from their highest: memory that a burst used and gave back
 * to malloc.  (Both: free() gives the top of a heap back by itself, which
 * lowers the free bytes while a burst's connections close; a first trim
 * while some of them were still open left the rest of them resident.)
 * It also trims when a loop whose traffic stopped gave MEMTRIM_IDLE_MIN
 * or more of its evmem cache back (evmem_flush_idle, at each sweep): the
 * blocks the caches took back while the burst closed, after the first
 * trim, each keeping a page resident.  Steady traffic reuses what it
 * frees and never trims.  A no-op without
 * glibc.
 *
 * With every cache given back, glibc's per-thread cache is emptied too
 * (tcache.h: the blocks it holds are in use to malloc_trim), and the
 * look gives back the pages of the call-handle chunks whose handles are
 * all free (handle_trim).  When loops emptied their caches because of a
 * trim (flush_epoch), one trims once more MEMTRIM_FOLLOW_MS after the last
 * of them did, without asking them again: emptying a tcache allocates,
 * touching pages the trim gave back.
 */
#ifndef HOST_MEMTRIM_H
#define HOST_MEMTRIM_H

/* Free bytes that must have piled up in the arenas before a trim. */
#define MEMTRIM_MIN (1024 * 1024)
/* Bytes a loop's evmem cache must give back when the loop's traffic
 * stops (evmem_flush_idle) for the next look to trim regardless. */
#define MEMTRIM_IDLE_MIN (64 * 1024)
/* How often the arenas are looked at, at most (whole process). */
#define MEMTRIM_EVERY_MS 1000
/* After a trim the loops empty their caches at their next sweeps (every
 * 100 ms); this long after the last of them did, one trims once more. */
#define MEMTRIM_FOLLOW_MS 200

/* Any thread, with a monotonic clock reading in ms: look, and trim if a
 * burst's memory is free (logged at debug level: "gave back"). */
void memtrim_sweep(long long now_ms);

/* Trims done since the start (any thread). */
unsigned long memtrim_count(void);

#endif
