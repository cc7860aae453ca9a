/* SPDX-License-Identifier: MIT */
/* io.c - saved models in files: nnf_net_save, an atomic save (temporary
 * file, fsync, rename over the target), and nnf_net_load, which reads the
 * whole file and hands it to serialize.c. */
#define _POSIX_C_SOURCE 200809L
#include "alloc.h"
#include "serialize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The system's reason for errno e (strerror_r: thread-safe, unlike strerror). */
static const char *reason(int e, char *buf, size_t size)
{
    if (strerror_r(e, buf, size) != 0)
        (void)snprintf(buf, size, "error %d", e);
    return buf;
}

/* "<path>" before a message of the load and save calls. */
static void where_path(char *buf, size_t cap, const void *path)
{
    (void)snprintf(buf, cap, "%s", (const char *)path);
}

/* Write all n bytes, through short writes and signals. Returns 0 or errno. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n > (size_t)1 << 30 ? (size_t)1 << 30 : n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* "<dir>/.<base>.XXXXXX" for path "<dir>/<base>" (".<base>.XXXXXX" without a
 * directory): hidden, and in the same file system, so rename() is atomic. */
static char *temp_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0, len = strlen(path);
    char *tmp = nnf__malloc(len + sizeof "..XXXXXX");
    if (tmp) {
        memcpy(tmp, path, dir);
        tmp[dir] = '.';
        memcpy(tmp + dir + 1, path + dir, len - dir);
        memcpy(tmp + len + 1, ".XXXXXX", sizeof ".XXXXXX");
    }
    return tmp;
}

/* Create the file tmpl, whose name ends in XXXXXX, as mkstemp() does but
 * with mode 0666 less the umask, as fopen() would (mkstemp's 0600 would hide
 * a new model from the group). The suffix comes from nnfast's generator
 * seeded with the time, the pid and a stack address; O_EXCL makes a
 * collision a retry, never a shared file. */
static int create_temp(char *tmpl)
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char *x = tmpl + strlen(tmpl) - 6;
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    nnf__rng rng;
    nnf__rng_seed(&rng, (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)(uintptr_t)&ts,
                  (uint64_t)getpid());
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t h = nnf__rng_next(&rng);
        for (int i = 0; i < 6; i++, h /= 62)
            x[i] = digits[h % 62];
        int fd = open(tmpl, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1; /* errno is EEXIST */
}

/* Write buf to a new temporary file tmp and flush it to disk. Saving over a
 * file keeps its permissions where it can. Returns 0 or errno; *what names
 * the failed step. */
static int write_temp(char *tmp, const char *path, const unsigned char *buf, size_t size,
                      const char **what)
{
    *what = "cannot create a temporary file";
    int fd = create_temp(tmp);
    if (fd < 0)
        return errno;
    struct stat old;
    if (stat(path, &old) == 0 && S_ISREG(old.st_mode))
        (void)fchmod(fd, old.st_mode & 0777); /* best effort: another owner's file */
    int e = write_all(fd, buf, size);
    if (e)
        *what = "cannot write the temporary file";
    if (!e && fsync(fd) != 0) {
        *what = "cannot flush the temporary file to disk";
        e = errno;
    }
    if (close(fd) != 0 && !e) {
        *what = "cannot close the temporary file";
        e = errno;
    }
    if (e)
        (void)unlink(tmp);
    return e;
}

/* fsync the directory of path, so that the rename itself is on disk too.
 * Best effort: the new file is already in place when this runs. */
static void sync_dir(char *tmp)
{
    char *slash = strrchr(tmp, '/');
    const char *dir = ".";
    if (slash) {
        slash[1] = '\0';
        dir = tmp;
    }
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
}

static nnf_status save_file(const nnf_net *net, const char *path, unsigned flags)
{
    if (!path)
        return nnf__fail(NNF_ERR_ARG, "path is NULL (expected a file name)");
    nnf_status st = nnf__check_save_flags(flags);
    if (st != NNF_OK)
        return st;
    size_t size = nnf__saved_size(net, flags);
    unsigned char *buf = nnf__malloc(size);
    char *tmp = temp_name(path);
    if (!buf || !tmp) {
        nnf__free(buf);
        nnf__free(tmp);
        return nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes to serialize the net", size);
    }
    nnf__save_to(net, buf, flags);

    const char *what;
    int e = write_temp(tmp, path, buf, size, &what);
    if (!e && rename(tmp, path) != 0) {
        what = "cannot rename the temporary file over it";
        e = errno;
        (void)unlink(tmp);
    }
    if (!e)
        sync_dir(tmp);
    nnf__free(buf);
    nnf__free(tmp);
    if (e) {
        char r[128];
        nnf__call_where(where_path, path);
        return nnf__fail(NNF_ERR_IO, "%s (%s)", what, reason(e, r, sizeof r));
    }
    return NNF_OK;
}

NNF_API nnf_status nnf_net_save(const nnf_net *net, const char *path, unsigned flags)
{
    nnf__call c;
    nnf_status st = nnf__enter_read(&c, __func__, net);
    if (st == NNF_OK)
        st = save_file(net, path, flags);
    return nnf__leave(&c, st);
}

/* Read the regular file fd of size bytes into buf; returns 0 or errno.
 * *got is what was read (less if the file shrank meanwhile). */
static int read_all(int fd, unsigned char *buf, size_t size, size_t *got)
{
    *got = 0;
    while (*got < size) {
        size_t left = size - *got;
        ssize_t n = read(fd, buf + *got, left > (size_t)1 << 30 ? (size_t)1 << 30 : left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return 0;
}

static nnf_status load_file(nnf_net **out, const char *path)
{
    char r[128];
    nnf__call_where(where_path, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nnf__fail(NNF_ERR_IO, "cannot open (%s)", reason(errno, r, sizeof r));
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno : 0;
    if (e || !S_ISREG(st.st_mode)) {
        (void)close(fd);
        return nnf__fail(NNF_ERR_IO, "%s", e ? reason(e, r, sizeof r) : "not a regular file");
    }
    /* a size_t, and a size malloc can be asked for */
    if ((uintmax_t)st.st_size > (uintmax_t)PTRDIFF_MAX) {
        (void)close(fd);
        return nnf__fail(NNF_ERR_IO, "%jd bytes is too large to read", (intmax_t)st.st_size);
    }
    size_t size = (size_t)st.st_size, got = 0;
    static const unsigned char empty[1];
    unsigned char *buf = size ? nnf__malloc(size) : NULL;
    if (size && !buf) {
        (void)close(fd);
        return nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes to read it", size);
    }
    e = size ? read_all(fd, buf, size, &got) : 0;
    (void)close(fd);
    nnf_status s = e ? nnf__fail(NNF_ERR_IO, "cannot read (%s)", reason(e, r, sizeof r))
                     : nnf__load_from(out, buf ? buf : empty, got);
    nnf__free(buf);
    return s;
}

NNF_API nnf_status nnf_net_load(nnf_net **out, const char *path, char *errbuf, size_t errbuf_size)
{
    nnf__call c;
    if (errbuf && errbuf_size)
        errbuf[0] = '\0';
    nnf__enter(&c, __func__, errbuf, errbuf_size, NULL, 0);
    nnf_status st = NNF_OK;
    if (out)
        *out = NULL;
    if (!out)
        st = nnf__fail(NNF_ERR_ARG, "out is NULL (expected a place for the loaded net)");
    else if (!path)
        st = nnf__fail(NNF_ERR_ARG, "path is NULL (expected a file name)");
    else
        st = load_file(out, path);
    return nnf__leave(&c, st);
}
