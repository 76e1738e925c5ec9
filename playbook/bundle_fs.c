#include "playbook/bundle_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#define READ_LIMIT (1024ull * 1024 * 1024)
#define UNPACK_LIMIT (2ull * 1024 * 1024 * 1024)
#define UNPACK_MAX_ENTRIES 20000

int bfs_rel_ok(const char *rel)
{
    if (!rel || !*rel || *rel == '/' || strlen(rel) >= PATH_MAX)
        return 0;
    const char *p = rel;
    for (;;) {
        const char *s = strchr(p, '/');
        size_t n = s ? (size_t)(s - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (!s)
            return 1;
        p = s + 1;
    }
}

/* Opens the folder holding the last component of rel; *leaf points into rel. */
static int open_parent(int root, const char *rel, const char **leaf, struct err *e)
{
    if (!bfs_rel_ok(rel))
        return err_set(e, ERR_USAGE, "%s: not a safe relative path", rel ? rel : "(null)");
    int fd = dup(root);
    if (fd < 0)
        return err_set(e, ERR_IO, "dup: %s", strerror(errno));
    const char *p = rel;
    char comp[NAME_MAX + 1];
    for (;;) {
        const char *s = strchr(p, '/');
        if (!s)
            break;
        size_t n = (size_t)(s - p);
        if (n > NAME_MAX) {
            close(fd);
            return err_set(e, ERR_USAGE, "%s: name too long", rel);
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close(fd);
        if (nfd < 0)
            return err_set(e, ERR_IO, "%s: %s", rel, strerror(saved));
        fd = nfd;
        p = s + 1;
    }
    *leaf = p;
    return fd;
}

int bfs_mkdir(int root, const char *rel, struct err *e)
{
    const char *leaf;
    int pfd = open_parent(root, rel, &leaf, e);
    if (pfd < 0)
        return -1;
    int r = mkdirat(pfd, leaf, 0700);
    int saved = errno;
    close(pfd);
    if (r)
        return err_set(e, ERR_IO, "%s: %s", rel, strerror(saved));
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int create_new(int root, const char *rel, struct err *e)
{
    const char *leaf;
    int pfd = open_parent(root, rel, &leaf, e);
    if (pfd < 0)
        return -1;
    int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int saved = errno;
    close(pfd);
    if (fd < 0)
        return err_set(e, ERR_IO, "%s: %s", rel, strerror(saved));
    return fd;
}

int bfs_create_new(int root, const char *rel, struct err *e)
{
    return create_new(root, rel, e);
}

int bfs_write_new(int root, const char *rel, const void *data, size_t len, struct err *e)
{
    int fd = create_new(root, rel, e);
    if (fd < 0)
        return -1;
    int r = write_all(fd, data, len);
    int saved = errno;
    if (close(fd) || r)
        return err_set(e, ERR_IO, "%s: %s", rel, strerror(r ? saved : errno));
    return 0;
}

int bfs_copy_new(const char *src, int root, const char *rel, struct err *e)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return err_set(e, ERR_IO, "%s: %s", src, strerror(errno));
    int out = create_new(root, rel, e);
    if (out < 0) {
        close(in);
        return -1;
    }
    char b[65536];
    int r = 0;
    for (;;) {
        ssize_t n = read(in, b, sizeof b);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = err_set(e, ERR_IO, "%s: %s", src, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (write_all(out, b, (size_t)n)) {
            r = err_set(e, ERR_IO, "%s: %s", rel, strerror(errno));
            break;
        }
    }
    close(in);
    if (close(out) && !r)
        r = err_set(e, ERR_IO, "%s: %s", rel, strerror(errno));
    return r;
}

int bfs_open_beneath(int root, const char *rel, struct err *e)
{
    const char *leaf;
    int pfd = open_parent(root, rel, &leaf, e);
    if (pfd < 0)
        return -1;
    int fd = openat(pfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    int saved = errno;
    close(pfd);
    if (fd < 0)
        return err_set(e, saved == ENOENT ? ERR_NOT_FOUND : ERR_IO, "%s: %s", rel,
                       saved == ELOOP ? "is a symlink" : strerror(saved));
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, ERR_IO, "%s: not a regular file", rel);
    }
    return fd;
}

int bfs_read_fd(int fd, struct buf *b, struct err *e)
{
    char tmp[65536];
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(e, ERR_IO, "read: %s", strerror(errno));
        if (n == 0)
            break;
        if (b->len + (size_t)n > READ_LIMIT)
            return err_set(e, ERR_IO, "file larger than 1 GiB");
        if (buf_append(b, tmp, (size_t)n))
            return err_set(e, ERR_INTERNAL, "out of memory");
    }
    if (!b->data && buf_append(b, "", 0))
        return err_set(e, ERR_INTERNAL, "out of memory");
    return 0;
}

static void rmtree_at(int dfd, int depth)
{
    if (depth > 64)
        return;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                rmtree_at(sub, depth + 1);
            unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
        } else {
            unlinkat(dirfd(d), de->d_name, 0);
        }
    }
    closedir(d);
}

void bfs_rmtree(const char *path)
{
    if (!path)
        return;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        unlink(path);
        return;
    }
    rmtree_at(fd, 0);
    rmdir(path);
}

struct list {
    char **v;
    size_t n, cap;
};

static int list_add(struct list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static int list_walk(int dfd, const char *prefix, struct list *l, int depth, struct err *e)
{
    if (depth > 16) {
        close(dfd);
        return err_set(e, ERR_IO, "%s: folders nested too deep", prefix);
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return err_set(e, ERR_IO, "%s: %s", *prefix ? prefix : ".", strerror(errno));
    }
    int r = 0;
    struct dirent *de;
    while (!r && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char rel[PATH_MAX];
        if ((size_t)snprintf(rel, sizeof rel, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name) >=
            sizeof rel) {
            r = err_set(e, ERR_IO, "%s: path too long", prefix);
            break;
        }
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
            r = err_set(e, ERR_IO, "%s: %s", rel, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            r = sub < 0 ? err_set(e, ERR_IO, "%s: %s", rel, strerror(errno))
                        : list_walk(sub, rel, l, depth + 1, e);
        } else if (S_ISREG(st.st_mode)) {
            if (list_add(l, rel))
                r = err_set(e, ERR_INTERNAL, "out of memory");
        } else {
            r = err_set(e, ERR_IO, "%s: %s, not a regular file", rel,
                        S_ISLNK(st.st_mode) ? "a symlink" : "a special file");
        }
    }
    closedir(d);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int bfs_list_files(int root, char ***v, size_t *n, struct err *e)
{
    struct list l = {0};
    int fd = dup(root);
    if (fd < 0)
        return err_set(e, ERR_IO, "dup: %s", strerror(errno));
    /* fdopendir shares the offset: rewind a dup'd descriptor's directory stream */
    lseek(fd, 0, SEEK_SET);
    if (list_walk(fd, "", &l, 0, e)) {
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        free(l.v);
        return -1;
    }
    if (l.n)
        qsort(l.v, l.n, sizeof *l.v, cmp_str);
    *v = l.v;
    *n = l.n;
    return 0;
}

/* ---- target folder ---- */

/* a + b + c, malloc'd */
static char *str_cat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

static void target_free(struct bfs_target *t)
{
    if (t->tmp_fd >= 0)
        close(t->tmp_fd);
    free(t->dir);
    free(t->tgz);
    free(t->tmp);
    memset(t, 0, sizeof *t);
    t->tmp_fd = -1;
}

int bfs_target_begin(struct bfs_target *t, const char *dir, struct err *e)
{
    memset(t, 0, sizeof *t);
    t->tmp_fd = -1;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    t->dir = strndup(dir, len);
    if (!t->dir)
        return err_set(e, ERR_INTERNAL, "out of memory");
    const char *slash = strrchr(t->dir, '/');
    const char *base = slash ? slash + 1 : t->dir;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
        target_free(t);
        return err_set(e, ERR_USAGE, "%s: not a usable bundle folder name", dir);
    }
    char *parent = slash ? strndup(t->dir, (size_t)(slash - t->dir) + (slash == t->dir)) : strdup(".");
    t->tgz = str_cat3(t->dir, ".tar.gz", "");
    t->tmp = NULL;
    if (parent) {
        char *pre = str_cat3(parent, "/.", base);
        t->tmp = pre ? str_cat3(pre, ".tmp-XXXXXX", "") : NULL;
        free(pre);
    }
    free(parent);
    if (!t->tgz || !t->tmp) {
        target_free(t);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    struct stat st;
    if (!lstat(t->dir, &st) || !lstat(t->tgz, &st)) {
        err_set(e, ERR_USAGE, "%s already exists: a bundle never overwrites",
                !lstat(t->dir, &st) ? t->dir : t->tgz);
        target_free(t);
        return -1;
    }
    if (!mkdtemp(t->tmp)) {
        err_set(e, ERR_IO, "%s: %s", t->tmp, strerror(errno));
        target_free(t);
        return -1;
    }
    chmod(t->tmp, 0700);
    t->tmp_fd = open(t->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (t->tmp_fd < 0) {
        err_set(e, ERR_IO, "%s: %s", t->tmp, strerror(errno));
        rmdir(t->tmp);
        target_free(t);
        return -1;
    }
    return 0;
}

int bfs_target_commit(struct bfs_target *t, struct err *e)
{
    if (renameat2(AT_FDCWD, t->tmp, AT_FDCWD, t->dir, RENAME_NOREPLACE)) {
        err_set(e, ERR_IO, "%s: %s", t->dir, strerror(errno));
        return -1; /* the caller aborts */
    }
    t->committed = 1;
    const char *slash = strrchr(t->dir, '/');
    const char *base = slash ? slash + 1 : t->dir;
    if (bfs_pack_tgz(t->dir, base, t->tgz, e))
        return -1;
    target_free(t);
    return 0;
}

void bfs_target_abort(struct bfs_target *t)
{
    if (!t->dir)
        return;
    if (t->committed)
        bfs_rmtree(t->dir);
    else
        bfs_rmtree(t->tmp);
    target_free(t);
}

/* ---- tar.gz ---- */

static int pack_walk(struct archive *a, int dfd, const char *top, const char *prefix, int depth,
                     struct err *e)
{
    char **v = NULL;
    size_t n = 0;
    (void)depth;
    if (bfs_list_files(dfd, &v, &n, e))
        return -1;
    int r = 0;
    /* folders first (in the order met), each once */
    struct list dirs = {0};
    for (size_t i = 0; i < n && !r; i++) {
        for (char *s = strchr(v[i], '/'); s && !r; s = strchr(s + 1, '/')) {
            *s = '\0';
            int seen = 0;
            for (size_t k = 0; k < dirs.n; k++)
                if (!strcmp(dirs.v[k], v[i]))
                    seen = 1;
            if (!seen && list_add(&dirs, v[i]))
                r = err_set(e, ERR_INTERNAL, "out of memory");
            *s = '/';
        }
    }
    struct archive_entry *ent = archive_entry_new();
    if (!ent)
        r = err_set(e, ERR_INTERNAL, "out of memory");
    char name[PATH_MAX];
    time_t now = time(NULL);
    for (size_t k = 0; k <= dirs.n && !r; k++) {
        archive_entry_clear(ent);
        snprintf(name, sizeof name, "%s/%s%s", top, k ? dirs.v[k - 1] : "", k ? "/" : "");
        archive_entry_set_pathname(ent, name);
        archive_entry_set_filetype(ent, AE_IFDIR);
        archive_entry_set_perm(ent, 0700);
        archive_entry_set_mtime(ent, now, 0);
        if (archive_write_header(a, ent) != ARCHIVE_OK)
            r = err_set(e, ERR_IO, "tar: %s", archive_error_string(a));
    }
    for (size_t i = 0; i < n && !r; i++) {
        int fd = bfs_open_beneath(dfd, v[i], e);
        struct stat st;
        if (fd < 0) {
            r = -1;
            break;
        }
        if (fstat(fd, &st)) {
            close(fd);
            r = err_set(e, ERR_IO, "%s: %s", v[i], strerror(errno));
            break;
        }
        archive_entry_clear(ent);
        snprintf(name, sizeof name, "%s/%s", top, v[i]);
        archive_entry_set_pathname(ent, name);
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_perm(ent, 0600);
        archive_entry_set_size(ent, st.st_size);
        archive_entry_set_mtime(ent, st.st_mtim.tv_sec, 0);
        if (archive_write_header(a, ent) != ARCHIVE_OK) {
            close(fd);
            r = err_set(e, ERR_IO, "tar: %s", archive_error_string(a));
            break;
        }
        char b[65536];
        ssize_t got;
        off_t total = 0;
        while ((got = read(fd, b, sizeof b)) > 0 && total < st.st_size) {
            if (archive_write_data(a, b, (size_t)got) < 0) {
                r = err_set(e, ERR_IO, "tar: %s", archive_error_string(a));
                break;
            }
            total += got;
        }
        close(fd);
        if (!r && total != st.st_size)
            r = err_set(e, ERR_IO, "%s changed while being packed", v[i]);
    }
    archive_entry_free(ent);
    (void)prefix;
    for (size_t i = 0; i < dirs.n; i++)
        free(dirs.v[i]);
    free(dirs.v);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return r;
}

int bfs_pack_tgz(const char *dir, const char *top, const char *out, struct err *e)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return err_set(e, ERR_IO, "%s: %s", dir, strerror(errno));
    int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        close(dfd);
        return err_set(e, ERR_IO, "%s: %s", out, strerror(errno));
    }
    struct archive *a = archive_write_new();
    int r = 0;
    /* gzip level 1: packing is most of an export's CPU (pcaps of 2 x 66 MiB: 6.9 s
     * CPU at the default level 6); level 1 takes a fraction of that for a
     * slightly larger file (tests/bench/bundle_export.c) */
    if (!a || archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "compression-level", "1") != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK)
        r = err_set(e, ERR_IO, "tar: %s", a ? archive_error_string(a) : "out of memory");
    if (!r)
        r = pack_walk(a, dfd, top, "", 0, e);
    if (a) {
        if (archive_write_close(a) != ARCHIVE_OK && !r)
            r = err_set(e, ERR_IO, "tar: %s", archive_error_string(a));
        archive_write_free(a);
    }
    close(dfd);
    if (close(fd) && !r)
        r = err_set(e, ERR_IO, "%s: %s", out, strerror(errno));
    if (r)
        unlink(out);
    return r;
}

int bfs_unpack_tgz(const char *path, char **tmp_out, char **root_out, struct err *e)
{
    const char *td = getenv("TMPDIR");
    char *tmp = str_cat3(td && *td == '/' ? td : "/tmp", "/tunnelscope-bundle-XXXXXX", "");
    if (!tmp)
        return err_set(e, ERR_INTERNAL, "out of memory");
    if (!mkdtemp(tmp)) {
        err_set(e, ERR_IO, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int root = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct archive *a = archive_read_new();
    int r = 0;
    char *top = NULL;
    if (root < 0 || !a)
        r = err_set(e, ERR_IO, "%s: cannot set up unpacking", path);
    if (!r && (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
               archive_read_support_format_tar(a) != ARCHIVE_OK ||
               archive_read_open_filename(a, path, 65536) != ARCHIVE_OK))
        r = err_set(e, ERR_IO, "%s: %s", path, archive_error_string(a));
    unsigned long long total = 0;
    unsigned entries = 0;
    struct archive_entry *ent;
    while (!r) {
        int h = archive_read_next_header(a, &ent);
        if (h == ARCHIVE_EOF)
            break;
        if (h != ARCHIVE_OK) {
            r = err_set(e, ERR_PARSE, "%s: %s", path, archive_error_string(a));
            break;
        }
        if (++entries > UNPACK_MAX_ENTRIES) {
            r = err_set(e, ERR_PARSE, "%s: too many entries", path);
            break;
        }
        char name[PATH_MAX];
        const char *pn = archive_entry_pathname(ent);
        if (!pn || strlen(pn) >= sizeof name) {
            r = err_set(e, ERR_PARSE, "%s: entry without a usable name", path);
            break;
        }
        snprintf(name, sizeof name, "%s", pn);
        size_t nl = strlen(name);
        while (nl && name[nl - 1] == '/')
            name[--nl] = '\0';
        if (!bfs_rel_ok(name)) {
            r = err_set(e, ERR_PARSE, "%s: unsafe entry name '%s'", path, pn);
            break;
        }
        char *slash = strchr(name, '/');
        size_t tl = slash ? (size_t)(slash - name) : strlen(name);
        if (!top) {
            top = strndup(name, tl);
            if (!top) {
                r = err_set(e, ERR_INTERNAL, "out of memory");
                break;
            }
        } else if (strlen(top) != tl || strncmp(top, name, tl)) {
            r = err_set(e, ERR_PARSE, "%s: more than one top-level folder ('%s')", path, name);
            break;
        }
        mode_t ft = archive_entry_filetype(ent);
        if (ft == AE_IFDIR) {
            if (bfs_mkdir(root, name, e)) {
                r = -1;
                break;
            }
        } else if (ft == AE_IFREG && !archive_entry_hardlink(ent)) {
            la_int64_t sz = archive_entry_size(ent);
            if (sz < 0 || total + (unsigned long long)sz > UNPACK_LIMIT) {
                r = err_set(e, ERR_PARSE, "%s: entry '%s' too large", path, name);
                break;
            }
            total += (unsigned long long)sz;
            int fd = create_new(root, name, e);
            if (fd < 0) {
                r = -1;
                break;
            }
            char b[65536];
            la_ssize_t got;
            while ((got = archive_read_data(a, b, sizeof b)) > 0)
                if (write_all(fd, b, (size_t)got)) {
                    r = err_set(e, ERR_IO, "%s: %s", name, strerror(errno));
                    break;
                }
            if (!r && got < 0)
                r = err_set(e, ERR_PARSE, "%s: %s", path, archive_error_string(a));
            close(fd);
        } else {
            r = err_set(e, ERR_PARSE, "%s: entry '%s' is not a regular file or folder", path, name);
        }
    }
    if (a)
        archive_read_free(a);
    if (root >= 0)
        close(root);
    if (!r && !top)
        r = err_set(e, ERR_PARSE, "%s: empty archive", path);
    if (r) {
        bfs_rmtree(tmp);
        free(tmp);
        free(top);
        return -1;
    }
    *root_out = str_cat3(tmp, "/", top);
    free(top);
    if (!*root_out) {
        bfs_rmtree(tmp);
        free(tmp);
        return err_set(e, ERR_INTERNAL, "out of memory");
    }
    *tmp_out = tmp;
    return 0;
}
