/* SPDX-License-Identifier: MIT */
/* io.c - saved models in files: nnf_net_save, an atomic save (temporary
 * file, fsync, rename over the target, fsync of the directory), and
 * nnf_net_load, which judges a file by its first bytes before it reads the
 * rest and hands it to load.c. */
#define _DEFAULT_SOURCE /* flock, O_NOFOLLOW and O_DIRECTORY with C11 */
#include "alloc.h"
#include "serialize.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* The system's reason for errno e (strerror_r: thread-safe, unlike strerror). */
static const char *reason(int e, char *buf, size_t size)
{
    if (strerror_r(e, buf, size) != 0)
        (void)snprintf(buf, size, "error %d", e);
    return buf;
}

/* The path before a message of the load and save calls, shortened in the
 * middle when long, so that the message keeps its reason. */
static void where_path(char *buf, size_t cap, const void *data)
{
    enum { HEAD = 40, TAIL = 100 };
    const char *path = data;
    size_t len = strlen(path);
    if (len <= HEAD + TAIL + 3)
        (void)snprintf(buf, cap, "%s", path);
    else
        (void)snprintf(buf, cap, "%.*s...%s", HEAD, path, path + len - TAIL);
}

/* ---- saving */

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

/* The temporary files of a save to "<dir>/<base>" are "<dir>/.<b>.nnf-XXXXXX",
 * with <b> the base cut so that the name fits in NAME_MAX: hidden, in the
 * same file system (so rename() is atomic), and recognizable afterwards. */
#define TEMP_TAG ".nnf-"
enum { TEMP_SUFFIX = sizeof TEMP_TAG - 1 + 6 };

typedef struct temp {
    char *name;        /* the whole path of the temporary file */
    size_t dir_len;    /* bytes of "<dir>/" at its start (0: the current directory) */
    size_t prefix_len; /* bytes of ".<b>" + TEMP_TAG after them, before the 6 characters */
} temp;

static int temp_name(temp *t, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash - path) + 1 : 0, base = strlen(path) - dir;
    size_t keep = base < NAME_MAX - 1 - TEMP_SUFFIX ? base : NAME_MAX - 1 - TEMP_SUFFIX;
    t->name = nnf__malloc(dir + 1 + keep + TEMP_SUFFIX + 1);
    if (!t->name)
        return -1;
    memcpy(t->name, path, dir);
    t->name[dir] = '.';
    memcpy(t->name + dir + 1, path + dir, keep);
    memcpy(t->name + dir + 1 + keep, TEMP_TAG "XXXXXX", TEMP_SUFFIX + 1);
    t->dir_len = dir;
    t->prefix_len = 1 + keep + sizeof TEMP_TAG - 1;
    return 0;
}

/* Create the temporary file, as mkstemp() does but with mode 0666 less the
 * umask, as fopen() would (mkstemp's 0600 would hide a new model from the
 * group), and lock it (flock) while it is written: a later save knows a
 * locked temporary file from one a crash left behind. The suffix comes
 * from nnfast's generator seeded with the time, the pid and a stack
 * address; O_EXCL makes a collision a retry, never a shared file. */
static int create_temp(temp *t)
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char *x = t->name + t->dir_len + t->prefix_len;
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    nnf__rng rng;
    nnf__rng_seed(&rng, (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)(uintptr_t)&ts,
                  (uint64_t)getpid());
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t h = nnf__rng_next(&rng);
        for (int i = 0; i < 6; i++, h /= 62)
            x[i] = digits[h % 62];
        int fd = open(t->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0)
            (void)flock(fd, LOCK_EX | LOCK_NB); /* a new file: nobody else holds it */
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1; /* errno is EEXIST */
}

/* Write buf to a new temporary file and flush it to disk. Saving over a
 * file keeps its permission bits. Returns 0 or errno; *what names the
 * failed step. */
static int write_temp(temp *t, const char *path, const unsigned char *buf, size_t size,
                      const char **what)
{
    *what = "cannot create a temporary file";
    int fd = create_temp(t);
    if (fd < 0)
        return errno;
    int e = 0;
    struct stat old;
    if (stat(path, &old) == 0 && S_ISREG(old.st_mode) && fchmod(fd, old.st_mode & 07777) != 0) {
        *what = "cannot give the temporary file the permission bits of the file it replaces";
        e = errno;
    }
    if (!e && (e = write_all(fd, buf, size)) != 0)
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
        (void)unlink(t->name);
    return e;
}

/* A temporary file of this target that nobody is writing: a save that
 * crashed left it. Old enough that its creator had time to lock it, and
 * unlocked; the lock proves its writer is gone, so removing it is safe. */
static void remove_if_stale(int dir, const char *name, time_t now)
{
    enum { AGE = 10 }; /* seconds */
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;
    struct stat st, again;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < now - AGE &&
        flock(fd, LOCK_EX | LOCK_NB) == 0 && fstatat(dir, name, &again, AT_SYMLINK_NOFOLLOW) == 0 &&
        again.st_ino == st.st_ino && again.st_dev == st.st_dev)
        (void)unlinkat(dir, name, 0);
    (void)close(fd);
}

/* Remove the temporary files that earlier saves of the same target left
 * behind when they were killed (best effort: a failure here fails nothing). */
static void remove_stale_temps(int dir, const temp *t)
{
    int fd = dup(dir);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            (void)close(fd);
        return;
    }
    const char *prefix = t->name + t->dir_len, *ours = prefix;
    size_t len = t->prefix_len + 6;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strlen(e->d_name) == len && !strncmp(e->d_name, prefix, t->prefix_len) &&
            strcmp(e->d_name, ours) != 0)
            remove_if_stale(dir, e->d_name, now);
    (void)closedir(d);
}

/* After the rename: flush the directory (so that the rename itself is on
 * disk) and clear stale temporary files. Returns 0 or errno. */
static int finish_in_dir(const temp *t)
{
    char *dir = t->dir_len ? t->name : (char *)".";
    char keep = 0;
    if (t->dir_len) {
        keep = t->name[t->dir_len];
        t->name[t->dir_len] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;
    if (t->dir_len)
        t->name[t->dir_len] = keep;
    if (fd < 0)
        return errno;
    if (fsync(fd) != 0 && errno != EINVAL) /* EINVAL: a file system without directory fsync */
        e = errno;
    remove_stale_temps(fd, t);
    (void)close(fd);
    return e;
}

static nnf_status check_path(const char *path)
{
    if (!path)
        return nnf__fail(NNF_ERR_ARG, "path is NULL (expected a file name)");
    if (!path[0])
        return nnf__fail(NNF_ERR_ARG, "path is empty (expected a file name)");
    if (path[strlen(path) - 1] == '/')
        return nnf__fail(NNF_ERR_ARG, "path %s ends in '/' (expected a file name)", path);
    return NNF_OK;
}

static nnf_status save_file(const nnf_net *net, const char *path, unsigned flags)
{
    nnf_status st = check_path(path);
    if (st == NNF_OK)
        st = nnf__check_save_flags(flags);
    if (st != NNF_OK)
        return st;
    size_t size = nnf__saved_size(net, flags);
    unsigned char *buf = nnf__malloc(size);
    temp t = {NULL, 0, 0};
    if (!buf || temp_name(&t, path) != 0) {
        nnf__free(buf);
        return nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes to serialize the net", size);
    }
    nnf__save_to(net, buf, flags);

    const char *what;
    int e = write_temp(&t, path, buf, size, &what);
    if (!e && rename(t.name, path) != 0) {
        what = "cannot rename the temporary file over it";
        e = errno;
        (void)unlink(t.name);
    }
    if (!e && (e = finish_in_dir(&t)) != 0)
        what = "saved, but cannot flush its directory to disk: the new file may not survive a "
               "crash";
    nnf__free(buf);
    nnf__free(t.name);
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

/* ---- loading */

/* Read up to n bytes at buf; returns 0 or errno; *got is what was read. */
static int read_all(int fd, unsigned char *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t left = n - *got;
        ssize_t r = read(fd, buf + *got, left > (size_t)1 << 30 ? (size_t)1 << 30 : left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return 0;
}

/* What a file that is not a regular file is, for the message. */
static const char *kind_of(mode_t mode)
{
    return S_ISDIR(mode)    ? "is a directory"
           : S_ISFIFO(mode) ? "is a FIFO"
           : S_ISSOCK(mode) ? "is a socket"
           : S_ISCHR(mode)  ? "is a character device"
           : S_ISBLK(mode)  ? "is a block device"
                            : "is not a regular file";
}

/* Open path for reading if it is a regular file, without blocking on a
 * FIFO and without opening a device at all. *size receives its size. */
static nnf_status open_regular(const char *path, int *fd, size_t *size)
{
    char r[128];
    struct stat st;
    if (stat(path, &st) != 0)
        return nnf__fail(NNF_ERR_IO, "cannot open (%s)", reason(errno, r, sizeof r));
    if (!S_ISREG(st.st_mode))
        return nnf__fail(NNF_ERR_IO, "%s (expected a saved model file)", kind_of(st.st_mode));
    *fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (*fd < 0)
        return nnf__fail(NNF_ERR_IO, "cannot open (%s)", reason(errno, r, sizeof r));
    nnf_status bad = NNF_OK;
    if (fstat(*fd, &st) != 0)
        bad = nnf__fail(NNF_ERR_IO, "cannot open (%s)", reason(errno, r, sizeof r));
    else if (!S_ISREG(st.st_mode)) /* replaced meanwhile */
        bad = nnf__fail(NNF_ERR_IO, "%s (expected a saved model file)", kind_of(st.st_mode));
    else if ((uintmax_t)st.st_size > (uintmax_t)PTRDIFF_MAX)
        bad = nnf__fail(NNF_ERR_IO, "%jd bytes is too large to read", (intmax_t)st.st_size);
    if (bad != NNF_OK) {
        (void)close(*fd);
        return bad;
    }
    *size = (size_t)st.st_size;
    return NNF_OK;
}

/* The first bytes of the file (at most NNF__PREFIX_MAX) decide whether it
 * can be a saved net of its size; only then is the rest read. So a small
 * model inside a huge sparse file costs a small read, not the file. */
static nnf_status read_model(int fd, size_t size, unsigned char **out)
{
    char r[128];
    size_t head = size < NNF__PREFIX_MAX ? size : NNF__PREFIX_MAX, got = 0;
    unsigned char *buf = nnf__malloc(head ? head : 1);
    if (!buf)
        return nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes to read it", head);
    int e = read_all(fd, buf, head ? head : 1, &got);
    nnf_status st = NNF_OK;
    if (e)
        st = nnf__fail(NNF_ERR_IO, "cannot read (%s)", reason(e, r, sizeof r));
    else if (!size && got) /* procfs and sysfs report size 0 */
        st = nnf__fail(NNF_ERR_IO, "reports a size of 0 bytes but has data (a /proc or /sys "
                                   "file?): not a saved model file");
    else if (got < head)
        st = nnf__fail(NNF_ERR_IO,
                       "cannot read: the file shrank to %zu bytes while it was "
                       "read",
                       got);
    else
        st = nnf__check_prefix(buf, head, size);
    if (st == NNF_OK && size > head) {
        unsigned char *whole = nnf__malloc(size);
        if (!whole)
            st = nnf__fail(NNF_ERR_NOMEM, "could not allocate %zu bytes to read it", size);
        else {
            memcpy(whole, buf, head);
            e = read_all(fd, whole + head, size - head, &got);
            if (e || got < size - head)
                st = nnf__fail(NNF_ERR_IO, "cannot read (%s)",
                               e ? reason(e, r, sizeof r) : "the file shrank while it was read");
            nnf__free(buf);
            buf = whole;
        }
    }
    if (st != NNF_OK) {
        nnf__free(buf);
        buf = NULL;
    }
    *out = buf;
    return st;
}

static nnf_status load_file(nnf_net **out, const char *path)
{
    nnf__call_where(where_path, path);
    size_t size = 0;
    int fd = -1;
    nnf_status st = open_regular(path, &fd, &size);
    if (st != NNF_OK)
        return st;
    unsigned char *buf = NULL;
    st = read_model(fd, size, &buf);
    (void)close(fd);
    if (st == NNF_OK)
        st = nnf__load_from(out, buf, size);
    nnf__free(buf);
    return st;
}

NNF_API nnf_status nnf_net_load(nnf_net **out, const char *path, char *errbuf, size_t errbuf_size)
{
    nnf__call c;
    nnf_status st = nnf__enter_load(&c, __func__, out, errbuf, errbuf_size);
    if (st == NNF_OK)
        st = check_path(path);
    if (st == NNF_OK)
        st = load_file(out, path);
    return nnf__leave(&c, st);
}
