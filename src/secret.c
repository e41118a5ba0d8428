/*
 * secret.c - the run's secrets and their redaction (config -> client/discover -> record).
 * The set is built once per client from the config; redaction runs only on failure messages (never
 * per token), so a plain search per secret is cheap enough. Invariant: what the set holds is
 * wiped before it is freed.
 */
#include "llmload/secret.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "llmload/error.h"

#define SECRET_MAX 16
#define REDACTED "<redacted>"

struct secret_set {
    char *items[SECRET_MAX];
    size_t n;
};

void secret_free(char *p)
{
    if (!p)
        return;
    explicit_bzero(p, strlen(p));
    free(p);
}

static char *base64(const char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* The URL's user and password, percent-decoded (curl's parser, as the curl transport uses). */
static int url_credentials(const char *url, char **user, char **pass)
{
    *user = *pass = NULL;
    CURLU *u = curl_url();
    if (!u)
        return LL_ENOMEM;
    int rc = 0;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        rc = LL_EUSAGE;
    } else {
        char *cu = NULL, *cp = NULL;
        if (curl_url_get(u, CURLUPART_USER, &cu, CURLU_URLDECODE) == CURLUE_OK && cu)
            *user = strdup(cu);
        if (curl_url_get(u, CURLUPART_PASSWORD, &cp, CURLU_URLDECODE) == CURLUE_OK && cp)
            *pass = strdup(cp);
        if ((cu && !*user) || (cp && !*pass))
            rc = LL_ENOMEM;
        if (cu)
            explicit_bzero(cu, strlen(cu));
        if (cp)
            explicit_bzero(cp, strlen(cp));
        curl_free(cu);
        curl_free(cp);
    }
    curl_url_cleanup(u);
    if (rc) {
        secret_free(*user);
        secret_free(*pass);
        *user = *pass = NULL;
    }
    return rc;
}

/* "user:password" (curl sends "user:" when the password is absent). */
static char *joined(const char *user, const char *pass)
{
    size_t n = strlen(user) + 1 + (pass ? strlen(pass) : 0) + 1;
    char *p = malloc(n);
    if (p) {
        strcpy(p, user);
        strcat(p, ":");
        if (pass)
            strcat(p, pass);
    }
    return p;
}

int secret_basic_auth(const char *url, char **out)
{
    char *user, *pass;
    *out = NULL;
    int rc = url_credentials(url, &user, &pass);
    if (rc || !user) {
        secret_free(user);
        secret_free(pass);
        return rc;
    }
    char *up = joined(user, pass);
    char *b64 = up ? base64(up, strlen(up)) : NULL;
    char *hdr = b64 ? malloc(strlen(b64) + sizeof "Basic ") : NULL;
    if (hdr) {
        strcpy(hdr, "Basic ");
        strcat(hdr, b64);
    }
    secret_free(user);
    secret_free(pass);
    secret_free(up);
    secret_free(b64);
    if (!hdr)
        return LL_ENOMEM;
    *out = hdr;
    return 0;
}

/* Takes ownership of p (NULL: out of memory). Short ones are dropped (SECRET_MIN_LEN). */
static int add(secret_set *s, char *p)
{
    if (!p)
        return LL_ENOMEM;
    if (strlen(p) < SECRET_MIN_LEN || s->n == SECRET_MAX) {
        secret_free(p);
        return 0;
    }
    s->items[s->n++] = p;
    return 0;
}

int secret_set_create(secret_set **out, const config *cfg)
{
    secret_set *s = calloc(1, sizeof *s);
    int rc = 0;
    *out = NULL;
    if (!s)
        return LL_ENOMEM;
    if (cfg->api_key && cfg->api_key[0])
        rc = add(s, strdup(cfg->api_key));
    if (rc == 0 && cfg->target) {
        char *user = NULL, *pass = NULL;
        if (url_credentials(cfg->target, &user, &pass) == LL_ENOMEM)
            rc = LL_ENOMEM;
        if (rc == 0 && user) {
            char *up = joined(user, pass);
            rc = add(s, up ? base64(up, strlen(up)) : NULL);
            if (rc == 0)
                rc = add(s, up ? strdup(up) : NULL);
            secret_free(up);
        }
        if (rc == 0 && pass)
            rc = add(s, strdup(pass));
        secret_free(user);
        secret_free(pass);
    }
    for (size_t i = 0; rc == 0 && i < cfg->n_headers; i++) {
        const char *v = strchr(cfg->headers[i], ':');
        if (!v)
            continue;
        for (v++; *v == ' ' || *v == '\t'; v++)
            ;
        rc = add(s, strdup(v));
    }
    if (rc) {
        secret_set_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void secret_set_destroy(secret_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        secret_free(s->items[i]);
    free(s);
}

/* Replaces len bytes at text+at with REDACTED, keeping the text NUL-terminated within cap. */
static size_t replace(char *text, size_t tlen, size_t cap, size_t at, size_t len)
{
    size_t rl = sizeof REDACTED - 1;
    size_t tail = tlen - at - len;
    size_t new_len = tlen - len + rl;
    if (new_len > cap - 1)
        new_len = cap - 1;
    /* Move what follows, then write the marker (each clipped to the buffer). */
    if (at + rl < cap - 1) {
        size_t keep = new_len - (at + rl);
        if (keep > tail)
            keep = tail;
        memmove(text + at + rl, text + at + len, keep);
    }
    size_t put = at + rl <= cap - 1 ? rl : cap - 1 - at;
    memcpy(text + at, REDACTED, put);
    text[new_len] = '\0';
    return new_len;
}

size_t secret_redact(const secret_set *s, char *text, size_t cap)
{
    size_t tlen = strlen(text);
    if (!s || cap == 0)
        return tlen;
    for (size_t i = 0; i < s->n; i++) {
        const char *sec = s->items[i];
        size_t sl = strlen(sec);
        size_t pos = 0;
        while (pos < tlen) {
            char *hit = memmem(text + pos, tlen - pos, sec, sl);
            if (!hit)
                break;
            size_t at = (size_t)(hit - text);
            tlen = replace(text, tlen, cap, at, sl);
            pos = at + sizeof REDACTED - 1;
        }
        /* A text cut inside a secret ends with its first bytes: those go too. */
        for (size_t k = sl - 1; k >= SECRET_MIN_LEN && k > 0; k--) {
            if (k <= tlen && memcmp(text + tlen - k, sec, k) == 0) {
                tlen = replace(text, tlen, cap, tlen - k, k);
                break;
            }
        }
    }
    return tlen;
}
