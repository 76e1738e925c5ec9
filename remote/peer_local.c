/* The `local` transport: the same commands as over SSH, run on this machine
 * with fork/exec (/bin/sh -c LINE, LINE built by rcmd_build_line() so that
 * timeout(1) and sudo -n behave as on a peer).  Each command runs in its own
 * session/process group so that stopping it reaches its children. */
#include "remote/peer_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_GRACE_MS 5000   /* past the limit, our own SIGKILL */
#define LOCAL_STOP_MS 2000    /* after SIGTERM, SIGKILL */
#define LOCAL_LINGER_MS 1000  /* after exit, how long descendants may hold the pipes */
#define READ_BUDGET (1u << 20) /* per fd per dispatch: one busy stream cannot starve the rest */

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

void peer_local_begin(struct peer *p, struct rcmd *c)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, pi[2] = {-1, -1};
    char msg[160];
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 || pipe2(pi, O_CLOEXEC) != 0) {
        snprintf(msg, sizeof msg, "pipe: %s", strerror(errno));
        goto fail;
    }
    clock_gettime(CLOCK_REALTIME, &c->res.started);
    c->start_mono = peer_now_ms();
    c->deadline = c->start_mono + (int64_t)c->limit_s * 1000 + LOCAL_GRACE_MS;
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(msg, sizeof msg, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        setsid();
        dup2(pi[0], 0); /* held open by us: EOF tells the watcher to stop */
        dup2(po[1], 1);
        dup2(pe[1], 2);
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execl("/bin/sh", "sh", "-c", c->line, (char *)NULL);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    close(pi[0]);
    c->fd_in = pi[1];
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);
    c->pid = pid;
    c->fd_out = po[0];
    c->fd_err = pe[0];
    c->state = RCMD_RUNNING;
    return;
fail:
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0)
            close(po[i]);
        if (pe[i] >= 0)
            close(pe[i]);
        if (pi[i] >= 0)
            close(pi[i]);
    }
    peer_cmd_finish(c, ERR_IO, msg);
}

void peer_local_stop(struct rcmd *c)
{
    if (c->state != RCMD_RUNNING || c->reaped || c->stop_sent)
        return;
    close_fd(&c->fd_in); /* the watcher ends the process group; SIGTERM/SIGKILL follow */
    c->stop_sent = 1;
    c->stop_deadline = peer_now_ms() + LOCAL_STOP_MS;
}

void peer_local_release(struct rcmd *c)
{
    close_fd(&c->fd_in);
    close_fd(&c->fd_out);
    close_fd(&c->fd_err);
    if (c->pid > 0 && !c->reaped) {
        if (kill(-c->pid, SIGKILL) == 0 || kill(c->pid, SIGKILL) == 0)
            waitpid(c->pid, &c->wstatus, 0);
        c->reaped = 1;
    }
}

size_t peer_local_pollfds(struct peer *p, struct pollfd *fds, size_t max)
{
    size_t n = 0;
    for (struct rcmd *c = p->cmds; c; c = c->next) {
        if (c->state != RCMD_RUNNING)
            continue;
        int fdv[2] = {c->fd_out, c->fd_err};
        for (int i = 0; i < 2; i++) {
            if (fdv[i] < 0)
                continue;
            if (n < max) {
                fds[n].fd = fdv[i];
                fds[n].events = POLLIN;
                fds[n].revents = 0;
            }
            n++;
        }
    }
    return n;
}

static void drain_fd(struct rcmd *c, int *fd, int is_stderr)
{
    char tmp[16384];
    size_t budget = READ_BUDGET;
    while (*fd >= 0 && budget > 0 && c->state == RCMD_RUNNING) {
        ssize_t r = read(*fd, tmp, sizeof tmp);
        if (r > 0) {
            peer_cmd_output(c, is_stderr, tmp, (size_t)r);
            budget -= (size_t)r < budget ? (size_t)r : budget;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        close_fd(fd); /* EOF or error */
    }
}

static void end_local(struct rcmd *c)
{
    close_fd(&c->fd_in);
    close_fd(&c->fd_out);
    close_fd(&c->fd_err);
    if (WIFEXITED(c->wstatus)) {
        c->res.exit_status = WEXITSTATUS(c->wstatus);
    } else if (WIFSIGNALED(c->wstatus)) {
        const char *name = sigabbrev_np(WTERMSIG(c->wstatus));
        snprintf(c->res.exit_signal, sizeof c->res.exit_signal, "%s", name ? name : "?");
        c->res.exit_status = -1;
    }
    if (c->stopped_for_limit)
        peer_cmd_finish(c, ERR_TIMEOUT, "time limit reached (killed locally)");
    else
        peer_cmd_finish(c, ERR_NONE, "");
}

void peer_local_dispatch(struct peer *p, const struct pollfd *fds, size_t n)
{
    (void)fds;
    (void)n;
    int64_t now = peer_now_ms();
    struct rcmd *c = p->cmds;
    while (c) {
        struct rcmd *next = c->next;
        if (c->state == RCMD_QUEUED && p->state == PEER_READY)
            peer_local_begin(p, c);
        if (c->state != RCMD_RUNNING) {
            c = next;
            continue;
        }
        /* Non-blocking reads on every open pipe: cheaper than matching
         * revents, and it also drains what arrived since poll() returned. */
        drain_fd(c, &c->fd_out, 0);
        drain_fd(c, &c->fd_err, 1);
        if (c->state != RCMD_RUNNING) {
            c = next;
            continue;
        }
        if (!c->reaped) {
            pid_t r = waitpid(c->pid, &c->wstatus, WNOHANG);
            if (r == c->pid) {
                c->reaped = 1;
                c->end_mono = now;
            }
        }
        if (c->reaped && ((c->fd_out < 0 && c->fd_err < 0) || now - c->end_mono >= LOCAL_LINGER_MS)) {
            end_local(c);
        } else if (!c->reaped) {
            if (c->stop_requested && !c->stop_sent)
                peer_local_stop(c);
            if (c->stop_sent && now >= c->stop_deadline) {
                kill(-c->pid, c->stop_escalated ? SIGKILL : SIGTERM);
                c->stop_escalated = 1;
                c->stop_deadline = now + 1000;
            }
            if (!c->stop_sent && now >= c->deadline) {
                c->stopped_for_limit = 1;
                c->res.timed_out = 1;
                kill(-c->pid, SIGKILL);
                c->stop_sent = 1;
                c->stop_deadline = now + 1000;
            }
        }
        c = next;
    }
}

int peer_local_timeout_ms(const struct peer *p)
{
    int64_t now = peer_now_ms();
    int64_t t = -1;
    for (const struct rcmd *c = p->cmds; c; c = c->next) {
        if (c->state == RCMD_QUEUED)
            return 0;
        if (c->state != RCMD_RUNNING)
            continue;
        int64_t mine;
        if (c->reaped || (c->fd_out < 0 && c->fd_err < 0))
            mine = 20; /* waiting for the exit or for descendants to let go */
        else if (c->stop_requested && !c->stop_sent)
            mine = 0;
        else
            mine = (c->stop_sent ? c->stop_deadline : c->deadline) - now;
        if (mine < 0)
            mine = 0;
        if (t < 0 || mine < t)
            t = mine;
    }
    return t > INT32_MAX ? INT32_MAX : (int)t;
}
