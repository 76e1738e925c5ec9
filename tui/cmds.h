/* The front ends of tunnelscope: one function per sub-command, each in its own
 * tui/cmd_*.c.  Every one returns a process exit status (see tui/exitcodes.h). */
#ifndef TS_CMDS_H
#define TS_CMDS_H

struct cmd {
    const char *name;
    const char *synopsis;  /* one line for --help */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

int cmd_exec(int argc, char **argv);     /* tui/cmd_exec.c */
int cmd_console(int argc, char **argv);  /* tui/cmd_console.c: also when argv[1] is no command */

/* The table, NULL-terminated, defined in tui/main.c. */
extern const struct cmd ts_cmds[];

int cmd_correlate(int argc, char **argv);
int cmd_probe(int argc, char **argv);   /* tui/cmd_probe.c */
int cmd_verify(int argc, char **argv);  /* tui/cmd_verify.c */
int cmd_replay(int argc, char **argv);  /* tui/cmd_replay.c */
int cmd_merge(int argc, char **argv);   /* tui/cmd_merge.c */
int cmd_diagnose(int argc, char **argv); /* tui/cmd_diagnose.c */

#endif
