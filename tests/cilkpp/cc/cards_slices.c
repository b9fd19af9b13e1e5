// dnn-cc: --cards 3
/* Several real cards: three card processes, started only when a program first offloads to each,
 * all seeing the one Cilk shared memory. Each card sums its own slice of a shared array (the
 * three spawned offloads run together), and reports its device number and process id; target
 * number 5 wraps to card 2. */
#include <dirent.h>
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N 300
#define CARDS 3
_Cilk_shared double data[N];
_Cilk_shared double sums[CARDS];
_Cilk_shared int devices[CARDS];
_Cilk_shared long pids[CARDS];

/* Processes this one started: the card processes that are running. */
static int children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int ppid = 0;
        char *close;
        if (fgets(buf, sizeof buf, f) && (close = strrchr(buf, ')'))) sscanf(close + 2, "%*c %d", &ppid);
        fclose(f);
        n += ppid == getpid();
    }
    if (d) closedir(d);
    return n;
}

_Cilk_shared void slice(int c)
{
    double s = 0;
    for (int i = c * (N / CARDS); i < (c + 1) * (N / CARDS); i++) s += data[i];
    sums[c] = s;
    devices[c] = _Offload_get_device_number();
    pids[c] = getpid();
}

int main(void)
{
    for (int i = 0; i < N; i++) data[i] = i;
    printf("cards %d, running before any offload %d\n", _Offload_number_of_devices(), children());
    int where = -2;
    #pragma offload target(mic : 5) out(where)
    where = _Offload_get_device_number();
    printf("mic:5 ran on %d, running %d\n", where, children());
    for (int c = 0; c < CARDS; c++)
        _Cilk_spawn _Cilk_offload_to(c) slice(c);
    _Cilk_sync;
    printf("running %d\n", children());
    for (int c = 0; c < CARDS; c++) printf("slice %d: sum %g on device %d\n", c, sums[c], devices[c]);
    int distinct = pids[0] != pids[1] && pids[1] != pids[2] && pids[0] != pids[2], host = 0;
    for (int c = 0; c < CARDS; c++) host += pids[c] == getpid();
    printf("distinct card processes %s, slices on the host %d\n", distinct ? "yes" : "no", host);
    return 0;
}
