/*
 * calibrate.h - how the target counts a synthetic prompt, measured once before the first
 * benchmark (config -> discover -> calibrate -> source). A tokenizer download is never needed:
 * the target's own POST /tokenize (vLLM, SGLang, llama.cpp) counts probe texts, and the chat
 * template's share comes from /tokenize with messages (vLLM), /apply-template (llama.cpp) or one
 * probe request; a server without /tokenize gets probe requests (max_tokens 1, not streamed) whose
 * usage.prompt_tokens are fitted instead. The result is a source_costs table (source.h), checked
 * by counting a few built prompts on the server. Probes never enter any benchmark's statistics.
 */
#ifndef LLMLOAD_CALIBRATE_H
#define LLMLOAD_CALIBRATE_H

#include <stddef.h>

#include "llmload/config.h"
#include "llmload/source.h"

typedef enum calibrate_method {
    CALIBRATE_NONE = 0, /* --no-calibrate, a dataset, or the target gave no counts */
    CALIBRATE_TOKENIZE, /* POST /tokenize */
    CALIBRATE_PROBE     /* usage.prompt_tokens of probe requests */
} calibrate_method;

typedef struct calibrate_result {
    calibrate_method method;
    const char *template_source; /* static: "tokenize", "apply-template", "probe", or "none" */
    source_costs costs;          /* valid when method != CALIBRATE_NONE */
    double overhead_text;        /* tokens of the bare marker without the chat template */
    double tokens_per_word;      /* the mean cost of a corpus word under costs */
    int requests;                /* requests the calibration sent */
    int checks;                  /* built prompts counted by the server afterwards */
    double error_pct_mean;       /* mean |server count - asked| / asked of those, in % */
    double error_pct_max;
    long error_tokens_max;       /* largest |server count - asked| */
    long max_model_len;          /* from /tokenize (vLLM); 0 when the server did not say */
    char note[200];              /* why method is NONE, or "" */
} calibrate_result;

/* Measures cfg's target for model and fills *out. Runs only for synthetic data with cfg->calibrate
 * (else method NONE with a note, and no request). A target that gives no counts, or fails the
 * calibration's requests, is not an error: method NONE, and the note says why. Returns 0, or
 * LL_ENOMEM / LL_ELIB with one line in err. */
int calibrate_run(const config *cfg, const char *model, calibrate_result *out, char *err, size_t errlen);

/* The model's max_model_len from GET /v1/models (vLLM lists it per model), or 0 when the target
 * does not say or does not answer. One blocking request. */
long calibrate_model_limit(const config *cfg, const char *model);

/* Least-squares line y = a*x + b through n >= 2 points with distinct x. 0, or LL_EINVAL when the
 * points do not determine a line. */
int calibrate_fit_line(const double *x, const double *y, size_t n, double *a, double *b);

/* The method's name for reports: "none", "tokenize", "probe"; static string. */
const char *calibrate_method_name(calibrate_method m);

/* The result as report.json's "calibration" object; ownership moves to caller (cJSON_Delete).
 * 0 or LL_ENOMEM. */
struct cJSON;
int calibrate_to_json(const calibrate_result *r, struct cJSON **out);

#endif
