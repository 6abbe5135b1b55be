/* dinofeat launch: N local processes of one data-parallel training, with the environment
 * torch.distributed's launchers set (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT). */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char help[] =
    "Usage: dinofeat launch --nproc N [--port P] [--timeout S] -- COMMAND [ARGS...]\n"
    "\n"
    "Runs COMMAND N times on this machine as the ranks of one data-parallel training: each process\n"
    "gets RANK and LOCAL_RANK (0..N-1), WORLD_SIZE (N), MASTER_ADDR (127.0.0.1 unless set) and\n"
    "MASTER_PORT, the variables torchrun sets; the train verbs (stego, sempart and neco train) join\n"
    "the group and split every batch between the ranks, so the result equals one process's. Unless\n"
    "OMP_NUM_THREADS is set, each rank computes with the machine's cores divided by N (at least one):\n"
    "more threads than cores slow every rank down many times. Signals (Ctrl-C, SIGTERM) are passed to every rank; when one rank fails, the others\n"
    "are stopped and launch exits with that rank's status. On several machines, start the verb on\n"
    "each with the variables set by the cluster's launcher instead (see the README).\n"
    "\n"
    "Options:\n"
    "  --nproc N           processes (2..256)\n"
    "  --port P            the rendezvous port (default: MASTER_PORT, else 29500)\n"
    "  --timeout S         seconds a rank waits for missing peers before failing (default 300)\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 when every rank succeeded, 1 usage, else the first failing rank's status (3 when\n"
    "it was killed by a signal).\n"
    "\n"
    "Example: dinofeat launch --nproc 2 -- dinofeat sempart train --model M --images DIR --out sp.dfsempart\n";

static volatile sig_atomic_t pending_signal = 0;

static void remember_signal(int signal_number) { pending_signal = signal_number; }

static void signal_all(const pid_t *children, int count, int signal_number) {
    for (int i = 0; i < count; i++)
        if (children[i] > 0) kill(children[i], signal_number);
}

static pid_t start_rank(int rank, int nproc, const char *port, const char *timeout, const char *threads,
                        char **command) {
    const pid_t pid = fork();
    if (pid != 0) return pid;
    char text[32];
    snprintf(text, sizeof text, "%d", rank);
    setenv("RANK", text, 1);
    setenv("LOCAL_RANK", text, 1);
    snprintf(text, sizeof text, "%d", nproc);
    setenv("WORLD_SIZE", text, 1);
    setenv("LOCAL_WORLD_SIZE", text, 1);
    setenv("MASTER_ADDR", getenv("MASTER_ADDR") ? getenv("MASTER_ADDR") : "127.0.0.1", 1);
    setenv("MASTER_PORT", port, 1);
    if (timeout) setenv("DINOFEAT_DISTRIBUTED_TIMEOUT", timeout, 1);
    if (threads) setenv("OMP_NUM_THREADS", threads, 1);
    execvp(command[0], command);
    fprintf(stderr, "dinofeat launch: cannot run %s: %s\n", command[0], strerror(errno));
    _exit(127);
}

static int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_INTERNAL; }

/* Waits for every rank; the first failure stops the others. */
static int supervise(pid_t *children, int nproc) {
    int running = nproc, code = EXIT_OK;
    while (running > 0) {
        int status;
        const pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno != EINTR) break;
            if (pending_signal) signal_all(children, nproc, pending_signal), pending_signal = 0;
            continue;
        }
        int rank = -1;
        for (int i = 0; i < nproc; i++)
            if (children[i] == pid) rank = i, children[i] = 0;
        if (rank < 0) continue;
        running--;
        if (exit_code_of(status) != 0 && code == EXIT_OK) {
            code = exit_code_of(status);
            if (WIFSIGNALED(status)) fprintf(stderr, "dinofeat launch: rank %d was killed by signal %d", rank, WTERMSIG(status));
            else fprintf(stderr, "dinofeat launch: rank %d exited with status %d", rank, code);
            fprintf(stderr, "%s\n", running ? "; stopping the other ranks" : "");
            signal_all(children, nproc, SIGTERM);
        }
    }
    return code;
}

static int run(int argc, char **argv) {
    long nproc = 0, timeout = 0;
    const char *port = getenv("MASTER_PORT") ? getenv("MASTER_PORT") : "29500";
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        long number;
        if (strcmp(argv[i], "--nproc") == 0 || strcmp(argv[i], "--port") == 0 || strcmp(argv[i], "--timeout") == 0) {
            if (value == NULL) return cli_usage_error("launch", "%s needs a value", argv[i]);
            const int is_port = strcmp(argv[i], "--port") == 0, is_nproc = strcmp(argv[i], "--nproc") == 0;
            if (cli_parse_long(value, is_nproc ? 2 : 1, is_port ? 65535 : is_nproc ? 256 : 86400, &number) != 0)
                return cli_usage_error("launch", "%s takes a whole number in %s, not '%s'", argv[i],
                                       is_nproc ? "2..256" : is_port ? "1..65535" : "1..86400", value);
            if (is_nproc) nproc = number;
            else if (is_port) port = value;
            else timeout = number;
            i++;
        } else {
            return cli_usage_error("launch", "unknown option '%s' (the command goes after --)", argv[i]);
        }
    }
    if (nproc == 0) return cli_usage_error("launch", "--nproc is required");
    if (i + 1 >= argc) return cli_usage_error("launch", "the command to run goes after --");
    char timeout_text[32], threads_text[32];
    snprintf(timeout_text, sizeof timeout_text, "%ld", timeout);
    /* as torchrun: ranks that each start a thread per core would oversubscribe the machine */
    const long cores = sysconf(_SC_NPROCESSORS_ONLN), threads = cores / nproc > 1 ? cores / nproc : 1;
    const int set_threads = getenv("OMP_NUM_THREADS") == NULL;
    snprintf(threads_text, sizeof threads_text, "%ld", threads);
    if (set_threads)
        fprintf(stderr, "dinofeat launch: OMP_NUM_THREADS=%ld for each of the %ld ranks (%ld cores); set it to choose\n",
                threads, nproc, cores);
    pid_t *children = calloc((size_t)nproc, sizeof *children);
    if (children == NULL) return EXIT_INTERNAL;
    struct sigaction forward = {.sa_handler = remember_signal};
    sigemptyset(&forward.sa_mask);
    sigaction(SIGINT, &forward, NULL);
    sigaction(SIGTERM, &forward, NULL);
    fflush(stdout), fflush(stderr);
    for (int rank = 0; rank < nproc; rank++) {
        children[rank] = start_rank(rank, (int)nproc, port, timeout ? timeout_text : NULL,
                                    set_threads ? threads_text : NULL, argv + i + 1);
        if (children[rank] < 0) {
            fprintf(stderr, "dinofeat launch: cannot start rank %d: %s\n", rank, strerror(errno));
            signal_all(children, rank, SIGTERM);
            children[rank] = 0;
            break;
        }
    }
    const int code = supervise(children, (int)nproc);
    free(children);
    return code;
}

const cli_verb verb_launch = {"launch", "N local processes of one data-parallel training (torchrun's variables)", help, run};
