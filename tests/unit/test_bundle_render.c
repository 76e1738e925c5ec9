/* report.html of a bundle made from the real two-end lab captures
 * (tests/fixtures/pcap: esp-drop-to-b), rendered by headless Chromium
 * (Debian's chromium, installed by .ci/install-deps).  The screenshot is kept
 * for review: <build>/report-screenshot.png.  Label "render" (slow: Chromium
 * starts in ~20 s); skipped when chromium is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "playbook/bundle.h"
#include "playbook/bundle_fs.h"
#include "playbook/correlate.h"
#include "playbook/correlate_json.h"
#include "playbook/replay.h"

static void test_report_html_renders_in_headless_chromium(void **state)
{
    if (access("/usr/bin/chromium", X_OK)) {
        skip();
        return;
    }
    char tmp[] = "/tmp/ts-test-render-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    char pa[512], pb[512], out[600];
    snprintf(pa, sizeof pa, "%s/pcap/lab-gw-a.pcap", TS_FIXTURES);
    snprintf(pb, sizeof pb, "%s/pcap/lab-gw-b.pcap", TS_FIXTURES);
    snprintf(out, sizeof out, "%s/esp-drop-to-b", tmp);
    struct correlate_opts o;
    replay_correlate_opts(NULL, NULL, &o);
    struct correlate_result *r = NULL;
    struct err e = {0};
    assert_int_equal(correlate_files(pa, pb, &o, &r, &e), 0);
    json_t *j = correlate_result_json(r, "gw-a", "gw-b");
    char *corr = json_dumps(j, JSON_PRESERVE_ORDER);
    json_decref(j);
    correlate_result_free(r);
    /* the finding is test input: what the report is asked to present */
    struct findings fs = FINDINGS_INIT;
    struct finding *f = findings_add(&fs, "reach.esp_lost_a_to_b", STEP_REACH, SEV_FAILURE,
                                     "Escalate to the ISP of site B with this bundle",
                                     "ESP from gw-a is lost on the way to gw-b");
    finding_add_evidence(f, NULL, "capture A+B", NULL);
    struct bundle_input in = {.peer = {{"gw-a", true}, {"gw-b", true}},
                              .pcap = {pa, pb},
                              .findings = &fs,
                              .exit_status = -1,
                              .correlation_json = corr};
    if (bundle_write(&in, out, &e))
        fail_msg("bundle_write: %s", e.msg);
    findings_free(&fs);
    free(corr);

    char build[512], png[600], cmd[4096];
    snprintf(build, sizeof build, "%s", TS_BINARY);
    char *slash = strrchr(build, '/');
    if (slash)
        *slash = '\0';
    snprintf(png, sizeof png, "%s/report-screenshot.png", build);
    unlink(png);
    snprintf(cmd, sizeof cmd,
             "timeout 120 /usr/bin/chromium --headless --no-sandbox --disable-gpu "
             "--disable-background-networking --disable-component-update --disable-sync "
             "--no-first-run --user-data-dir=%s/profile --window-size=1000,1400 --screenshot=%s "
             "file://%s/report.html >/dev/null 2>&1",
             tmp, png, out);
    assert_int_equal(system(cmd), 0);
    struct stat st;
    assert_int_equal(stat(png, &st), 0);
    assert_true(st.st_size > 20000); /* text and two timelines, not a blank page */
    unsigned char sig[8];
    FILE *fp = fopen(png, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(sig, 1, 8, fp), 8);
    fclose(fp);
    assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
    bfs_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_html_renders_in_headless_chromium),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
