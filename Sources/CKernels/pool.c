// A small thread pool for the decode loop: a token runs ~80 parallel loops of a few tens of
// microseconds each, so workers spin briefly between loops instead of sleeping and being woken.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "ckernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

enum { MAX_WORKERS = 255, SPINS_BEFORE_SLEEP = 20000, MAX_CHUNKS = 0xFFFF };

// The ticket holds the loop's generation (high 32 bits), its number of chunks (16 bits) and its next unclaimed
// chunk (low 16 bits). A chunk is claimed by a compare-and-swap of the whole ticket, so a worker late from one loop
// can never take a chunk of the next with the previous loop's parameters. The number of chunks is in the ticket
// because it is checked before that swap: read from a field of its own, a worker that had read the last loop's
// ticket (every chunk taken) could see the next loop's larger count, written before its ticket, and take a chunk
// past the last loop's end, run it with the next loop's task before that loop began, and count it as one of
// that loop's (20,000 loops of 1 to 4 chunks ran some chunk's items once too often in 3 runs of 5).
static struct {
    pthread_mutex_t submit;  // one loop at a time; a second caller runs its loop alone
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    _Atomic uint64_t ticket;
    atomic_long unfinished;
    atomic_int sleepers;
    long workers;
    atomic_long helpers;  // workers that join the current loop: those numbered below it
    _Atomic(ck_pool_task) task;
    _Atomic(void *) context;
    atomic_long count;
} pool = {.submit = PTHREAD_MUTEX_INITIALIZER, .sleep_lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static uint64_t generation_of(uint64_t ticket) { return ticket >> 32; }
static long chunks_of(uint64_t ticket) { return (long)((ticket >> 16) & MAX_CHUNKS); }
static long next_of(uint64_t ticket) { return (long)(ticket & MAX_CHUNKS); }

// Claims and runs chunks of loop `generation` until none is left, on the thread in `slot`.
static void run_chunks(uint64_t generation, long slot) {
    uint64_t ticket = atomic_load(&pool.ticket);
    for (;;) {
        if (generation_of(ticket) != generation) return;
        const long chunk = next_of(ticket), chunks = chunks_of(ticket);
        if (chunk >= chunks) return;
        if (!atomic_compare_exchange_weak(&pool.ticket, &ticket, ticket + 1)) continue;
        // The loop cannot end, nor its parameters change, before this chunk is done.
        long count = atomic_load_explicit(&pool.count, memory_order_relaxed);
        ck_pool_task task = atomic_load_explicit(&pool.task, memory_order_relaxed);
        task(atomic_load_explicit(&pool.context, memory_order_relaxed), slot, count * chunk / chunks, count * (chunk + 1) / chunks);
        atomic_fetch_sub(&pool.unfinished, 1);
        ticket = atomic_load(&pool.ticket);
    }
}

// Worker `number` (0…) helps loops of more than number + 1 threads, in slot number + 1.
static void *worker(void *number) {
    const long index = (long)(intptr_t)number;
    uint64_t seen = generation_of(atomic_load(&pool.ticket));
    for (;;) {
        long spins = 0;
        while (generation_of(atomic_load(&pool.ticket)) == seen) {
            if (++spins < SPINS_BEFORE_SLEEP) {
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&pool.sleep_lock);
            atomic_fetch_add(&pool.sleepers, 1);
            while (generation_of(atomic_load(&pool.ticket)) == seen) pthread_cond_wait(&pool.wake, &pool.sleep_lock);
            atomic_fetch_sub(&pool.sleepers, 1);
            pthread_mutex_unlock(&pool.sleep_lock);
        }
        seen = generation_of(atomic_load(&pool.ticket));
        // `helpers` was stored before the ticket that announced this loop.
        if (index < atomic_load_explicit(&pool.helpers, memory_order_relaxed)) run_chunks(seen, index + 1);
    }
    return 0;
}

void ck_pool_run(long threads, long chunks, long count, ck_pool_task task, void *context) {
    if (threads <= 1 || chunks <= 1 || chunks > MAX_CHUNKS || pthread_mutex_trylock(&pool.submit) != 0) {
        for (long c = 0; c < chunks; c++) task(context, 0, count * c / chunks, count * (c + 1) / chunks);
        return;
    }
    // Workers are started on first need and kept.
    while (pool.workers < threads - 1 && pool.workers < MAX_WORKERS) {
        pthread_t thread;
        if (pthread_create(&thread, 0, worker, (void *)(intptr_t)pool.workers) != 0) break;
        pthread_detach(thread);
        pool.workers++;
    }
    atomic_store_explicit(&pool.helpers, threads - 1, memory_order_relaxed);
    atomic_store_explicit(&pool.task, task, memory_order_relaxed);
    atomic_store_explicit(&pool.context, context, memory_order_relaxed);
    atomic_store_explicit(&pool.count, count, memory_order_relaxed);
    atomic_store(&pool.unfinished, chunks);
    uint64_t generation = generation_of(atomic_load(&pool.ticket)) + 1;
    atomic_store(&pool.ticket, generation << 32 | (uint64_t)chunks << 16);  // publishes the parameters above
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.sleep_lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.sleep_lock);
    }
    run_chunks(generation, 0);
    while (atomic_load(&pool.unfinished) > 0) CPU_RELAX();
    pthread_mutex_unlock(&pool.submit);
}
