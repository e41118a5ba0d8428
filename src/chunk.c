/*
 * chunk.c - classify one SSE event's JSON payload in one pass (client -> sse -> chunk -> record).
 *
 * A small recursive-descent JSON validator that carries, for each value, its role: what the key
 * path above it means to llmload (choices[*].delta.content, usage.prompt_tokens, error.message,
 * ...). Everything else is validated and skipped. Key invariant: it allocates nothing, recurses
 * at most CHUNK_MAX_DEPTH levels, and never reads outside [data, data+len); every pointer it
 * stores is a slice of data.
 */
#include "llmload/chunk.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "llmload/error.h"

/* Real chunks nest 5 deep (root, choices, choice, delta, tool_calls[*].function); 32 leaves room
 * for logprobs and vendor extras while bounding the recursion on hostile input. */
#define CHUNK_MAX_DEPTH 32

/* What a value means at its place in the document. */
enum chunk_role {
    R_SKIP = 0,    /* validated, ignored */
    R_ROOT,        /* the top-level object */
    R_CHOICES,     /* top-level "choices" */
    R_CHOICE,      /* choices[*] */
    R_DELTA,       /* choices[*].delta, or .message of a non-streamed response */
    R_TOOLS,       /* delta.tool_calls: any element is a tool-call delta */
    R_FUNC,        /* delta.function_call (the legacy single tool call) */
    R_USAGE,       /* top-level "usage" */
    R_ERROR,       /* top-level "error" */
    R_OUTPUT,      /* delta.content, choices[*].text */
    R_REASONING,   /* delta.reasoning_content, delta.reasoning */
    R_FINISH,      /* choices[*].finish_reason */
    R_PROMPT_TOK,  /* usage.prompt_tokens */
    R_COMPL_TOK,   /* usage.completion_tokens */
    R_ERR_MSG,     /* error.message */
    R_ERR_CODE,    /* error.code */
    R_TOP_OBJECT,  /* top-level "object": "error" marks a bare vLLM ErrorResponse */
    R_TOP_MSG,     /* top-level "message", used when "object" is "error" */
    R_TOP_CODE,    /* top-level "code", likewise */
    R_MESSAGE,     /* choices[*].message: read like delta only when the choice has no delta */
    R_PARTS,       /* delta.content as an array of parts */
    R_PART,        /* one content part: "text" is output, "thinking" is reasoning */
    R_THINKING,    /* part.thinking: a string, or an array of text parts (Mistral) */
    R_THINK_PART,  /* one element of part.thinking: its "text" is reasoning */
    R_TIMINGS,     /* top-level "timings" (llama.cpp) */
    R_TIM_PROMPT_N,
    R_TIM_PROMPT_MS,
    R_TIM_PRED_N,
    R_TIM_PRED_MS
};

typedef struct chunk_lex {
    const char *p, *end;
    chunk_info *ci;
    int obj_error;       /* top-level "object": "error" seen */
    int err_msg_set;     /* error.message seen (wins over the top-level message) */
    int err_code_set;
    const char *top_msg;
    size_t top_msg_len;
    long top_code;
    const char *choices_open; /* just after the root's "choices": [ */
    int prefix_clean;         /* nothing before choices_open carried meaning */
    int n_output;             /* content/text strings seen, and the last one */
    const char *output_s;
    size_t output_n;
    /* A choice's message is counted aside and added at the choice's end only if the choice had
     * no delta (Perplexity sends a cumulative message beside every delta): no buffering needed. */
    int in_msg;               /* inside choices[*].message */
    int choice_delta;         /* the current choice has a delta object */
    int msg_seen;             /* some choice had a message (no shape is learnt from it) */
    int m_output, m_reasoning, m_tool;
    chunk_server_timings *tim; /* chunk_timings' output (NULL in chunk_scan) */
} chunk_lex;

static int chunk_value(chunk_lex *lx, enum chunk_role role, int depth);

#define KEY_IS(k, n, lit) ((n) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

/* Role of the member named k inside an object whose role is parent. Keys are compared in their
 * raw (escaped) form: servers never escape these names. */
static enum chunk_role chunk_key_role(enum chunk_role parent, const char *k, size_t n)
{
    switch (parent) {
    case R_ROOT:
        if (KEY_IS(k, n, "choices"))
            return R_CHOICES;
        if (KEY_IS(k, n, "usage"))
            return R_USAGE;
        if (KEY_IS(k, n, "error"))
            return R_ERROR;
        if (KEY_IS(k, n, "object"))
            return R_TOP_OBJECT;
        if (KEY_IS(k, n, "message"))
            return R_TOP_MSG;
        if (KEY_IS(k, n, "code"))
            return R_TOP_CODE;
        if (KEY_IS(k, n, "timings"))
            return R_TIMINGS;
        return R_SKIP;
    case R_CHOICE:
        if (KEY_IS(k, n, "delta"))
            return R_DELTA;
        if (KEY_IS(k, n, "message"))
            return R_MESSAGE;
        if (KEY_IS(k, n, "text"))
            return R_OUTPUT;
        if (KEY_IS(k, n, "finish_reason"))
            return R_FINISH;
        return R_SKIP;
    case R_DELTA:
        /* A refusal (OpenAI structured outputs) is the answer the user sees: output. */
        if (KEY_IS(k, n, "content") || KEY_IS(k, n, "refusal"))
            return R_OUTPUT;
        if (KEY_IS(k, n, "reasoning_content") || KEY_IS(k, n, "reasoning"))
            return R_REASONING;
        if (KEY_IS(k, n, "tool_calls"))
            return R_TOOLS;
        if (KEY_IS(k, n, "function_call"))
            return R_FUNC;
        return R_SKIP;
    case R_USAGE:
        if (KEY_IS(k, n, "prompt_tokens"))
            return R_PROMPT_TOK;
        if (KEY_IS(k, n, "completion_tokens"))
            return R_COMPL_TOK;
        return R_SKIP;
    case R_ERROR:
        if (KEY_IS(k, n, "message"))
            return R_ERR_MSG;
        if (KEY_IS(k, n, "code"))
            return R_ERR_CODE;
        return R_SKIP;
    case R_PART:
        if (KEY_IS(k, n, "text"))
            return R_OUTPUT;
        if (KEY_IS(k, n, "thinking"))
            return R_THINKING;
        return R_SKIP;
    case R_THINK_PART:
        return KEY_IS(k, n, "text") ? R_REASONING : R_SKIP;
    case R_TIMINGS:
        if (KEY_IS(k, n, "prompt_n"))
            return R_TIM_PROMPT_N;
        if (KEY_IS(k, n, "prompt_ms"))
            return R_TIM_PROMPT_MS;
        if (KEY_IS(k, n, "predicted_n"))
            return R_TIM_PRED_N;
        if (KEY_IS(k, n, "predicted_ms"))
            return R_TIM_PRED_MS;
        return R_SKIP;
    default:
        return R_SKIP;
    }
}

static void chunk_ws(chunk_lex *lx)
{
    const char *p = lx->p;
    while (p < lx->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    lx->p = p;
}

static int chunk_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string at lx->p (the opening quote). On success *s and *n are its raw (escaped) bytes. */
static int chunk_string(chunk_lex *lx, const char **s, size_t *n)
{
    const char *p = lx->p + 1, *end = lx->end;
    *s = p;
    for (;;) {
        /* Strings are most of a chunk's bytes (id, model, content): skip ordinary bytes eight at a
         * time. A word has a byte that needs a look when it holds '"', '\\' or a control byte
         * (< 0x20); the classic has-zero-byte test finds each (may flag a later byte too, which
         * only stops the skip early). */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            uint64_t q = w ^ 0x2222222222222222ULL, b = w ^ 0x5c5c5c5c5c5c5c5cULL;
            uint64_t hit = ((q - 0x0101010101010101ULL) & ~q) | ((b - 0x0101010101010101ULL) & ~b) |
                           ((w - 0x2020202020202020ULL) & ~w);
            if (hit & 0x8080808080808080ULL)
                break;
            p += 8;
        }
        while (p < end && (unsigned char)*p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        if (p >= end)
            return LL_EPARSE;
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c < 0x20)
            return LL_EPARSE;
        if (c != '\\') {
            p++;
            continue;
        }
        if (end - p < 2)
            return LL_EPARSE;
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            break;
        case 'u':
            if (end - p < 6 || !chunk_hex(p[2]) || !chunk_hex(p[3]) || !chunk_hex(p[4]) ||
                !chunk_hex(p[5]))
                return LL_EPARSE;
            p += 6;
            break;
        default:
            return LL_EPARSE;
        }
    }
    *n = (size_t)(p - *s);
    lx->p = p + 1;
    return 0;
}

/* A JSON number; *out gets its integer part, saturated to the range of long. */
static int chunk_number(chunk_lex *lx, long *out)
{
    const char *p = lx->p, *end = lx->end;
    int neg = 0;
    long v = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9')
        return LL_EPARSE;
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            int d = *p - '0';
            v = v > (LONG_MAX - d) / 10 ? LONG_MAX : v * 10 + d;
            p++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return LL_EPARSE;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return LL_EPARSE;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    lx->p = p;
    *out = neg ? -v : v;
    return 0;
}

/* The value of the number in [p, end), which chunk_number has validated, as a double: timings are
 * fractional milliseconds. The bytes are not NUL-terminated, so strtod cannot be used; 19
 * significant digits are kept (plenty for a double) and scaled by exact powers of ten. Kept out
 * of chunk_number so the common numbers (created, index, usage) pay nothing for it. */
static double chunk_number_double(const char *p, const char *end)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t m = 0;
    int e10 = 0, neg = 0, frac = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    for (; p < end && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            frac = 1;
            continue;
        }
        if (m < 1000000000000000000ULL) {
            m = m * 10 + (uint64_t)(*p - '0');
            e10 -= frac;
        } else if (!frac) {
            e10++;
        }
    }
    if (p < end) { /* the exponent */
        int eneg = 0, ev = 0;
        p++;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        for (; p < end; p++)
            if (ev < 10000)
                ev = ev * 10 + (*p - '0');
        e10 += eneg ? -ev : ev;
    }
    double d = (double)m;
    if (m) {
        if (e10 > 400)
            e10 = 400;
        if (e10 < -400)
            e10 = -400;
        for (; e10 > 22; e10 -= 22)
            d *= 1e22;
        for (; e10 < -22; e10 += 22)
            d /= 1e22;
        d = e10 >= 0 ? d * p10[e10] : d / p10[-e10];
    }
    return neg ? -d : d;
}

static int chunk_literal(chunk_lex *lx, const char *lit, size_t n)
{
    if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, lit, n) != 0)
        return LL_EPARSE;
    lx->p += n;
    return 0;
}

static int chunk_add(int acc, size_t n)
{
    return n > (size_t)(INT_MAX - acc) ? INT_MAX : acc + (int)n;
}

static int chunk_finish_kind(const char *s, size_t n)
{
    if (n == 0)
        return CHUNK_FINISH_NONE;
    /* TGI's older chat chunks said eos_token / stop_sequence where others say stop. */
    if (KEY_IS(s, n, "stop") || KEY_IS(s, n, "eos_token") || KEY_IS(s, n, "stop_sequence"))
        return CHUNK_FINISH_STOP;
    if (KEY_IS(s, n, "length"))
        return CHUNK_FINISH_LENGTH;
    if (KEY_IS(s, n, "tool_calls") || KEY_IS(s, n, "function_call"))
        return CHUNK_FINISH_TOOL_CALLS;
    if (KEY_IS(s, n, "content_filter"))
        return CHUNK_FINISH_CONTENT_FILTER;
    return CHUNK_FINISH_OTHER;
}

static void chunk_on_string(chunk_lex *lx, enum chunk_role role, const char *s, size_t n)
{
    chunk_info *ci = lx->ci;
    switch (role) {
    case R_OUTPUT:
        if (lx->in_msg) {
            lx->m_output = chunk_add(lx->m_output, n);
            break;
        }
        ci->output_chars = chunk_add(ci->output_chars, n);
        lx->n_output++;
        lx->output_s = s;
        lx->output_n = n;
        break;
    case R_REASONING:
    case R_THINKING: /* a thinking part given as a plain string */
        if (lx->in_msg)
            lx->m_reasoning = chunk_add(lx->m_reasoning, n);
        else
            ci->reasoning_chars = chunk_add(ci->reasoning_chars, n);
        break;
    case R_FINISH: {
        int k = chunk_finish_kind(s, n);
        if (k != CHUNK_FINISH_NONE)
            ci->finish = k;
        break;
    }
    case R_ERROR: /* TGI: {"error": "message", "error_type": "..."} */
        ci->has_error = 1;
        ci->error_msg = s;
        ci->error_msg_len = n;
        lx->err_msg_set = 1;
        break;
    case R_ERR_MSG:
        ci->error_msg = s;
        ci->error_msg_len = n;
        lx->err_msg_set = 1;
        break;
    case R_TOP_OBJECT:
        if (KEY_IS(s, n, "error"))
            lx->obj_error = 1;
        break;
    case R_TOP_MSG:
        lx->top_msg = s;
        lx->top_msg_len = n;
        break;
    default:
        break;
    }
}

/* A number under timings (rare: one event per stream), with its validated bytes [s, e). */
static __attribute__((noinline)) void chunk_on_timing(chunk_lex *lx, enum chunk_role role, const char *s,
                                                      const char *e)
{
    chunk_server_timings *t = lx->tim;
    double d = chunk_number_double(s, e);
    if (!t)
        return;
    if (role == R_TIM_PROMPT_N)
        t->prompt_n = d;
    else if (role == R_TIM_PROMPT_MS)
        t->prompt_ms = d;
    else if (role == R_TIM_PRED_N)
        t->predicted_n = d;
    else
        t->predicted_ms = d;
}

static void chunk_on_number(chunk_lex *lx, enum chunk_role role, long v)
{
    chunk_info *ci = lx->ci;
    int iv = v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
    switch (role) {
    case R_PROMPT_TOK:
        ci->prompt_tokens = v;
        break;
    case R_COMPL_TOK:
        ci->completion_tokens = v;
        break;
    case R_ERR_CODE:
        ci->error_code = iv;
        lx->err_code_set = 1;
        break;
    case R_TOP_CODE:
        lx->top_code = v;
        break;
    default:
        break;
    }
}

/* The members of an object, from its first key (after_value 0) or from just after a member's
 * value (after_value 1: how a resumed scan re-enters the root object), to its closing brace. */
static int chunk_members(chunk_lex *lx, enum chunk_role role, int depth, int after_value)
{
    for (;;) {
        if (!after_value) {
            const char *k;
            size_t kn;
            chunk_ws(lx);
            if (lx->p >= lx->end || *lx->p != '"' || chunk_string(lx, &k, &kn) != 0)
                return LL_EPARSE;
            chunk_ws(lx);
            if (lx->p >= lx->end || *lx->p != ':')
                return LL_EPARSE;
            lx->p++;
            int rc = chunk_value(lx, chunk_key_role(role, k, kn), depth);
            if (rc)
                return rc;
        }
        after_value = 0;
        chunk_ws(lx);
        if (lx->p >= lx->end)
            return LL_EPARSE;
        if (*lx->p == '}') {
            lx->p++;
            return 0;
        }
        if (*lx->p != ',')
            return LL_EPARSE;
        lx->p++;
    }
}

static int chunk_object(chunk_lex *lx, enum chunk_role role, int depth)
{
    lx->p++; /* '{' */
    chunk_ws(lx);
    if (lx->p < lx->end && *lx->p == '}') {
        lx->p++;
        return 0;
    }
    return chunk_members(lx, role, depth, 0);
}

/* The elements of an array, from just after its '['. */
static int chunk_array_body(chunk_lex *lx, enum chunk_role role, int depth)
{
    enum chunk_role elem = role == R_CHOICES ? R_CHOICE
                         : role == R_PARTS   ? R_PART
                         : role == R_THINKING ? R_THINK_PART
                                              : R_SKIP;
    chunk_ws(lx);
    if (lx->p < lx->end && *lx->p == ']') {
        lx->p++;
        return 0;
    }
    if (role == R_TOOLS) {
        if (lx->in_msg)
            lx->m_tool = 1;
        else
            lx->ci->tool_call = 1;
    }
    for (;;) {
        int rc = chunk_value(lx, elem, depth);
        if (rc)
            return rc;
        chunk_ws(lx);
        if (lx->p >= lx->end)
            return LL_EPARSE;
        if (*lx->p == ']') {
            lx->p++;
            return 0;
        }
        if (*lx->p != ',')
            return LL_EPARSE;
        lx->p++;
    }
}

static int chunk_array(chunk_lex *lx, enum chunk_role role, int depth)
{
    lx->p++; /* '[' */
    /* Where the root's "choices" array opens: everything before it is the part of an event that
     * a stream repeats verbatim (id, object, created, model), the prefix chunk_scan_stream keeps. */
    if (role == R_CHOICES && !lx->choices_open) {
        lx->choices_open = lx->p;
        /* Cacheable only if nothing before this point meant anything (no usage, no error). */
        lx->prefix_clean = !lx->ci->has_usage && !lx->ci->has_error && !lx->obj_error && !lx->top_msg &&
                           !lx->top_code && !lx->ci->timings;
    }
    return chunk_array_body(lx, role, depth);
}

/* An object whose role is neither common (root, delta, skipped) nor a choice: kept out of
 * chunk_value, which runs for every value of every event. */
static __attribute__((noinline)) int chunk_object_special(chunk_lex *lx, enum chunk_role role, int depth)
{
    if (role == R_USAGE)
        lx->ci->has_usage = 1;
    else if (role == R_ERROR)
        lx->ci->has_error = 1;
    else if (role == R_TIMINGS && !lx->tim) {
        /* Validated here, read by chunk_timings: one event per stream carries it. */
        const char *start = lx->p;
        int rc = chunk_object(lx, R_SKIP, depth);
        if (rc == 0) {
            lx->ci->timings = start;
            lx->ci->timings_len = (size_t)(lx->p - start);
        }
        return rc;
    } else if (role == R_FUNC && lx->in_msg)
        lx->m_tool = 1;
    else if (role == R_FUNC)
        lx->ci->tool_call = 1;
    else if (role == R_MESSAGE && !lx->in_msg) {
        /* Members as a delta's, counted aside (see chunk_lex). */
        lx->msg_seen = 1;
        lx->in_msg = 1;
        int rc = chunk_object(lx, R_DELTA, depth);
        lx->in_msg = 0;
        return rc;
    } else if (role != R_PART && role != R_THINK_PART && role != R_TIMINGS)
        role = R_SKIP;
    return chunk_object(lx, role, depth);
}

/* One element of choices: the message's counts join the event's only when there was no delta. */
static int chunk_choice(chunk_lex *lx, int depth)
{
    lx->choice_delta = 0;
    lx->m_output = lx->m_reasoning = lx->m_tool = 0;
    int rc = chunk_object(lx, R_CHOICE, depth);
    if (rc == 0 && !lx->choice_delta) {
        chunk_info *ci = lx->ci;
        ci->output_chars = chunk_add(ci->output_chars, (size_t)lx->m_output);
        ci->reasoning_chars = chunk_add(ci->reasoning_chars, (size_t)lx->m_reasoning);
        ci->tool_call |= lx->m_tool;
    }
    return rc;
}

static int chunk_value(chunk_lex *lx, enum chunk_role role, int depth)
{
    chunk_ws(lx);
    if (lx->p >= lx->end)
        return LL_EPARSE;
    switch (*lx->p) {
    case '{':
        if (depth >= CHUNK_MAX_DEPTH)
            return LL_EPARSE;
        if (role == R_CHOICE)
            return chunk_choice(lx, depth + 1);
        if (role == R_DELTA)
            lx->choice_delta = 1;
        else if (role != R_ROOT && role != R_SKIP)
            return chunk_object_special(lx, role, depth + 1);
        return chunk_object(lx, role, depth + 1);
    case '[':
        if (depth >= CHUNK_MAX_DEPTH)
            return LL_EPARSE;
        if (role == R_OUTPUT) /* content given as parts */
            role = R_PARTS;
        return chunk_array(lx, role == R_CHOICES || role == R_TOOLS || role == R_PARTS || role == R_THINKING
                                   ? role : R_SKIP, depth + 1);
    case '"': {
        const char *s;
        size_t n;
        if (chunk_string(lx, &s, &n) != 0)
            return LL_EPARSE;
        chunk_on_string(lx, role, s, n);
        return 0;
    }
    case 't':
        return chunk_literal(lx, "true", 4);
    case 'f':
        return chunk_literal(lx, "false", 5);
    case 'n':
        return chunk_literal(lx, "null", 4);
    default: {
        long v;
        const char *start = lx->p;
        if (chunk_number(lx, &v) != 0)
            return LL_EPARSE;
        if (role >= R_TIM_PROMPT_N && role <= R_TIM_PRED_MS)
            chunk_on_timing(lx, role, start, lx->p);
        else
            chunk_on_number(lx, role, v);
        return 0;
    }
    }
}

static void chunk_info_init(chunk_info *info)
{
    memset(info, 0, sizeof *info);
    info->prompt_tokens = -1;
    info->completion_tokens = -1;
}

/* After a successful walk: vLLM's bare ErrorResponse {"object":"error","message":..,"code":..}. */
static void chunk_finish(chunk_lex *lx, chunk_info *info)
{
    if (lx->n_output) {
        info->output = lx->output_s;
        info->output_len = lx->output_n;
    }
    if (!info->has_error && !lx->obj_error && lx->top_msg) {
        info->error_msg = lx->top_msg;
        info->error_msg_len = lx->top_msg_len;
    }
    if (lx->obj_error) {
        info->has_error = 1;
        if (!lx->err_msg_set && lx->top_msg) {
            info->error_msg = lx->top_msg;
            info->error_msg_len = lx->top_msg_len;
        }
        if (!lx->err_code_set)
            info->error_code = lx->top_code > INT_MAX ? INT_MAX
                               : lx->top_code < INT_MIN ? INT_MIN : (int)lx->top_code;
    }
}

static int chunk_walk(chunk_lex *lx, const char *data, size_t len, chunk_info *info)
{
    memset(lx, 0, sizeof *lx);
    lx->p = data;
    lx->end = data + len;
    lx->ci = info;
    chunk_ws(lx);
    if (lx->p >= lx->end || *lx->p != '{')
        return LL_EPARSE;
    int rc = chunk_value(lx, R_ROOT, 0);
    if (rc)
        return rc;
    chunk_ws(lx);
    if (lx->p != lx->end)
        return LL_EPARSE;
    chunk_finish(lx, info);
    return 0;
}

int chunk_scan(const char *data, size_t len, chunk_info *info)
{
    chunk_lex lx;
    chunk_info_init(info);
    if (!data || len == 0)
        return LL_EPARSE;
    return chunk_walk(&lx, data, len, info);
}

/* After a full check of an event that starts with the prefix: remember its shape when it is a
 * plain token event, whose meaning is all in its one content string. */
static void chunk_learn_shape(chunk_prefix *pre, const chunk_lex *lx, const char *data, size_t len,
                              const chunk_info *ci)
{
    pre->mid_len = 0;
    if (lx->n_output != 1 || ci->reasoning_chars || ci->tool_call || ci->finish != CHUNK_FINISH_NONE ||
        ci->has_usage || ci->has_error || lx->obj_error || ci->prompt_tokens != -1 ||
        ci->completion_tokens != -1 || ci->timings || lx->msg_seen || lx->top_msg)
        return;
    const char *open = lx->output_s - 1, *close = lx->output_s + lx->output_n;
    size_t mid = (size_t)(open + 1 - (data + pre->len)), tail = (size_t)(data + len - close);
    if (open < data + pre->len || mid > CHUNK_SHAPE_MAX || tail > CHUNK_SHAPE_MAX)
        return;
    memcpy(pre->mid, data + pre->len, mid);
    memcpy(pre->tail, close, tail);
    pre->mid_len = mid;
    pre->tail_len = tail;
}

int chunk_scan_stream(const char *data, size_t len, chunk_prefix *pre, chunk_info *info)
{
    chunk_lex lx;
    chunk_info_init(info);
    if (!data || len == 0)
        return LL_EPARSE;
    if (pre->len && len > pre->len && memcmp(data, pre->bytes, pre->len) == 0) {
        if (pre->mid_len && len >= pre->len + pre->mid_len + pre->tail_len &&
            memcmp(data + pre->len, pre->mid, pre->mid_len) == 0 &&
            memcmp(data + len - pre->tail_len, pre->tail, pre->tail_len) == 0) {
            /* The last token event's shape with other text: check the string, which must end
             * exactly where the tail begins (its first byte is the closing quote). */
            const char *s;
            size_t n;
            /* chunk_string reads p and end only: no need to clear the rest on this, the hot path. */
            lx.p = data + pre->len + pre->mid_len - 1;
            lx.end = data + len;
            if (chunk_string(&lx, &s, &n) == 0 && lx.p == data + len - pre->tail_len + 1) {
                info->output_chars = chunk_add(0, n);
                info->output = s;
                info->output_len = n;
                return 0;
            }
        }
        /* These bytes were validated, and found to mean nothing to llmload, in an earlier event of
         * this stream: resume the walk inside the choices array, then finish the root object. */
        memset(&lx, 0, sizeof lx);
        lx.p = data + pre->len;
        lx.end = data + len;
        lx.ci = info;
        int rc = chunk_array_body(&lx, R_CHOICES, 2);
        if (rc == 0)
            rc = chunk_members(&lx, R_ROOT, 1, 1);
        if (rc)
            return rc;
        chunk_ws(&lx);
        if (lx.p != lx.end)
            return LL_EPARSE;
        chunk_finish(&lx, info);
        chunk_learn_shape(pre, &lx, data, len, info);
        return 0;
    }
    int rc = chunk_walk(&lx, data, len, info);
    /* Keep the prefix only when nothing in it carried meaning (no error object, no usage, no
     * top-level message or code before the choices), so skipping it cannot change a result. */
    if (rc == 0 && lx.choices_open && lx.prefix_clean && !lx.obj_error) {
        size_t n = (size_t)(lx.choices_open - data);
        if (n <= sizeof pre->bytes) {
            memcpy(pre->bytes, data, n);
            pre->len = n;
            chunk_learn_shape(pre, &lx, data, len, info);
        }
    }
    return rc;
}

int chunk_timings(const char *obj, size_t len, chunk_server_timings *out)
{
    chunk_lex lx;
    chunk_info scratch;
    out->prompt_n = out->prompt_ms = out->predicted_n = out->predicted_ms = -1;
    chunk_info_init(&scratch);
    memset(&lx, 0, sizeof lx);
    lx.p = obj;
    lx.end = obj + len;
    lx.ci = &scratch;
    lx.tim = out;
    chunk_ws(&lx);
    if (!obj || lx.p >= lx.end || *lx.p != '{')
        return LL_EPARSE;
    int rc = chunk_value(&lx, R_TIMINGS, 1);
    if (rc)
        return rc;
    chunk_ws(&lx);
    return lx.p == lx.end ? 0 : LL_EPARSE;
}
