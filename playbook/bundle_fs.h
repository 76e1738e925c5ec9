/* Safe file handling for the evidence bundle (internal to playbook/bundle*.c
 * and its tests): everything is done relative to a folder descriptor, every
 * path component opened with O_NOFOLLOW, every file created with O_EXCL and
 * mode 0600, every folder 0700.  Relative paths are checked: no absolute
 * path, no "..", no empty or "." component. */
#ifndef TS_BUNDLE_FS_H
#define TS_BUNDLE_FS_H

#include <stddef.h>

#include "remote/buf.h"
#include "remote/err.h"

/* 1 when rel is a plain relative path (a/b/c, no "..", ".", "" components). */
int bfs_rel_ok(const char *rel);

int bfs_mkdir(int root, const char *rel, struct err *e);
/* Creates root/rel (must not exist), mode 0600, for writing.  fd / -1. */
int bfs_create_new(int root, const char *rel, struct err *e);
/* Creates root/rel (must not exist) with data. */
int bfs_write_new(int root, const char *rel, const void *data, size_t len, struct err *e);
/* Creates root/rel (must not exist) with the contents of the file src. */
int bfs_copy_new(const char *src, int root, const char *rel, struct err *e);
/* Opens root/rel read-only without following any symlink; must be a regular file.  fd / -1. */
int bfs_open_beneath(int root, const char *rel, struct err *e);
/* Reads the whole of fd into b (limit 1 GiB). */
int bfs_read_fd(int fd, struct buf *b, struct err *e);
/* Removes a folder tree without following symlinks (best effort). */
void bfs_rmtree(const char *path);

/* Every regular file under root (relative paths, sorted); a symlink or any
 * other kind of file is an error naming it.  The caller frees each and *v. */
int bfs_list_files(int root, char ***v, size_t *n, struct err *e);

/* Writing a bundle: a fresh private folder beside the target, renamed to the
 * target when complete, then packed into target.tar.gz. */
struct bfs_target {
    char *dir;      /* the target folder */
    char *tgz;      /* dir + ".tar.gz" */
    char *tmp;      /* the temporary folder */
    int tmp_fd;
    int committed;  /* dir exists */
};
int bfs_target_begin(struct bfs_target *t, const char *dir, struct err *e);
int bfs_target_commit(struct bfs_target *t, struct err *e); /* rename + .tar.gz; frees t */
void bfs_target_abort(struct bfs_target *t);                 /* removes what was made; frees t */

/* Packs the folder dir as top-level entry `top` into a new file out (libarchive, ustar+gzip). */
int bfs_pack_tgz(const char *dir, const char *top, const char *out, struct err *e);
/* Unpacks a .tar.gz into a new private temporary folder (*tmp, to be removed
 * with bfs_rmtree) after checking every entry (regular files and folders
 * only, safe relative names, one top-level folder, size limits); *root is
 * that top-level folder.  0 / -1. */
int bfs_unpack_tgz(const char *path, char **tmp, char **root, struct err *e);

#endif
