/* The human reports of an evidence bundle: report.md, written for someone
 * outside the team (an ISP, the other site, the postmortem), and report.html
 * with the same content plus, per direction, an inline-SVG timeline of the
 * packets sent at one end and received at the other, with losses, NAT mapping
 * changes and keepalives marked.  The HTML is self-contained: no script, no
 * style sheet, font or image fetched from anywhere.
 *
 * Numbers come from the correlation (schema tunnelscope.correlate/1) and the
 * findings; the timeline from both ends' pcaps.  Each claim names the file of
 * the bundle that proves it. */
#ifndef TS_BUNDLE_REPORT_H
#define TS_BUNDLE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "playbook/bundle.h"
#include "playbook/finding.h"
#include "remote/buf.h"
#include "remote/err.h"

struct bundle_report_in {
    const char *peer[2];          /* names; NULL for an end that is not in the bundle */
    bool collected[2];
    const struct findings *findings;
    int exit_status;              /* -1: from the findings */
    const json_t *correlation;    /* NULL: the two-end capture was not correlated */
    const char *pcap_path[2];     /* where to read each end's capture now (NULL: none) */
    const char *pcap_file[2];     /* its name inside the bundle ("pcap/gw-a.pcap") */
    const char *window_file[2][2]; /* [direction][end]: the packets around that direction's
                                      losses ("pcap/windows/loss-gw-a-to-gw-b.gw-a.pcap"), or NULL */
    const struct bundle_raw *raws;
    const char *const *raw_file;  /* the bundle file of each raw output */
    size_t n_raws;
    double span_start, span_end;  /* CLOCK_REALTIME seconds, 0: unknown */
    const char *version;          /* tunnelscope version */
    const char *note;             /* free text, or NULL */
};

/* 0 / -1; the text is appended to out. */
int bundle_report_markdown(const struct bundle_report_in *in, struct buf *out, struct err *e);
int bundle_report_html(const struct bundle_report_in *in, struct buf *out, struct err *e);

/* The ESP packets of direction dir (0 A->B, 1 B->A) that the receiver never
 * saw while capturing: the first and last send time, in A's clock (0, 0 when
 * none).  pcap: both ends' captures; correlation: for the local addresses and
 * the clock offset.  0 / -1. */
int bundle_report_loss_span(const char *const pcap[2], const json_t *correlation, int dir,
                            int64_t *first_ns, int64_t *last_ns, struct err *e);

/* "1,243" */
void bundle_report_thousands(unsigned long long v, char *out, size_t size);

#endif
