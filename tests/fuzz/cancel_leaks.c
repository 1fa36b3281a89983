/* Leak check of cancelled proofs, built by tests/fuzz/cancel_leaks.py with ASan, UBSan
 * and LeakSanitizer (no Python in the process, so any leak reported is the prover's).
 *
 *     cancel_leaks PROGRAM_FILE LOG_ROWS PROFILE_ID THREADS STEPS SPAN_MS
 *
 * Proves fib(n) with a trace of 2^LOG_ROWS rows STEPS + 1 times, cancelling run i after
 * i/STEPS of SPAN_MS (so the cancels fall in every step of the proof when SPAN_MS is
 * about one proof's time), and prints for each run the step the proof had reached and
 * its return code. SPAN_MS < 0: one proof, not cancelled (to time it). Exit status 0;
 * LeakSanitizer turns a leak into a non-zero exit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "prover.h"

static uint8_t program[1 << 16];
static size_t program_len;
static int flag;
static volatile uint32_t progress;
static fe input;
static unsigned profile_id, threads;
static int code;
static zk_prove_result result;

static void *prove(void *arg) {
    (void)arg;
    code = zk_prove(program, program_len, &input, 1, profile_id, threads, 1ULL << 40, &result);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s PROGRAM_FILE LOG_ROWS PROFILE_ID THREADS STEPS SPAN_MS\n",
                argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 2;
    program_len = fread(program, 1, sizeof program, f);
    fclose(f);
    unsigned log_rows = (unsigned)atoi(argv[2]);
    profile_id = (unsigned)atoi(argv[3]);
    threads = (unsigned)atoi(argv[4]);
    int steps = atoi(argv[5]);
    double span_ms = atof(argv[6]);
    if (steps < 1) return 2;
    input = ((1ULL << log_rows) - 5) / 6; /* fib(n) runs 6n + 4 cycles */
    if (span_ms < 0) {
        prove(NULL);
        free(result.receipt);
        return code == ZK_PROVE_OK ? 0 : 3;
    }
    int finished = 0, cancelled = 0;
    for (int i = 0; i <= steps; i++) {
        flag = 0;
        progress = 0;
        result.progress = &progress;
        result.cancel = &flag;
        pthread_t thread;
        if (pthread_create(&thread, NULL, prove, NULL) != 0) return 2;
        usleep((useconds_t)(span_ms * 1000.0 * i / steps));
        uint32_t reached = progress;
        zk_prove_cancel(&flag);
        pthread_join(thread, NULL);
        if (code == ZK_PROVE_OK) finished++;
        else if (code == ZK_PROVE_CANCELLED) cancelled++;
        else return 3;
        printf("run %d: step %u, code %d\n", i, reached, code);
        free(result.receipt);
        result.receipt = NULL;
    }
    printf("finished %d, cancelled %d\n", finished, cancelled);
    return 0;
}
