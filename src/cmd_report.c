/*
 * cmd_report.c - `llmload report RESULT.json --format csv|md|json|table|html|prom [-o FILE]`: re-renders
 * a saved report.json with the same renderers `llmload run` used, so the output is byte for byte
 * what the run wrote.
 */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "llmload/cmd.h"
#include "llmload/console.h"
#include "llmload/error.h"
#include "llmload/exitcode.h"
#include "llmload/report.h"

static int write_table(const cJSON *doc, FILE *f)
{
    return console_table(f, doc);
}

static const struct {
    const char *name;
    int (*writer)(const cJSON *, FILE *);
} formats[] = {
    {"csv", report_write_summary_csv},
    {"md", report_write_markdown},
    {"prom", report_write_prometheus},
    {"json", report_write_json},
    {"table", write_table},
    {"html", report_write_html},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: llmload report RESULT.json --format csv|md|json|table|html|prom [-o FILE]\n"
               "  Re-renders a saved report.json: csv is summary.csv, md a Markdown table for a pull\n"
               "  request, table the console summary, html the self-contained report.html, prom the\n"
               "  Prometheus text of metrics.prom. Writes to stdout unless -o is given.\n");
}

int cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = NULL, *output = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK_;
        default:
            fprintf(stderr, "llmload report: unknown or incomplete option '%s' (try --help)\n", argv[optind - 1]);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "llmload report: expected exactly one RESULT.json (try --help)\n");
        return EXIT_USAGE;
    }
    if (!format) {
        fprintf(stderr, "llmload report: --format is required (csv, md, json, table, html or prom)\n");
        return EXIT_USAGE;
    }
    int (*writer)(const cJSON *, FILE *) = NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(format, formats[i].name) == 0)
            writer = formats[i].writer;
    if (!writer) {
        fprintf(stderr, "llmload report: --format: unknown format '%s' (csv, md, json, table, html or prom)\n", format);
        return EXIT_USAGE;
    }
    char err[512];
    cJSON *doc = NULL;
    int rc = report_load(argv[optind], &doc, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "llmload report: %s\n", err);
        return EXIT_RUNTIME;
    }
    if (output)
        rc = report_write_file(output, writer, doc, err, sizeof err);
    else if ((rc = writer(doc, stdout)) != 0)
        snprintf(err, sizeof err, "cannot render %s: %s", argv[optind], ll_strerror(rc));
    cJSON_Delete(doc);
    if (rc != 0) {
        fprintf(stderr, "llmload report: %s\n", err);
        return EXIT_RUNTIME;
    }
    return EXIT_OK_;
}
