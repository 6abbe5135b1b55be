/* dinofeat launch: N local processes of one data-parallel training, with the environment
 * torch.distributed's launchers set (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT). */
#define _GNU_SOURCE /* sched_getaffinity */
#include "cli.h"
#include "rows.h"
#include "dinofeat/distributed.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const usages[] = {"--nproc N [--port P] [--timeout S] -- COMMAND [ARGS...]", NULL};

static const char description[] =
    "Runs COMMAND N times on this machine as the ranks of one data-parallel training: each process\n"
    "gets RANK and LOCAL_RANK (0..N-1), WORLD_SIZE (N), MASTER_ADDR (127.0.0.1 unless set),\n"
    "MASTER_PORT and TORCHELASTIC_USE_AGENT_STORE=True, the variables torchrun sets; the train verbs\n"
    "(stego, sempart and neco train) join the group and split every batch between the ranks, so the\n"
    "result equals one process's. launch itself serves the rendezvous, as torchrun's agent does, on a\n"
    "port the system chooses and launch holds until the ranks end, so launches side by side never\n"
    "collide. Unless OMP_NUM_THREADS is set, each rank computes with the cores this process may use\n"
    "divided by N (at least one): more threads than cores slow every rank down many times. Signals\n"
    "(Ctrl-C, SIGTERM) are passed to every rank; when one rank fails, the others are stopped and\n"
    "launch exits with that rank's status. On several machines, start the verb on each with the\n"
    "variables set by the cluster's launcher instead (see the README).\n";

typedef struct request {
    long nproc, port, timeout;
} request;

static const cli_row rows[] = {
    ROW_LONG("nproc", "N", nproc, 2, 256, "processes", 0, CLI_ROW_REQUIRED),
    ROW_LONG("port", "P", port, 1, 65535,
             "serve the rendezvous on port P (default: MASTER_PORT if set, else one the\n"
             "system chooses)",
             0, CLI_ROW_NO_DEFAULT),
    ROW_LONG("timeout", "S", timeout, 1, 86400, "seconds a rank waits for missing peers before failing (default 300)",
             0, CLI_ROW_NO_DEFAULT),
};

static const cli_command launch_command = {
    .verb = "launch", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0],
    .epilogue = "Exit status: 0 when every rank succeeded, 1 usage, 2 the port cannot be served, else the first\n"
                "failing rank's status (3 when it was killed by a signal).\n"
                "\n"
                "Example: dinofeat launch --nproc 2 -- dinofeat sempart train --model M --images DIR --out sp.dfsempart\n",
    .request_size = sizeof(request), .operands = "-- COMMAND [ARGS...]"};

static volatile sig_atomic_t pending_signal = 0;

static void remember_signal(int signal_number) { pending_signal = signal_number; }

static void signal_all(const pid_t *children, int count, int signal_number) {
    for (int i = 0; i < count; i++)
        if (children[i] > 0) kill(children[i], signal_number);
}

/* The rank's variables go into this process's environment before fork: the store's threads are
 * running, so the child may only exec (setenv could wait forever on a lock one of them held). */
static pid_t start_rank(int rank, char **command) {
    char text[32];
    snprintf(text, sizeof text, "%d", rank);
    setenv("RANK", text, 1);
    setenv("LOCAL_RANK", text, 1);
    const pid_t pid = fork();
    if (pid != 0) return pid;
    execvp(command[0], command);
    const char *const parts[] = {"dinofeat launch: cannot run ", command[0], ": ", strerror(errno), "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (write(STDERR_FILENO, parts[i], strlen(parts[i])) < 0) break;
    _exit(127);
}

/* The cores this process may run on (its affinity), else the online ones. */
static long usable_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? online : 1;
}

/* Serves the rendezvous on port (0: one the system chooses) and points the ranks at it; a build
 * without process groups serves none, and the ranks get the port to fail on with their reason. */
static int serve_rendezvous(long port, df_distributed_store **store) {
    *store = NULL;
    char text[32];
    const df_status status = df_distributed_store_new((int)port, store);
    if (status == DF_E_UNSUPPORTED) {
        snprintf(text, sizeof text, "%ld", port ? port : 29500);
        setenv("MASTER_PORT", text, 1);
        return 0;
    }
    if (status != DF_OK) {
        fprintf(stderr, "dinofeat launch: %s\n", df_last_error_message());
        return -1;
    }
    int bound;
    df_distributed_store_port(*store, &bound);
    snprintf(text, sizeof text, "%d", bound);
    setenv("MASTER_PORT", text, 1);
    setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
    setenv("TORCHELASTIC_RESTART_COUNT", "0", 1);
    return 0;
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
    request r;
    int code = cli_rows_parse(&launch_command, -1, argc, argv, &r, NULL);
    if (code != EXIT_OK) return code;
    const long nproc = r.nproc, timeout = r.timeout;
    long port = r.port;
    if (port == 0 && getenv("MASTER_PORT") && cli_parse_long(getenv("MASTER_PORT"), 1, 65535, &port) != 0)
        return cli_usage_error("launch", "MASTER_PORT is '%s', not a port in 1..65535", getenv("MASTER_PORT"));
    const int i = cli_rows_first_operand() - 1; /* the "--" */
    if (i < 1 || strcmp(argv[i], "--") != 0 || i + 1 >= argc)
        return cli_usage_error("launch", "the command to run goes after --");
    char text[32];
    snprintf(text, sizeof text, "%ld", nproc);
    setenv("WORLD_SIZE", text, 1);
    setenv("LOCAL_WORLD_SIZE", text, 1);
    if (getenv("MASTER_ADDR") == NULL) setenv("MASTER_ADDR", "127.0.0.1", 1);
    if (timeout) {
        snprintf(text, sizeof text, "%ld", timeout);
        setenv("DINOFEAT_DISTRIBUTED_TIMEOUT", text, 1);
    }
    /* as torchrun: ranks that each start a thread per core would oversubscribe the machine */
    if (getenv("OMP_NUM_THREADS") == NULL) {
        const long cores = usable_cores(), threads = cores / nproc > 1 ? cores / nproc : 1;
        snprintf(text, sizeof text, "%ld", threads);
        setenv("OMP_NUM_THREADS", text, 1);
        fprintf(stderr, "dinofeat launch: OMP_NUM_THREADS=%ld for each of the %ld ranks (%ld cores); set it to choose\n",
                threads, nproc, cores);
    }
    df_distributed_store *store;
    if (serve_rendezvous(port, &store) != 0) return EXIT_INPUT;
    pid_t *children = calloc((size_t)nproc, sizeof *children);
    if (children == NULL) {
        df_distributed_store_free(store);
        return EXIT_INTERNAL;
    }
    struct sigaction forward = {.sa_handler = remember_signal};
    sigemptyset(&forward.sa_mask);
    sigaction(SIGINT, &forward, NULL);
    sigaction(SIGTERM, &forward, NULL);
    fflush(stdout), fflush(stderr);
    for (int rank = 0; rank < nproc; rank++) {
        children[rank] = start_rank(rank, argv + i + 1);
        if (children[rank] < 0) {
            fprintf(stderr, "dinofeat launch: cannot start rank %d: %s\n", rank, strerror(errno));
            signal_all(children, rank, SIGTERM);
            children[rank] = 0;
            break;
        }
    }
    code = supervise(children, (int)nproc);
    free(children);
    df_distributed_store_free(store);
    return code;
}

const cli_verb verb_launch = {"launch", "N local processes of one data-parallel training (torchrun's variables)", run,
                             &launch_command};
