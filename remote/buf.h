/* A growable byte buffer, always NUL-terminated so text can be read as a string. */
#ifndef TS_BUF_H
#define TS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;   /* NULL until the first append; data[len] == '\0' after */
    size_t len;
    size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

int buf_append(struct buf *b, const void *p, size_t n);   /* 0 / -1 (ENOMEM) */
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_consume(struct buf *b, size_t n);               /* drop n bytes from the front */
void buf_reset(struct buf *b);                           /* len = 0, keeps memory */
void buf_free(struct buf *b);
/* Gives the caller ownership of the data (never NULL: "" when empty); b is reset. */
char *buf_take(struct buf *b);

#endif
