/* A program that never offloads starts no card: its Cilk shared memory (a _Cilk_shared global,
 * _Offload_shared_malloc) and Intel's queries work all the same. A second run of the same code
 * path that does offload starts the card then, and only then. */
#include <dirent.h>
#include <offload.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

_Cilk_shared int counter;

_Cilk_shared int add(int k) { return counter += k; }

/* Processes this one started: the card processes that are running. */
static int children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int ppid = 0;
        if (fscanf(f, "%*d %*s %*c %d", &ppid) == 1 && ppid == getpid()) n++;
        fclose(f);
    }
    if (d) closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    (void)argv;
    int *p = (int *)_Offload_shared_malloc(16 * sizeof(int));
    p[3] = 7;
    counter = p[3];
    printf("devices %d, running %d, shared %d\n", _Offload_number_of_devices() > 0, children(), counter);
    if (argc > 5) { /* never taken: the offload is in the program, but not on this path */
        int r = _Cilk_offload add(1);
        printf("%d\n", r);
    }
    printf("still running %d\n", children());
    int r = _Cilk_offload add(5);
    printf("offloaded: %d, running %d\n", r, children());
    _Offload_shared_free(p);
    return 0;
}
